"""What several end-to-end tests share: a small dataset and a tiny model trained on it, on the CPU."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch

from cadmus.data import build_dataset, config_from_dict
from cadmus.train import TrainConfig
from cadmus.train import config_from_dict as train_config


@pytest.fixture
def one_thread():
    """Tiny matmuls: one thread is faster, and immune to a busy machine; the suite's setting is
    restored afterwards. A module uses it with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def build_tiny_dataset(config: dict[str, Any], out: Path) -> Path:
    """The dataset `config` (a `cadmus data` config as a dict) built in `out`, quietly."""
    build_dataset(config_from_dict(config), out, progress=False, card=False)
    return out


def tiny_train_config(
    root: Path,
    data: Path,
    *,
    steps: int,
    log_interval: int,
    evaluation: dict[str, Any],
    model: dict[str, Any] | None = None,
    **sections: Any,
) -> TrainConfig:
    """A tiny run on `data` into `root/run`: one CPU thread, `reversed` numbers, lr 3e-3, micro-batches of 32.

    `model` overrides knobs of a one-layer, 32-wide, two-head model with a block of 48;
    `sections` adds or replaces whole sections of the config (`schedule`, `checkpoint`, ...).
    """
    return train_config(
        {
            "seed": 0,
            "out_dir": str(root / "run"),
            "device": "cpu",
            "threads": 1,
            "data": {"dataset": str(data), "tokenizer": {"numbers": "reversed"}},
            "model": {
                "preset": "tiny",
                "n_layer": 1,
                "n_embd": 32,
                "n_head": 2,
                "block_size": 48,
                **(model or {}),
            },
            "optim": {"lr": 3e-3},
            "batch": {"micro": 32},
            "stop": {"max_steps": steps},
            "eval": evaluation,
            "log": {"interval": log_interval, "tensorboard": False, "progress": False},
            **sections,
        }
    )


# ---- shared by the differential tests (tests/test_lang_*differential.py) ----------------


def differential_inputs(seed: int) -> tuple[int, ...]:
    """The 60 input numbers, in [-50, 50], that the random program of `seed` reads."""
    rng = random.Random(-seed - 1)
    return tuple(rng.randint(-50, 50) for _ in range(60))


FLOOR_DIVISION_PROGRAM = """\
for a in range(-7, 8):
    for b in range(-3, 4):
        if b != 0:
            print(a, b, a // b, a % b)
"""

LIST_PROGRAM = """\
xs = [5, 6, 7]
xs.append(8)
print(xs[-1], xs[-4], len(xs))
last = xs.pop()
xs[-1] += 100
print(last, xs[-1], xs[0], len(xs))
grid = [0] * 4
for i in range(len(grid)):
    grid[i] = i * i
print(grid[3], grid[-3])
"""


def tiny_llama(out: Path, positions: int = 96) -> Path:
    """A randomly initialised Llama and its byte-level tokenizer, saved as a Hugging Face directory."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    spelled = bytes_to_unicode()
    vocab = {spelled[b]: b for b in range(256)}
    for special in ("<s>", "</s>", "<pad>"):
        vocab[special] = len(vocab)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 256)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=positions,
        bos_token_id=256,
        eos_token_id=257,
        pad_token_id=258,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
