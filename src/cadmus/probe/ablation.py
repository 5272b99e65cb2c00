"""Ablations scored by execution: knock out a head, an MLP or a whole layer and ask the VM.

Each component is removed in one of two ways while the model generates its
answers (greedy, with the KV cache, exactly as `cadmus eval` does):

- ``zero``: its output is replaced by zeros;
- ``mean``: its output is replaced by its mean over every token position of
  a reference sample (by default 1,000 programs of the training split), the
  gentler ablation: it removes what varies with the input, not the offset.

A head's output is its slice of ``hook_z`` (before the output projection),
an MLP's is ``hook_mlp_out``, a layer's is both ``hook_attn_out`` and
``hook_mlp_out`` of its block (the block then adds nothing to the residual
stream). Every answer is judged by the format's judge on the VM
(`cadmus.eval.judge_answer`), and accuracy comes with its Wilson interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field

from cadmus.configio import validate
from cadmus.eval import count_correct, rate, read_split
from cadmus.figures import pct
from cadmus.probe.base import ProbeError, chunks, model_device, right_padded
from cadmus.probe.plots import bars, heatmap
from cadmus.probe.report import md_table, write_report, write_rows
from cadmus.probe.targets import TokenText, annotated_rows

COMPONENTS = ("heads", "mlps", "layers")


class AblationOptions(BaseModel):
    """Which components, which ablations, on how many prompts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    modes: tuple[Literal["zero", "mean"], ...] = Field(("zero", "mean"), min_length=1)
    components: tuple[Literal["heads", "mlps", "layers"], ...] = Field(COMPONENTS, min_length=1)
    limit: int | None = Field(None, ge=1, description="prompts of the split (None: all)")
    mean_split: str = "train"
    mean_limit: int = Field(1000, ge=1, description="reference programs for the means")
    batch_size: int = Field(256, ge=1)


def ablation_options(**values: Any) -> AblationOptions:
    return validate(AblationOptions, values, ProbeError, what="the ablation options")


@dataclass(frozen=True)
class Component:
    """One thing to ablate: a head (layer, head), an MLP or a layer."""

    kind: str  # head | mlp | layer
    layer: int
    head: int | None = None

    @property
    def name(self) -> str:
        if self.kind == "head":
            return f"L{self.layer}H{self.head}"
        return f"L{self.layer} {self.kind}"


def components(model: Any, which: Sequence[str] = COMPONENTS) -> list[Component]:
    cfg = model.config
    out: list[Component] = []
    if "heads" in which:
        out += [Component("head", i, h) for i in range(cfg.n_layer) for h in range(cfg.n_head)]
    if "mlps" in which:
        out += [Component("mlp", i) for i in range(cfg.n_layer)]
    if "layers" in which:
        out += [Component("layer", i) for i in range(cfg.n_layer)]
    return out


@torch.no_grad()
def component_means(
    ckpt: Any, dataset: str | Path, split: str, limit: int = 1000, batch_size: int = 256
) -> dict[str, torch.Tensor]:
    """Mean of every ``hook_z`` [H, hs], ``hook_attn_out`` and ``hook_mlp_out`` [D] over real tokens."""
    model, tok = ckpt.model.eval(), ckpt.tokenizer
    pairs, _ = annotated_rows(TokenText(tok), dataset, split, limit, block_size=model.config.block_size)
    if not pairs:
        raise ProbeError(f"no reference example in split '{split}' for mean ablation", key="mean_split")
    names = [
        f"blocks.{i}.{h}"
        for i in range(model.config.n_layer)
        for h in ("attn.hook_z", "hook_attn_out", "hook_mlp_out")
    ]
    sums: dict[str, torch.Tensor] = {}
    count = 0
    device = model_device(model)
    for batch in chunks([a for _, a in pairs], batch_size):
        ids, lengths = right_padded([a.ids for a in batch], tok.pad_id)
        real = (torch.arange(ids.shape[1])[None, :] < lengths[:, None]).to(device)
        _, cache = model.run_with_cache(ids.to(device), names_filter=lambda n: n in names)
        for name in names:
            t = cache[name][real]  # [n, ...]
            sums[name] = sums.get(name, 0) + t.double().sum(0)
        count += int(real.sum())
    return {name: (s / count).float() for name, s in sums.items()}


def ablation_hooks(
    component: Component, mode: str, means: dict[str, torch.Tensor] | None = None
) -> list[tuple[str, Callable[..., torch.Tensor]]]:
    """The forward hooks that ablate `component` (``zero`` or ``mean``)."""
    if mode == "mean" and means is None:
        raise ProbeError("mean ablation needs the component means", key="modes")

    def replace(hook_name: str, head: int | None) -> Callable[..., torch.Tensor]:
        def fn(tensor: torch.Tensor, *, hook: Any) -> torch.Tensor:
            out = tensor.clone()
            value = 0.0 if mode == "zero" else means[hook_name]  # type: ignore[index]
            if head is None:
                out[...] = value
            else:
                out[:, :, head] = value if mode == "zero" else value[head]
            return out

        return fn

    i = component.layer
    if component.kind == "head":
        name = f"blocks.{i}.attn.hook_z"
        return [(name, replace(name, component.head))]
    if component.kind == "mlp":
        name = f"blocks.{i}.hook_mlp_out"
        return [(name, replace(name, None))]
    if component.kind == "layer":
        return [
            (f"blocks.{i}.{h}", replace(f"blocks.{i}.{h}", None)) for h in ("hook_attn_out", "hook_mlp_out")
        ]
    raise ProbeError(f"unknown component kind {component.kind!r}")


