"""Task families: typed knobs, samplers of ASTs, and their registry."""

from cadmus.tasks.base import FORMATS, Family, Knobs, Sample, TaskError, all_families, get_family, register
from cadmus.tasks.catalog import knob_rows, parse_overrides, render_sample, tasks_markdown
from cadmus.tasks.names import POOL_NAMES, POOLS, NamePicker

__all__ = [
    "FORMATS",
    "POOLS",
    "POOL_NAMES",
    "Family",
    "Knobs",
    "NamePicker",
    "Sample",
    "TaskError",
    "all_families",
    "get_family",
    "knob_rows",
    "parse_overrides",
    "register",
    "render_sample",
    "tasks_markdown",
]
