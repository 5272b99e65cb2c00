"""Instruments for looking inside a trained Cadmus model: activation datasets, VM-derived targets, linear probes with controls, logit lens, attention maps, verified counterfactual patching, ablations.

From a notebook::

    from cadmus.eval import load_checkpoint
    from cadmus import probe

    ckpt = load_checkpoint("runs/demo/train")
    cache = probe.cache_activations(ckpt, "runs/demo/data", "test", "runs/probe/cache",
                                    probe.CacheOptions(limit=2000))
    X = cache.load("blocks.1.hook_resid_post", cache.select("stmt_end", line=1))
    values, valid = cache.target("var1")          # the VM's value of the 2nd variable, per row
    probe.logit_lens(ckpt, "runs/demo/data", "test", limit=500)
    groups, counts = probe.make_pairs(ckpt, "runs/demo/data", "test")
    probe.patch_group(ckpt.model, groups[0], ckpt.tokenizer.pad_id)

On the command line: ``cadmus probe {cache,linear,lens,attention,patch,ablate}``;
every run writes ``OUT/report.md`` with its plots, numbers and the command
that reproduces it. See docs/probe.md.
"""

from cadmus.probe.ablation import (
    AblationOptions,
    Component,
    ablate,
    ablation_hooks,
    ablation_options,
    accuracy_with,
    component_means,
    components,
    run_ablation,
)
from cadmus.probe.activations import (
    ActivationCache,
    CacheOptions,
    cache_activations,
    cache_options,
    cache_report,
)
from cadmus.probe.attention import attention_by_kind, attention_patterns, run_attention, token_kind
from cadmus.probe.base import HOOK_FAMILIES, LayerPoint, ProbeError, layer_points, random_model, read_rows
from cadmus.probe.lens import lens_logits, logit_lens, run_lens
from cadmus.probe.linear import LinearOptions, ProbeScore, fit_probe, linear_options, probe_grid, run_linear
from cadmus.probe.patching import (
    Pair,
    PairGroup,
    PatchOptions,
    PatchSite,
    answer_logprob,
    make_pairs,
    patch_group,
    patch_options,
    restored_share,
    run_patched,
    run_patching,
    sample_of,
)
from cadmus.probe.targets import (
    FEATURES,
    POSITION_KINDS,
    Annotated,
    TokenText,
    annotate,
    feature_values,
    target_names,
)

__all__ = [
    "FEATURES",
    "HOOK_FAMILIES",
    "POSITION_KINDS",
    "AblationOptions",
    "ActivationCache",
    "Annotated",
    "CacheOptions",
    "Component",
    "LayerPoint",
    "LinearOptions",
    "Pair",
    "PairGroup",
    "PatchOptions",
    "PatchSite",
    "ProbeError",
    "ProbeScore",
    "TokenText",
    "ablate",
    "ablation_hooks",
    "ablation_options",
    "accuracy_with",
    "annotate",
    "answer_logprob",
    "attention_by_kind",
    "attention_patterns",
    "cache_activations",
    "cache_options",
    "cache_report",
    "component_means",
    "components",
    "feature_values",
    "fit_probe",
    "layer_points",
    "lens_logits",
    "linear_options",
    "logit_lens",
    "make_pairs",
    "patch_group",
    "patch_options",
    "probe_grid",
    "random_model",
    "read_rows",
    "restored_share",
    "run_ablation",
    "run_attention",
    "run_lens",
    "run_linear",
    "run_patched",
    "run_patching",
    "sample_of",
    "target_names",
    "token_kind",
]
