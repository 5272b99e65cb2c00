"""File helpers shared by every layer: content hashes and atomic JSON writes."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

_BLOCK = 1 << 20


def hash_file(path: str | os.PathLike[str], h: Any) -> Any:
    """Feed the bytes of `path` to the hashlib object `h` (in 1 MiB blocks) and return `h`."""
    with open(path, "rb") as f:
        while block := f.read(_BLOCK):
            h.update(block)
    return h


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, as hex."""
    return hash_file(path, hashlib.sha256()).hexdigest()


def write_json(
    path: str | os.PathLike[str], data: Any, *, sort_keys: bool = True, indent: int | None = 2
) -> Path:
    """Write `data` as JSON (plus a newline; one line with ``indent=None``) through a temporary
    file and a rename, so readers never see half a file; the temporary name carries the process
    and thread ids, so concurrent writers do not collide."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path