def accuracy_with(
    ckpt: Any,
    rows: Sequence[dict[str, Any]],
    hooks: Sequence[tuple[str, Callable[..., torch.Tensor]]] = (),
    *,
    batch_size: int = 256,
) -> tuple[int, int]:
    """(correct, n): greedy answers generated under `hooks`, each judged on the VM."""
    with ckpt.model.hooks(hooks):
        return count_correct(ckpt, rows, batch_size), len(rows)


def ablate(
    ckpt: Any,
    dataset: str | Path,
    split: str,
    options: AblationOptions | None = None,
    *,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Accuracy on a split with each component ablated in each mode (first row: no ablation)."""
    opts = options or AblationOptions()
    rows = read_split(Path(dataset), split, opts.limit)
    if not rows:
        raise ProbeError(f"split '{split}' is empty", file=str(dataset))
    means = None
    if "mean" in opts.modes:
        means = component_means(ckpt, dataset, opts.mean_split, opts.mean_limit, opts.batch_size)
    k, n = accuracy_with(ckpt, rows, batch_size=opts.batch_size)
    base = rate(k, n)
    results = [_row("none", "none", "", base, base.value)]
    for comp in components(ckpt.model, opts.components):
        for mode in opts.modes:
            k, n = accuracy_with(ckpt, rows, ablation_hooks(comp, mode, means), batch_size=opts.batch_size)
            results.append(_row(comp.name, comp.kind, mode, rate(k, n), base.value))
            if log is not None:
                log(f"ablation {comp.name} ({mode}): {k}/{n}")
    return results


def _row(name: str, kind: str, mode: str, r: Any, base: float) -> dict[str, Any]:
    return {
        "component": name,
        "kind": kind,
        "mode": mode,
        "correct": r.k,
        "n": r.n,
        "accuracy": r.value,
        "ci_low": r.low,
        "ci_high": r.high,
        "change": r.value - base,
    }


def run_ablation(
    ckpt: Any,
    dataset: str | Path,
    split: str,
    out: str | Path,
    options: AblationOptions | None = None,
    *,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """`ablate` plus ablation.csv/json, a heat map of the heads, bars for MLPs and layers, report.md."""
    opts = options or AblationOptions()
    out, dataset = Path(out), Path(dataset)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results = ablate(ckpt, dataset, split, opts, log=log)
    files = write_rows(out, "ablation", results)
    cfg = ckpt.model.config
    base = results[0]["accuracy"]
    images = []
    for mode in opts.modes:
        heads = [r for r in results if r["kind"] == "head" and r["mode"] == mode]
        if heads:
            grid = np.full((cfg.n_layer, cfg.n_head), np.nan)
            for r in heads:
                layer, head = r["component"][1:].split("H")
                grid[int(layer), int(head)] = r["accuracy"]
            name = f"ablation_heads_{mode}.png"
            heatmap(
                grid,
                [f"L{i}" for i in range(cfg.n_layer)],
                [f"H{h}" for h in range(cfg.n_head)],
                out / name,
                title=f"accuracy with one head {mode}-ablated (none ablated: {base:.3f})",
                vmin=0.0,
                vmax=1.0,
                colorbar="accuracy (VM-judged)",
            )
            images.append(name)
    others = [r for r in results if r["kind"] in ("mlp", "layer")]
    if others:
        labels = list(dict.fromkeys(r["component"] for r in others))
        groups = {
            mode: [
                next(r["accuracy"] for r in others if r["component"] == c and r["mode"] == mode)
                for c in labels
            ]
            for mode in opts.modes
        }
        bars(
            labels,
            groups,
            out / "ablation_mlps_layers.png",
            title="accuracy with one MLP or layer ablated",
            ylabel="accuracy",
            baseline=base,
        )
        images.append("ablation_mlps_layers.png")
    table = md_table(
        ["component", "mode", "accuracy", "95% interval", "change"],
        [
            (
                r["component"],
                r["mode"] or "—",
                f"{pct(r['accuracy'])} ({r['correct']:,}/{r['n']:,})",
                f"[{100 * r['ci_low']:.1f}, {100 * r['ci_high']:.1f}]",
                f"{100 * r['change']:+.1f}",
            )
            for r in results
        ],
    )
    write_report(
        out,
        title="Ablations",
        command=command,
        inputs={
            "checkpoint": ckpt.path,
            "dataset": dataset,
            "split": f"{split} ({results[0]['n']} prompts)",
            "modes": ", ".join(opts.modes),
            "means from": f"{opts.mean_split} (first {opts.mean_limit} programs)"
            if "mean" in opts.modes
            else "—",
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
        sections=[
            ("Accuracy by execution with one component ablated", table),
            (
                "How to read it",
                "Every answer is generated greedily with the component ablated and judged on the VM. "
                "`zero` replaces the component's output with zeros, `mean` with its mean over the "
                "reference programs. A head's output is its slice before the output projection.",
            ),
        ],
        images=images,
        files=files,
    )
    return results
