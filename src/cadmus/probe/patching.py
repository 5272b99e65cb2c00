"""Activation patching with verified counterfactuals: which sites carry what the answer needs.

Pairs come from the task layer (`cadmus.tasks.make_counterfactual`): each
program of a split gets one element resampled (a constant, an operator, a
variable read), both programs are checked true on the VM, and the pair is
kept only when the answers differ. Pairs whose prompts tokenise to different
lengths are dropped, and each (kind, site) keeps the pairs of its most
common layout (the same role label at every position), so positions line up.

Metric. The clean answer is teacher-forced after both prompts, and the
metric is the log-probability of the whole clean answer,
``sum_j log p(answer_j)``: the logit of each correct token against the
log-sum-exp of all logits. A site's *restored share* is

    (metric(patched) - metric(corrupted)) / (metric(clean) - metric(corrupted))

averaged over pairs before dividing: 0 means the patch changed nothing, 1
that it brought the clean answer back entirely. The default direction
patches clean activations into the corrupted run (denoising), so a site
scores high when it alone carries what the change removed; ``noise`` patches
corrupted activations into the clean run, and the same share then says how
much of the clean answer survives (1: the site does not matter). Why not the
difference of the clean and corrupted answers' logits: an activation from a
run that knows neither answer pushes that difference to about 0, which would
read as 50% restored; the correct answer's own log-probability stays at the
corrupted level, so such a patch reads as about 0% (tested). The classic
first-token logit difference (clean minus corrupted first answer token, where
they differ) is reported alongside in the CSV.

Sites: every layer point (``embed``, and per block ``attn``, ``mlp``,
``resid``) at every prompt position; every head's output (``hook_z``)
at all positions, and at each prompt position.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator

import cadmus.data as data_layer  # its `build` (a function) shares a name with a module there
from cadmus.configio import validate
from cadmus.errors import CadmusError
from cadmus.files import write_json
from cadmus.lang import Assert, Compare, parse
from cadmus.probe.base import ProbeError, iter_rows, model_device, right_padded
from cadmus.probe.plots import heatmap
from cadmus.probe.report import md_table, write_report, write_rows
from cadmus.probe.targets import Annotated, TokenText, annotate
from cadmus.tasks import (
    COUNTERFACTUAL_KINDS,
    Counterfactual,
    Sample,
    counterfactual_sites,
    make_counterfactual,
)

MIN_GAP = 1.0  # nats: a change that moves the clean answer's log-probability less has nothing to restore


class PatchOptions(BaseModel):
    """Which counterfactuals, how many pairs, which sites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kinds: tuple[str, ...] = Field(("constant", "operator", "name"), min_length=1)
    pairs: int = Field(300, ge=1, description="pairs per (kind, site) at most")
    limit: int | None = Field(2000, ge=1, description="programs read from the split")
    min_pairs: int = Field(10, ge=1, description="a (kind, site) with fewer aligned pairs is left out")
    heads: bool = True
    head_positions: bool = True
    direction: str = Field(
        "denoise", description="denoise: clean into corrupted; noise: corrupted into clean"
    )
    batch_size: int = Field(256, ge=1)
    same_width: bool = True
    seed: int = 0

    @field_validator("kinds")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for kind in value:
            if kind not in COUNTERFACTUAL_KINDS:
                raise ValueError(f"unknown kind {kind!r} (known: {', '.join(COUNTERFACTUAL_KINDS)})")
        return value

    @field_validator("direction")
    @classmethod
    def _direction(cls, value: str) -> str:
        if value not in ("denoise", "noise"):
            raise ValueError("must be 'denoise' or 'noise'")
        return value


def patch_options(**values: Any) -> PatchOptions:
    return validate(PatchOptions, values, ProbeError, what="the patching options")


# ---- pairs ------------------------------------------------------------------------


@dataclass
class Pair:
    """One verified counterfactual pair, tokenised."""

    counterfactual: Counterfactual
    clean: Annotated
    corrupt: Annotated
    clean_text: str
    corrupt_text: str


