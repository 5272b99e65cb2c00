"""Atomic, verifiable checkpoints.

A checkpoint is a directory ``checkpoints/step-00000100/`` holding the model
(``model.safetensors`` + ``config.json``), ``trainer.pt`` (optimizer,
schedule position, RNG states of every process, data position, the training
config) and ``manifest.json`` with the size and SHA-256 of every other file.
It is written under a temporary name, each file fsync'ed, then renamed into
place; only then is ``checkpoints/latest`` (a one-line text file naming the
directory) replaced, itself through a temporary file and ``os.replace``. A
crash at any point leaves the previous ``latest`` whole. Loading checks every
file against the manifest, so a truncated or corrupted file is reported by
name instead of failing somewhere inside torch.

The model files come from the run's backend (`cadmus.train.backend`). A
backend other than Cadmus's writes ``backend.json`` (``{"kind": ...}``) beside
them, so that a reader can tell what it holds (`checkpoint_kind`) before
trying to load it.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import torch

from cadmus.errors import CadmusError
from cadmus.files import sha256_file

MANIFEST = "manifest.json"
LATEST = "latest"
TRAINER = "trainer.pt"
BACKEND = "backend.json"


class CheckpointError(CadmusError):
    """A checkpoint that is missing, truncated or corrupted."""


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def step_name(step: int) -> str:
    return f"step-{step:08d}"


def write_checkpoint(root: Path, step: int, fill, keep: int | None = None) -> Path:
    """Create checkpoint `step` under `root` atomically.

    ``fill(tmp_dir)`` writes the files; this function adds the manifest,
    fsyncs, renames, points ``latest`` at it and prunes old checkpoints.
    """
    root.mkdir(parents=True, exist_ok=True)
    final = root / step_name(step)
    tmp = root / f".tmp-{step_name(step)}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    fill(tmp)
    files = {}
    for path in sorted(tmp.iterdir()):
        _fsync(path)
        files[path.name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
    manifest = {"step": step, "files": files}
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    _fsync(tmp / MANIFEST)
    _fsync(tmp)
    if final.exists():  # re-saving a step: move the old one aside first
        old = root / f".old-{step_name(step)}-{os.getpid()}"
        final.rename(old)
        shutil.rmtree(old)
    tmp.rename(final)
    latest_tmp = root / f".{LATEST}.tmp"
    latest_tmp.write_text(final.name + "\n")
    _fsync(latest_tmp)
    os.replace(latest_tmp, root / LATEST)
    _fsync(root)
    if keep is not None:
        done = sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith("step-"))
        for old in done[:-keep]:
            if old != final:
                shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(root: Path) -> Path | None:
    """The checkpoint ``latest`` names, or None when there is none."""
    pointer = root / LATEST
    if not pointer.exists():
        return None
    name = pointer.read_text().strip()
    path = root / name
    if not name or not path.is_dir():
        raise CheckpointError(f"'latest' names {name!r}, which does not exist", file=str(pointer))
    return path


def verify_checkpoint(path: Path) -> dict[str, Any]:
    """Check every file against the manifest; return the manifest."""
    manifest_path = path / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text())
        files = manifest["files"]
    except FileNotFoundError:
        raise CheckpointError(
            "checkpoint has no manifest (incomplete checkpoint?)", file=str(manifest_path)
        ) from None
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"checkpoint manifest is unreadable ({err})", file=str(manifest_path)) from None
    for name, info in files.items():
        f = path / name
        if not f.exists():
            raise CheckpointError("checkpoint file is missing", file=str(f))
        size = f.stat().st_size
        if size != info["bytes"]:
            raise CheckpointError(
                f"checkpoint file is truncated or altered: {size} bytes, expected {info['bytes']}",
                file=str(f),
            )
        if sha256_file(f) != info["sha256"]:
            raise CheckpointError(
                "checkpoint file is corrupted: SHA-256 does not match the manifest", file=str(f)
            )
    return manifest


def checkpoint_kind(path: str | os.PathLike[str]) -> str:
    """What a checkpoint directory holds: ``cadmus`` (a Cadmus GPT), or the ``kind`` that its
    ``backend.json`` records (``hf``: a fine-tuned Hugging Face model)."""
    marker = Path(path) / BACKEND
    if not marker.is_file():
        return "cadmus"
    try:
        kind = json.loads(marker.read_text())["kind"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as err:
        raise CheckpointError(f"unreadable backend record ({type(err).__name__})", file=str(marker)) from None
    if not isinstance(kind, str) or not kind:
        raise CheckpointError("the backend record names no kind", file=str(marker))
    return kind


def save_torch(obj: Any, path: Path) -> None:
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def load_torch(path: Path) -> Any:
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # pickle/zip errors have many types
        raise CheckpointError(
            f"cannot read checkpoint file ({type(err).__name__}: {err})", file=str(path)
        ) from None
