"""Logit lens: the final norm and unembedding applied to the residual stream after every layer.

For each example the answer is teacher-forced (`<bos> prompt <sep> answer`),
and at the position that predicts each answer token the residual stream after
the embeddings (``embed``) and after each block (``L0``, ``L1``, ...) is read
through ``ln_f`` and ``lm_head`` as if it were the last layer. Reported per
answer token role and layer: how often the correct token is the top
prediction, its mean probability, and the layer from which it is the top
prediction and stays so to the last layer ("settles"). Answer tokens are
grouped by role: the sign, then each decimal place (``d0`` ones, ``d1`` tens). At the last layer the
lens is the model's own output (tested).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cadmus.probe.base import ProbeError, chunks, layer_points, model_device, right_padded
from cadmus.probe.plots import curves
from cadmus.probe.report import md_table, write_report, write_rows
from cadmus.probe.targets import TokenText, annotated_rows, role_order


@torch.no_grad()
def lens_logits(model: Any, resid: torch.Tensor) -> torch.Tensor:
    """Logits the model would give if `resid` [.., D] were its last residual stream."""
    return model.lm_head(model.ln_f(resid))


@torch.no_grad()
def logit_lens(
    ckpt: Any, dataset: str | Path, split: str, *, limit: int | None = 1000, batch_size: int = 256
) -> dict[str, Any]:
    """Per answer token role and layer point: top-1 rate, mean probability, where it settles.

    An answer token's role is its sign (``sign``) or its decimal place
    (``d0`` ones, ``d1`` tens, ...). Returns ``{"layers": [...], "tokens":
    [{"role", "n", "top1": [...], "prob": [...], "settle": {layer or "never":
    count}}], "examples": n, "skipped": n}``.
    """
    model, tok = ckpt.model.eval(), ckpt.tokenizer
    points = layer_points(model.config.n_layer, "resid")
    device = model_device(model)
    pairs, skipped = annotated_rows(TokenText(tok), dataset, split, limit, block_size=model.config.block_size)
    annotated = [a for _, a in pairs]
    if not annotated:
        raise ProbeError(f"no example of split '{split}' for the logit lens", file=str(dataset))
    roles = sorted({r for a in annotated for r in a.answer_roles}, key=role_order)
    L = len(points)
    top1 = np.zeros((len(roles), L))
    prob = np.zeros((len(roles), L))
    count = np.zeros(len(roles))
    settle: list[dict[str, int]] = [{} for _ in roles]
    store: dict[str, torch.Tensor] = {}

    def keep(tensor: torch.Tensor, *, hook: Any) -> None:
        store[hook.name] = tensor

    for batch in chunks(annotated, batch_size):
        ids, _ = right_padded([a.ids for a in batch], tok.pad_id)
        model.run_with_hooks(ids.to(device), [(p.hook, keep) for p in points])
        for r, role in enumerate(roles):
            where = [(b, j) for b, a in enumerate(batch) for j, x in enumerate(a.answer_roles) if x == role]
            if not where:
                continue
            bi = torch.tensor([b for b, _ in where], device=device)
            ti = torch.tensor([batch[b].sep + j for b, j in where], device=device)
            target = torch.tensor([batch[b].answer_ids[j] for b, j in where], device=device)
            hits = []
            for k, p in enumerate(points):
                logits = lens_logits(model, store[p.hook][bi, ti]).float()
                hit = logits.argmax(-1) == target
                hits.append(hit.cpu().numpy())
                top1[r, k] += float(hit.sum())
                prob[r, k] += float(logits.softmax(-1).gather(1, target[:, None]).sum())
            count[r] += len(where)
            for row_hits in np.stack(hits, axis=1):
                key = "never"
                if row_hits[-1]:
                    k = L - 1
                    while k > 0 and row_hits[k - 1]:
                        k -= 1
                    key = points[k].label
                settle[r][key] = settle[r].get(key, 0) + 1
    tokens = []
    for r, role in enumerate(roles):
        n = max(1.0, count[r])
        tokens.append(
            {
                "role": role,
                "n": int(count[r]),
                "top1": (top1[r] / n).tolist(),
                "prob": (prob[r] / n).tolist(),
                "settle": settle[r],
            }
        )
    return {
        "layers": [p.label for p in points],
        "tokens": tokens,
        "examples": len(annotated),
        "skipped": sum(skipped.values()),
    }


def run_lens(
    ckpt: Any,
    dataset: str | Path,
    split: str,
    out: str | Path,
    *,
    limit: int | None = 1000,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The logit lens over a split: lens.csv/json, two plots and report.md in `out`."""
    out, dataset = Path(out), Path(dataset)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    result = logit_lens(ckpt, dataset, split, limit=limit)
    layers = result["layers"]
    files = write_rows(out, "lens", lens_rows(result))
    settle_rows = []
    for t in result["tokens"]:
        settle_rows.append(
            [t["role"], t["n"]] + [t["settle"].get(x, 0) / max(1, t["n"]) for x in [*layers, "never"]]
        )
    files += write_rows(
        out,
        "lens_settle",
        [
            {
                "answer_token": t["role"],
                "n": t["n"],
                **{f"settles_at_{x}": v for x, v in zip([*layers, "never"], row[2:])},
            }
            for t, row in zip(result["tokens"], settle_rows)
        ],
    )
    named = {t["role"]: t for t in result["tokens"] if t["n"] >= max(1, result["examples"] // 20)}
    images = [
        curves(
            layers,
            {name: t[key] for name, t in named.items()},
            out / f"lens_{key}.png",
            title=f"logit lens: {what}",
            ylabel=ylabel,
            xlabel="residual stream after",
            ylim=(0.0, 1.02),
        ).name
        for key, what, ylabel in (
            ("top1", "correct answer token is the top prediction", "share of examples"),
            ("prob", "probability of the correct answer token", "mean probability"),
        )
    ]
    log(f"logit lens over {result['examples']} examples of {split}")
    top_table = md_table(
        ["answer token", "n", *(f"top-1 after {x}" for x in layers)],
        [[t["role"], t["n"], *t["top1"]] for t in result["tokens"]],
    )
    settle_table = md_table(
        ["answer token", "n", *(f"settles at {x}" for x in layers), "never top"], settle_rows
    )
    write_report(
        out,
        title="Logit lens",
        command=command,
        inputs={
            "checkpoint": ckpt.path,
            "dataset": dataset,
            "split": f"{split} ({result['examples']} examples, {result['skipped']} skipped)",
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
        sections=[
            ("Top-1 rate of the correct answer token by layer", top_table),
            ("Where the correct token becomes the top prediction and stays so", settle_table),
            (
                "How to read it",
                "Answer tokens by role: `sign` (the minus of a negative answer), `d0` the ones digit, "
                "`d1` the tens, ... The first answer token is predicted at `<sep>`, each later one at the "
                "position of the token before it (teacher forcing). `embed` is the residual stream before block 0, `L{i}` after block i; "
                "the last column is the model's own prediction.",
            ),
        ],
        images=images,
        files=files,
    )
    return result


def lens_rows(result: dict[str, Any]) -> Sequence[dict[str, Any]]:
    """The lens result as flat rows (answer token, layer, top1, prob)."""
    return [
        {"answer_token": t["role"], "layer": layer, "n": t["n"], "top1": t["top1"][k], "prob": t["prob"][k]}
        for t in result["tokens"]
        for k, layer in enumerate(result["layers"])
    ]