@dataclass
class PairGroup:
    """Aligned pairs of one (kind, site): same prompt length and the same role at every position."""

    kind: str
    site: int
    labels: list[str]  # role label of every prompt position (through <sep>)
    pairs: list[Pair] = field(default_factory=list)
    dropped: int = 0  # pairs of other layouts

    @property
    def name(self) -> str:
        return f"{self.kind}{self.site}"

    @property
    def differs(self) -> np.ndarray:
        """Per prompt position: whether its token differs in some pair."""
        n = len(self.labels)
        diff = np.zeros(n, dtype=bool)
        for p in self.pairs:
            diff |= np.asarray(p.clean.ids[:n]) != np.asarray(p.corrupt.ids[:n])
        return diff

    @property
    def changed(self) -> list[str]:
        """Role labels of the prompt positions whose tokens differ in some pair."""
        return [self.labels[i] for i in np.flatnonzero(self.differs)]


def sample_of(prompt: str, completion: str) -> Sample:
    """The task sample a `complete` example shows: its statements, and the asserted expression as the answer."""
    module = parse(prompt + completion)
    last = module.body[-1] if module.body else None
    if not isinstance(last, Assert) or not isinstance(last.test, Compare):
        raise ProbeError("the example does not end with an assert to complete")
    return Sample(body=tuple(module.body[:-1]), answer=last.test.left)


def make_pairs(
    ckpt: Any, dataset: str | Path, split: str, options: PatchOptions | None = None
) -> tuple[list[PairGroup], dict[str, int]]:
    """Verified counterfactual pairs from a split, grouped by (kind, site) and aligned; plus drop counts."""
    opts = options or PatchOptions()
    text = TokenText(ckpt.tokenizer)
    block = ckpt.model.config.block_size
    rng = random.Random(opts.seed)
    found: dict[tuple[str, int], list[Pair]] = {}
    counts: Counter[str] = Counter()
    for row in iter_rows(dataset, split, opts.limit):
        if row.get("format", "complete") != "complete":
            counts["not complete format"] += 1
            continue
        try:
            sample = sample_of(row["prompt"], row["completion"])
        except CadmusError:  # a parse error, or no final assert
            counts["not a program"] += 1
            continue
        knobs = json.loads(row.get("knobs") or "{}")
        values = (int(knobs.get("min_value", 0)), int(knobs.get("max_value", 99)))
        operators = tuple(knobs.get("operators", ("+", "-")))
        for kind in opts.kinds:
            for site in counterfactual_sites(sample, kind):
                try:
                    cf = make_counterfactual(
                        sample,
                        kind,
                        rng,
                        site=site.index,
                        values=values,
                        operators=operators,
                        same_width=opts.same_width,
                    )
                except CadmusError:  # the example's own program is not true
                    counts["not a true program"] += 1
                    break
                if cf is None:
                    counts["no counterfactual"] += 1
                    continue
                try:
                    clean_b = data_layer.build("complete", cf.clean)
                    corrupt_b = data_layer.build("complete", cf.corrupt)
                    clean = annotate(clean_b.prompt, clean_b.completion, text)
                    corrupt = annotate(corrupt_b.prompt, corrupt_b.completion, text)
                except (data_layer.Reject, CadmusError):
                    counts["not buildable"] += 1
                    continue
                if clean.sep != corrupt.sep:
                    counts["different prompt lengths"] += 1
                    continue
                if clean.sep + 1 + len(clean.answer_ids) > block:
                    counts["too long"] += 1
                    continue
                found.setdefault((kind, site.index), []).append(
                    Pair(
                        cf,
                        clean,
                        corrupt,
                        clean_b.prompt + clean_b.completion,
                        corrupt_b.prompt + corrupt_b.completion,
                    )
                )
                counts["pairs"] += 1
    groups = []
    for (kind, site), pairs in sorted(found.items()):
        layouts = Counter(tuple(p.clean.labels[: p.clean.sep + 1]) for p in pairs)
        layout, _ = layouts.most_common(1)[0]
        kept = [p for p in pairs if tuple(p.clean.labels[: p.clean.sep + 1]) == layout][: opts.pairs]
        group = PairGroup(kind, site, list(layout), kept, dropped=len(pairs) - len(kept))
        if len(kept) >= opts.min_pairs:
            groups.append(group)
        else:
            counts["groups with too few pairs"] += 1
    return groups, dict(counts)


# ---- runs and metrics ---------------------------------------------------------------


