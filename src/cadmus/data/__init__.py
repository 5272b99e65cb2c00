"""cadmus.data: example formats and their judges, mixtures, verification, dedup,
ID/OOD splits, the sharded deterministic build, manifest and dataset card.

See docs/data.md for the formats' exact text shapes and judging rules, the
config schema and the build's guarantees.
"""

from cadmus.data.build import BuildResult, build_dataset
from cadmus.data.canon import canonical_form, program_key, rename
from cadmus.data.canon import walk_info as canon_walk_info
from cadmus.data.config import (
    FORMAT_NAMES,
    DataConfig,
    DataConfigError,
    Plan,
    config_from_dict,
    load_config,
    load_plan,
    resolve,
)
from cadmus.data.formats import (
    FORMATS,
    OUTPUT_SEPARATOR,
    STOP,
    TRACE_SEPARATOR,
    Built,
    Reject,
    build,
    judge,
    normalize_output,
    trace_text,
)
from cadmus.data.generate import COLUMNS, DataBuildError, example_seed, regenerate, rename_sample
from cadmus.data.inspect import format_example, iter_examples, verify_dataset
from cadmus.data.manifest import read_manifest
from cadmus.data.shards import plan_tasks

__all__ = [
    "COLUMNS",
    "FORMATS",
    "FORMAT_NAMES",
    "OUTPUT_SEPARATOR",
    "STOP",
    "TRACE_SEPARATOR",
    "BuildResult",
    "Built",
    "DataBuildError",
    "DataConfig",
    "DataConfigError",
    "Plan",
    "Reject",
    "build",
    "build_dataset",
    "canon_walk_info",
    "canonical_form",
    "config_from_dict",
    "example_seed",
    "format_example",
    "iter_examples",
    "judge",
    "load_config",
    "load_plan",
    "normalize_output",
    "plan_tasks",
    "program_key",
    "read_manifest",
    "regenerate",
    "rename",
    "rename_sample",
    "resolve",
    "trace_text",
    "verify_dataset",
]
