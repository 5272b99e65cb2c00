"""Task families: typed knobs, samplers of ASTs, and their registry.

Importing this package imports the built-in families (`cadmus.tasks.families`),
which register themselves; the registry module itself imports no family.
"""

from cadmus.tasks import families as _families  # noqa: F401  (registers the built-in families)
from cadmus.tasks.base import FORMATS, Family, Knobs, Sample, TaskError
from cadmus.tasks.catalog import knob_rows, list_text, render_sample, show_text, tasks_markdown
from cadmus.tasks.counterfactual import (
    COUNTERFACTUAL_KINDS,
    Counterfactual,
    CounterfactualSite,
    counterfactual_pairs,
    counterfactual_sites,
    make_counterfactual,
    tree_differences,
    verified_answer,
)
from cadmus.tasks.names import HELDOUT, POOL_NAMES, POOLS, NamePicker
from cadmus.tasks.registry import all_families, get_family, register

__all__ = [
    "COUNTERFACTUAL_KINDS",
    "FORMATS",
    "HELDOUT",
    "POOLS",
    "POOL_NAMES",
    "Counterfactual",
    "CounterfactualSite",
    "Family",
    "Knobs",
    "NamePicker",
    "Sample",
    "TaskError",
    "all_families",
    "counterfactual_pairs",
    "counterfactual_sites",
    "get_family",
    "knob_rows",
    "list_text",
    "make_counterfactual",
    "register",
    "render_sample",
    "show_text",
    "tasks_markdown",
    "tree_differences",
    "verified_answer",
]