@dataclass
class AnswerIndex:
    """Where each row's answer tokens are predicted: flat (row, position, token) triples."""

    rows: torch.Tensor
    pos: torch.Tensor
    tgt: torch.Tensor
    n_rows: int

    @classmethod
    def of(cls, sep: int, answers: Sequence[Sequence[int]], device: torch.device) -> AnswerIndex:
        rows = [b for b, a in enumerate(answers) for _ in a]
        pos = [sep + j for a in answers for j in range(len(a))]
        tgt = [t for a in answers for t in a]
        as_tensor = lambda x: torch.tensor(x, dtype=torch.long, device=device)  # noqa: E731
        return cls(as_tensor(rows), as_tensor(pos), as_tensor(tgt), len(answers))

    def logprob(self, logits: torch.Tensor) -> torch.Tensor:
        """[B] summed log-probability of the answer tokens."""
        logp = logits[self.rows, self.pos].float().log_softmax(-1)
        picked = logp.gather(1, self.tgt[:, None]).squeeze(1)
        return torch.zeros(self.n_rows, device=logits.device).index_add_(0, self.rows, picked)

    def greedy(self, logits: torch.Tensor) -> torch.Tensor:
        """[B] True where every answer token is the top prediction."""
        hit = (logits[self.rows, self.pos].argmax(-1) == self.tgt).float()
        wrong = torch.zeros(self.n_rows, device=logits.device).index_add_(0, self.rows, 1.0 - hit)
        return wrong == 0


@dataclass
class Batch:
    """Tensors of a group: clean and corrupted prompts, each followed by the clean answer."""

    clean: torch.Tensor  # [B, T]
    corrupt: torch.Tensor  # [B, T]
    sep: int
    answers: list[list[int]]
    first_corrupt: torch.Tensor  # [B] the corrupted answer's first token
    index: AnswerIndex  # the clean answer's tokens after either prompt
    corrupt_own: torch.Tensor  # [B, T'] the corrupted prompt followed by its own answer
    corrupt_index: AnswerIndex


def make_batch(pairs: Sequence[Pair], pad_id: int, device: torch.device) -> Batch:
    sep = pairs[0].clean.sep
    if any(p.clean.sep != sep or p.corrupt.sep != sep for p in pairs):
        raise ProbeError("pairs of one batch must share the prompt length")
    answers = [p.clean.answer_ids for p in pairs]
    own = [p.corrupt.answer_ids for p in pairs]
    clean, _ = right_padded([p.clean.ids[: sep + 1] + a for p, a in zip(pairs, answers)], pad_id)
    corrupt, _ = right_padded([p.corrupt.ids[: sep + 1] + a for p, a in zip(pairs, answers)], pad_id)
    corrupt_own, _ = right_padded([p.corrupt.ids[: sep + 1] + a for p, a in zip(pairs, own)], pad_id)
    first = torch.tensor([a[0] for a in own], dtype=torch.long)
    return Batch(
        clean.to(device),
        corrupt.to(device),
        sep,
        answers,
        first.to(device),
        AnswerIndex.of(sep, answers, device),
        corrupt_own.to(device),
        AnswerIndex.of(sep, own, device),
    )


