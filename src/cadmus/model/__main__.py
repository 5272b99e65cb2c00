"""``python -m cadmus.model``: print the presets with their parameter counts."""

from __future__ import annotations

from cadmus.model.presets import preset_table

__all__ = ["preset_table"]

if __name__ == "__main__":
    print(preset_table())
