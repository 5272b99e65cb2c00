"""Typed configs from YAML: one loader, one override syntax, one error shape.

Every config in Cadmus (dataset configs, training configs, task knobs) is a
pydantic model read from a YAML mapping. This module is the only place that
reads such YAML, turns `key=value` command-line overrides into values, and
turns a pydantic `ValidationError` into a one-line `CadmusError` that names
the file and the dotted key. Callers pass their own error class (a subclass
of `CadmusError`), so each package keeps its typed errors.

Override values follow YAML: ``k=5`` is 5, ``k=true`` is True, ``k=`` and
``k=null`` are None, ``k=[1, 2]`` is a list, ``k={a: 1}`` a mapping and
anything else the text. Text that YAML cannot read as one flow value (``[+,
-, *]``: ``*`` starts an alias) or reads as block structure (``-``, ``a:
b``) stays the text as written; a list-typed field may accept such text
through `loose_list`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from cadmus.errors import CadmusError

M = TypeVar("M", bound=BaseModel)
E = TypeVar("E", bound=CadmusError)


class FieldError(ValueError):
    """Raised inside a validator to blame one key (relative to the model that raised it)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


# pydantic error types whose message reads better rewritten; `{ctx}` fields fill them in.
_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "missing": "required key is missing",
    "extra_forbidden": "unknown key",
    "too_short": "must not be empty",
}


def _data_path(loc: Iterable[Any]) -> list[str]:
    # pydantic adds union-member tags (e.g. 'list[str]', "literal['a']") to locations; keep the data path
    return [str(p) for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("literal")))]


def validation_error(
    err: ValidationError,
    error: type[E],
    *,
    file: str | None = None,
    key_prefix: str = "",
    message_prefix: str = "",
) -> E:
    """The first problem of `err` as one `error`: the dotted key, a short message, a count of the rest."""
    first = err.errors()[0]
    ctx = first.get("ctx") or {}
    path = _data_path(first["loc"])
    cause = ctx.get("error")
    if isinstance(cause, FieldError):
        path.append(cause.key)
        message = cause.message
    elif first["type"] in _MESSAGES:
        message = _MESSAGES[first["type"]].format(**ctx)
    else:
        message = str(first["msg"]).removeprefix("Value error, ")
    more = err.error_count() - 1
    if more:
        message += f" (and {more} more error{'s' if more > 1 else ''})"
    key = ".".join(p for p in (key_prefix, *path) if p) or None
    return error(message_prefix + message, file=file, key=key)


def validate(
    model: type[M],
    data: Any,
    error: type[CadmusError],
    *,
    file: str | None = None,
    what: str = "a config",
    key_prefix: str = "",
    message_prefix: str = "",
) -> M:
    """`data` (a parsed mapping) validated as `model`; any problem raises one `error`."""
    if not isinstance(data, Mapping):
        raise error(f"{what} must be a mapping", file=file, key=key_prefix or None)
    try:
        return model.model_validate(dict(data))
    except ValidationError as err:
        raise validation_error(
            err, error, file=file, key_prefix=key_prefix, message_prefix=message_prefix
        ) from None


def read_yaml(path: str | os.PathLike[str], error: type[CadmusError]) -> Any:
    """The YAML document in `path` (None when empty); unreadable files and bad YAML raise `error`."""
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise error(f"cannot read config: {err.strerror}", file=name) from None
    except UnicodeDecodeError:
        raise error("cannot read config: not UTF-8 text", file=name) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or "not valid YAML"
        raise error(f"invalid YAML: {problem}", file=name, line=line, col=col) from None


def load_model(
    path: str | os.PathLike[str],
    model: type[M],
    error: type[CadmusError],
    *,
    what: str = "a config",
    overrides: Mapping[str, Any] | None = None,
) -> M:
    """Read a YAML file, apply dotted `overrides`, validate as `model` (an empty file is `{}`)."""
    data = read_yaml(path, error)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise error(f"{what} must be a mapping", file=str(path))
    if overrides:
        data = apply_overrides(data, overrides, error)
    return validate(model, data, error, file=str(path), what=what)


def read_value(text: str) -> Any:
    """One override value read as YAML (see the module docstring); `""` is None."""
    stripped = text.strip()
    try:
        value = yaml.safe_load(stripped)
    except yaml.YAMLError:
        return stripped
    if isinstance(value, list | dict) and not stripped.startswith(("[", "{")):
        return stripped  # block YAML (`-`, `a: b`) is not override syntax
    return value


def parse_overrides(items: Iterable[str], error: type[CadmusError] = CadmusError) -> dict[str, Any]:
    """``["optim.lr=1e-3", "seed=3"]`` -> ``{"optim.lr": "1e-3", "seed": 3}`` (later items win)."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise error(f"expected key=value, got '{item}'", key=key or None)
        out[key] = read_value(text)
    return out


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, Any], error: type[CadmusError]
) -> dict[str, Any]:
    """A copy of `data` with each dotted key set (``a.b=1``; list items by index: ``a.0.b=1``)."""
    out = _copy(data)
    for dotted, value in overrides.items():
        _set_dotted(out, dotted, value, error)
    return out


def _copy(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {k: _copy(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_copy(v) for v in node]
    return node


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, error: type[CadmusError]) -> None:
    parts = dotted.split(".")
    node: Any = data
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise error(f"no list item {part!r} for override {dotted!r}", key=".".join(parts[: i + 1]))
            if last:
                node[int(part)] = value
            else:
                node = node[int(part)]
            continue
        if not isinstance(node, dict):
            raise error(f"cannot set {dotted!r}: {'.'.join(parts[:i])} is not a mapping", key=dotted)
        if last:
            node[part] = value
        else:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]


def loose_list(text: str) -> list[Any]:
    """Text written as a list without YAML's quoting (``+,-,*`` or ``[+, -, *]``) as a list of scalars."""
    inner = text.strip().removeprefix("[").removesuffix("]")
    return [_scalar(part) for part in inner.split(",") if part.strip()]


def _scalar(text: str) -> Any:
    value = read_value(text)
    if isinstance(value, bool | int | float | str) and value != "":
        return value
    return text.strip().strip("'\"")
