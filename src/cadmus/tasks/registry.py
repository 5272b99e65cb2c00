"""The registry of task families: a name -> instance table that imports no family.

Each family module registers its classes with `@register` when it is
imported; `cadmus.tasks` imports the built-in families, so importing the
package fills the registry.
"""

from __future__ import annotations

from cadmus.tasks.base import Family, TaskError

_REGISTRY: dict[str, Family] = {}


def register(cls: type[Family]) -> type[Family]:
    """Class decorator adding a family to the registry under `cls.name`."""
    if cls.name in _REGISTRY:
        raise ValueError(f"family {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls()
    return cls


def get_family(name: str) -> Family:
    """The registered family called `name`; an unknown name raises `TaskError` listing the known ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise TaskError(f"unknown task family '{name}' (known: {known})") from None


def all_families() -> dict[str, Family]:
    """Every registered family, by name."""
    return dict(sorted(_REGISTRY.items()))