def answer_logprob(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """[B] log-probability of each row's clean answer (teacher-forced after the prompt)."""
    return batch.index.logprob(logits)


def first_token_ld(logits: torch.Tensor, batch: Batch) -> torch.Tensor:
    """[B] logit of the clean answer's first token minus the corrupted answer's first token, at <sep>."""
    at = logits[:, batch.sep].float()
    clean_first = torch.tensor([a[0] for a in batch.answers], device=logits.device)
    rows = torch.arange(len(batch.answers), device=logits.device)
    return at[rows, clean_first] - at[rows, batch.first_corrupt]


def restored_share(
    patched: torch.Tensor, clean: torch.Tensor, corrupt: torch.Tensor, min_gap: float = 1e-9
) -> float:
    """(mean patched - mean corrupted) / (mean clean - mean corrupted).

    NaN when the clean and corrupted means are closer than `min_gap`: a
    change that does not move the model leaves nothing to restore.
    """
    gap = float(clean.mean() - corrupt.mean())
    if abs(gap) < min_gap:
        return float("nan")
    return float(patched.mean() - corrupt.mean()) / gap


@dataclass(frozen=True)
class PatchSite:
    """A hook and what to replace there: positions (None: all) and a head of `hook_z` (None: all)."""

    hook: str
    positions: tuple[int, ...] | None = None
    head: int | None = None


@torch.no_grad()
def run_patched(
    model: Any, receiver: torch.Tensor, donor: dict[str, torch.Tensor], sites: Sequence[PatchSite]
) -> torch.Tensor:
    """Logits of `receiver` with the activations at `sites` taken from `donor` (a cache of the donor run)."""

    def patcher(site: PatchSite) -> Callable[..., torch.Tensor]:
        def fn(tensor: torch.Tensor, *, hook: Any) -> torch.Tensor:
            src = donor[hook.name]
            out = tensor.clone()
            pos = slice(None) if site.positions is None else list(site.positions)
            if site.head is None:
                out[:, pos] = src[:, pos]
            else:
                out[:, pos, site.head] = src[:, pos, site.head]
            return out

        return fn

    logits, _ = model.run_with_hooks(receiver, [(s.hook, patcher(s)) for s in sites])
    return logits


def _points(n_layer: int) -> list[tuple[str, str]]:
    """(label, hook) of every layer point patched: embed, then per block attn, mlp, resid."""
    points = [("embed", "blocks.0.hook_resid_pre")]
    for i in range(n_layer):
        points += [
            (f"L{i} attn", f"blocks.{i}.hook_attn_out"),
            (f"L{i} mlp", f"blocks.{i}.hook_mlp_out"),
            (f"L{i} resid", f"blocks.{i}.hook_resid_post"),
        ]
    return points


@torch.no_grad()
def patch_group(
    model: Any, group: PairGroup, pad_id: int, options: PatchOptions | None = None
) -> dict[str, Any]:
    """Restored shares of every site for one group of aligned pairs (see the module docstring).

    Positions before the first token that differs in any pair hold the same
    activations in both runs (attention is causal), so patching there changes
    nothing; they are not run and score exactly 0 (1 under ``noise``).
    """
    opts = options or PatchOptions()
    model.eval()
    device = model_device(model)
    cfg = model.config
    points = _points(cfg.n_layer)
    P = len(group.labels)
    diff = group.differs
    first = int(np.argmax(diff)) if diff.any() else P
    z = [f"blocks.{i}.attn.hook_z" for i in range(cfg.n_layer)]
    hooks_needed = {h for _, h in points} | set(z)
    keys = ("sites", "sites_ld", "heads", "head_positions")
    patched: dict[str, list[Any]] = {k: [] for k in keys}
    base: dict[str, list[torch.Tensor]] = {
        k: [] for k in ("clean", "corrupt", "clean_ld", "corrupt_ld", "ld_rows", "clean_ok", "follows")
    }
    for start in range(0, len(group.pairs), opts.batch_size):
        batch = make_batch(group.pairs[start : start + opts.batch_size], pad_id, device)
        (clean_logits, _), clean_cache = model.run_with_cache(
            batch.clean, names_filter=hooks_needed.__contains__
        )
        (corrupt_logits, _), corrupt_cache = model.run_with_cache(
            batch.corrupt, names_filter=hooks_needed.__contains__
        )
        own_logits, _ = model(batch.corrupt_own)
        lp = {"clean": batch.index.logprob(clean_logits), "corrupt": batch.index.logprob(corrupt_logits)}
        ld = {"clean": first_token_ld(clean_logits, batch), "corrupt": first_token_ld(corrupt_logits, batch)}
        base["clean"].append(lp["clean"])
        base["corrupt"].append(lp["corrupt"])
        base["clean_ld"].append(ld["clean"])
        base["corrupt_ld"].append(ld["corrupt"])
        base["ld_rows"].append(
            torch.tensor([a[0] for a in batch.answers], device=device) != batch.first_corrupt
        )
        base["clean_ok"].append(batch.index.greedy(clean_logits))
        base["follows"].append(batch.corrupt_index.greedy(own_logits))
        if opts.direction == "denoise":
            receiver, donor, unpatched = batch.corrupt, clean_cache, "corrupt"
        else:
            receiver, donor, unpatched = batch.clean, corrupt_cache, "clean"

        def measure(
            sites: Sequence[PatchSite],
            _batch: Batch = batch,
            _receiver: torch.Tensor = receiver,
            _donor: dict[str, torch.Tensor] = donor,
        ) -> tuple[torch.Tensor, torch.Tensor]:
            logits = run_patched(model, _receiver, _donor, sites)
            return _batch.index.logprob(logits), first_token_ld(logits, _batch)

        same = (lp[unpatched], ld[unpatched])
        grid = [[measure([PatchSite(h, (q,))]) if q >= first else same for q in range(P)] for _, h in points]
        patched["sites"].append([[cell[0] for cell in row] for row in grid])
        patched["sites_ld"].append([[cell[1] for cell in row] for row in grid])
        if opts.heads:
            patched["heads"].append(
                [
                    [measure([PatchSite(z[i], None, h)])[0] for h in range(cfg.n_head)]
                    for i in range(cfg.n_layer)
                ]
            )
        if opts.head_positions:
            patched["head_positions"].append(
                [
                    [measure([PatchSite(z[i], (q,), h)])[0] if q >= first else same[0] for q in range(P)]
                    for i in range(cfg.n_layer)
                    for h in range(cfg.n_head)
                ]
            )
    cat = {k: torch.cat(v) for k, v in base.items()}
    ld_rows = cat["ld_rows"]
    clean_ld, corrupt_ld = cat["clean_ld"][ld_rows], cat["corrupt_ld"][ld_rows]
    moved = float(cat["clean"].mean() - cat["corrupt"].mean()) >= MIN_GAP

    def share(parts: list[Any], i: int, j: int, ld: bool = False) -> float:
        values = torch.cat([part[i][j] for part in parts])
        if not moved:
            return float("nan")
        if ld:
            if not bool(ld_rows.any()):
                return float("nan")
            return restored_share(values[ld_rows], clean_ld, corrupt_ld)
        return restored_share(values, cat["clean"], cat["corrupt"])

    result: dict[str, Any] = {
        "group": group.name,
        "kind": group.kind,
        "site": group.site,
        "changed": group.changed,
        "labels": group.labels,
        "points": [label for label, _ in points],
        "pairs": len(group.pairs),
        "dropped": group.dropped,
        "clean_logprob": float(cat["clean"].mean()),
        "corrupt_logprob": float(cat["corrupt"].mean()),
        "clean_correct": float(cat["clean_ok"].float().mean()),
        "follows_change": float(cat["follows"].float().mean()),
        "moved": moved,
        "ld_pairs": int(ld_rows.sum()),
        "clean_ld": float(clean_ld.mean()) if len(clean_ld) else float("nan"),
        "corrupt_ld": float(corrupt_ld.mean()) if len(corrupt_ld) else float("nan"),
        "direction": opts.direction,
        "first_changed_position": first,
        "example": {"clean": group.pairs[0].clean_text, "corrupt": group.pairs[0].corrupt_text},
    }
    n_points = len(points)
    result["sites"] = [[share(patched["sites"], i, j) for j in range(P)] for i in range(n_points)]
    result["sites_ld"] = [
        [share(patched["sites_ld"], i, j, ld=True) for j in range(P)] for i in range(n_points)
    ]
    if opts.heads:
        result["heads"] = [
            [share(patched["heads"], i, h) for h in range(cfg.n_head)] for i in range(cfg.n_layer)
        ]
    if opts.head_positions:
        result["head_positions"] = [
            [share(patched["head_positions"], r, q) for q in range(P)]
            for r in range(cfg.n_layer * cfg.n_head)
        ]
    return result


# ---- the whole run ------------------------------------------------------------------


def run_patching(
    ckpt: Any,
    dataset: str | Path,
    split: str,
    out: str | Path,
    options: PatchOptions | None = None,
    *,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Pairs from a split, every group patched; patching.csv/json, heat maps and report.md in `out`."""
    opts = options or PatchOptions()
    out, dataset = Path(out), Path(dataset)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    groups, counts = make_pairs(ckpt, dataset, split, opts)
    if not groups:
        raise ProbeError(f"no group of at least {opts.min_pairs} aligned counterfactual pairs ({counts})")
    results = []
    images = []
    rows = []
    cfg = ckpt.model.config
    heads = [f"L{i}H{h}" for i in range(cfg.n_layer) for h in range(cfg.n_head)]
    restored = partial(heatmap, vmin=-1.0, vmax=1.0, cmap="RdBu_r")  # maps of a restored share, in [-1, 1]
    for group in groups:
        log(f"patching {group.name}: {len(group.pairs)} pairs, changed {','.join(group.changed)}")
        res = patch_group(ckpt.model, group, ckpt.tokenizer.pad_id, opts)
        results.append(res)
        cols = [f"{j}:{label}" for j, label in enumerate(res["labels"])]
        title = f"{group.kind} #{group.site} changed ({', '.join(res['changed'])}), {res['pairs']} pairs"
        name = f"patch_{group.name}_sites.png"
        restored(
            np.array(res["sites"]),
            res["points"],
            cols,
            out / name,
            title=f"restored share, {title}",
            xlabel="prompt position (role)",
            ylabel="patched output",
        )
        images.append(name)
        if "heads" in res:
            name = f"patch_{group.name}_heads.png"
            restored(
                np.array(res["heads"]),
                [f"L{i}" for i in range(cfg.n_layer)],
                [f"H{h}" for h in range(cfg.n_head)],
                out / name,
                title=f"head outputs (all positions), {title}",
            )
            images.append(name)
        if "head_positions" in res:
            name = f"patch_{group.name}_head_positions.png"
            restored(
                np.array(res["head_positions"]),
                heads,
                cols,
                out / name,
                title=f"head outputs per position, {title}",
                xlabel="prompt position (role)",
            )
            images.append(name)
        for i, point in enumerate(res["points"]):
            for j, label in enumerate(res["labels"]):
                rows.append(
                    {
                        "group": group.name,
                        "site": point,
                        "position": j,
                        "role": label,
                        "head": "",
                        "restored": res["sites"][i][j],
                        "restored_first_token_ld": res["sites_ld"][i][j],
                    }
                )
        for r, head in enumerate(heads):
            if "heads" in res:
                rows.append(
                    {
                        "group": group.name,
                        "site": "z",
                        "position": "all",
                        "role": "",
                        "head": head,
                        "restored": res["heads"][r // cfg.n_head][r % cfg.n_head],
                        "restored_first_token_ld": float("nan"),
                    }
                )
            if "head_positions" in res:
                for j, label in enumerate(res["labels"]):
                    rows.append(
                        {
                            "group": group.name,
                            "site": "z",
                            "position": j,
                            "role": label,
                            "head": head,
                            "restored": res["head_positions"][r][j],
                            "restored_first_token_ld": float("nan"),
                        }
                    )
    files = write_rows(out, "patching", rows)
    summary = [
        (
            r["group"],
            ", ".join(r["changed"]),
            r["pairs"],
            f"{100 * r['clean_correct']:.0f}%",
            f"{100 * r['follows_change']:.0f}%",
            r["clean_logprob"],
            r["corrupt_logprob"],
            _top_sites(r, 3) if r["moved"] else "— (the change does not move the answer)",
            _top_heads(r, heads, 3) if r["moved"] else "—",
        )
        for r in results
    ]
    write_json(out / "patching_groups.json", results, sort_keys=False)
    files.append("patching_groups.json")
    write_report(
        out,
        title="Activation patching",
        command=command,
        inputs={
            "checkpoint": ckpt.path,
            "dataset": dataset,
            "split": f"{split} (first {opts.limit} programs)",
            "direction": opts.direction,
            "pair counts": ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())),
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
        sections=[
            (
                "Groups",
                md_table(
                    [
                        "group",
                        "changed",
                        "pairs",
                        "clean answered",
                        "follows the change",
                        "log p(clean answer): clean",
                        "corrupted",
                        "top sites",
                        "top heads",
                    ],
                    summary,
                ),
            ),
            (
                "How to read it",
                "Each cell is the restored share of the clean answer's log-probability when that one "
                "activation is taken from the clean run into the corrupted run (1 = clean answer fully "
                "back, 0 = no effect). Columns are prompt positions by role: `n0.d0` is the ones digit of "
                "the first constant, `v1` the second variable's name, `op` the operator. Rows: `embed` is "
                "the token embedding, `L{i} attn`/`mlp` a block's attention or MLP output, `L{i} resid` the "
                "residual stream after block i. *Clean answered*: the model's greedy answer to the clean "
                "prompt is the clean answer; *follows the change*: its greedy answer to the corrupted "
                "prompt is the corrupted answer. A group whose change moves the clean answer's "
                f"log-probability by less than {MIN_GAP} nat has nothing to restore and is left blank.",
            ),
        ],
        images=images,
        files=files,
    )
    return results


def _top_sites(res: dict[str, Any], k: int) -> str:
    grid = np.array(res["sites"], dtype=float)
    flat = [
        (grid[i, j], f"{res['points'][i]}@{res['labels'][j]}")
        for i in range(grid.shape[0])
        for j in range(grid.shape[1])
        if res["points"][i].endswith(("attn", "mlp")) and np.isfinite(grid[i, j])
    ]
    flat.sort(key=lambda x: -x[0])
    return "; ".join(f"{name} {v:.2f}" for v, name in flat[:k])


def _top_heads(res: dict[str, Any], heads: list[str], k: int) -> str:
    if "heads" not in res:
        return ""
    values = np.array(res["heads"], dtype=float).ravel()
    order = np.argsort(-values)[:k]
    return "; ".join(f"{heads[r]} {values[r]:.2f}" for r in order)
