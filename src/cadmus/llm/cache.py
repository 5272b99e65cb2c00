"""An on-disk cache of model responses, keyed by the whole request.

The key is the SHA-256 of the canonical JSON of everything that decides a
response: the backend's identity (endpoint kind, base URL, model; for a
local model its name and files) and the request body (prompt or messages,
token budget, temperature, stop strings, seed). Two requests share an entry
only when an endpoint would see the same thing, so a rerun of an evaluation
costs nothing and an interrupted one resumes where it stopped.

One file per entry (`DIR/ab/abcdef....json`), written to a temporary name
and renamed into place, so a run killed mid-write never leaves half an
entry, and several runs (or threads) can fill one cache at once. Only
successful responses are stored; a failed request is asked again next time.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cadmus.files import write_json
from cadmus.llm.errors import LLMError


def canonical_json(data: Any) -> str:
    """JSON with sorted keys and no spaces: equal requests give equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def request_key(identity: Mapping[str, Any], request: Mapping[str, Any]) -> str:
    """The cache key (hex SHA-256) of a request sent to a backend of this identity."""
    text = canonical_json({"backend": dict(identity), "request": dict(request)})
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RequestCache:
    """Responses stored under their request's key in `root` (created on first write)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.hits = 0
        self.writes = 0
        self._lock = threading.Lock()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        """The stored response for `key`, or None (a damaged entry counts as missing)."""
        path = self.path(key)
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key or "response" not in entry:
            return None
        with self._lock:
            self.hits += 1
        return entry["response"]

    def put(self, key: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        """Store `response` atomically (temporary file, then rename)."""
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            entry = {"key": key, "request": dict(request), "response": dict(response)}
            write_json(path, entry, indent=None)
        except OSError as err:
            raise LLMError(f"cannot write the request cache: {err.strerror}", file=str(path)) from None
        with self._lock:
            self.writes += 1

    def __len__(self) -> int:
        if not self.root.is_dir():
            return 0
        return sum(1 for _ in self.root.glob("??/*.json"))
