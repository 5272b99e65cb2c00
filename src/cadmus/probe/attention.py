"""Attention: pattern maps of one program, and where each head looks from the answer position.

`attention_patterns` runs one example (answer teacher-forced) and returns
every layer's pattern [H, T, T] with readable token labels; `run_attention`
draws one PNG per layer and head. `attention_by_kind` averages, over a
split, the attention mass that each head sends from the `<sep>` position
(the one that predicts the answer's first token) to each kind of token:
each digit of each number literal (``n0.d0`` is the ones digit of the first
constant, ``n1.d1`` the tens digit of the second, ...), each variable's name
(``v0`` the first variable assigned), the operators, ``=``, newlines,
``assert``, ``==``, ``<bos>`` and ``<sep>``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cadmus.probe.base import ProbeError, chunks, model_device, right_padded
from cadmus.probe.plots import heatmap, pattern_map, show_token
from cadmus.probe.report import md_table, write_report, write_rows
from cadmus.probe.targets import Annotated, TokenText, annotate, annotated_rows

_FIXED_ORDER = ("bos", "op", "=", "\\n", "assert", "==", "sep", "other")


def token_kind(a: Annotated, t: int) -> str:
    """The kind of token t for attention summaries (see the module docstring)."""
    cls = a.classes[t]
    if cls == "digit":
        return a.labels[t]  # n0.d0: the ones digit of the first number literal
    if cls == "variable":
        return f"v{a.var[t]}"
    if cls in ("bos", "sep", "op"):
        return cls
    if cls in ("assign", "cmp", "keyword", "newline"):
        return a.labels[t]
    return "other"


def _kind_order(kind: str) -> tuple[int, int, str]:
    if kind in _FIXED_ORDER:
        return (2, _FIXED_ORDER.index(kind), kind)
    head = kind.split(".")[0]
    if head[:1] in "nv" and head[1:].isdigit():
        return (0 if head[0] == "n" else 1, int(head[1:]), kind)
    return (3, 0, kind)


@torch.no_grad()
def attention_patterns(ckpt: Any, prompt: str, completion: str) -> tuple[list[str], list[np.ndarray]]:
    """Token labels and each layer's attention pattern [H, T, T] for one example."""
    model, tok = ckpt.model.eval(), ckpt.tokenizer
    a = annotate(prompt, completion, TokenText(tok))
    ids = torch.tensor([a.ids[:-1]], device=model_device(model))  # up to the answer's last token
    _, cache = model.run_with_cache(ids, names_filter=lambda n: n.endswith("hook_pattern"))
    patterns = [
        cache[f"blocks.{i}.attn.hook_pattern"][0].float().cpu().numpy() for i in range(model.config.n_layer)
    ]
    labels = [show_token(tok.id_to_token(i)) for i in a.ids[:-1]]
    return labels, patterns


@torch.no_grad()
def attention_by_kind(
    ckpt: Any, dataset: str | Path, split: str, *, limit: int | None = 1000, batch_size: int = 256
) -> dict[str, Any]:
    """Mean attention mass from `<sep>` to each token kind, per layer and head, over a split."""
    model, tok = ckpt.model.eval(), ckpt.tokenizer
    pairs, skipped = annotated_rows(TokenText(tok), dataset, split, limit, block_size=model.config.block_size)
    if not pairs:
        raise ProbeError(f"no example of split '{split}' for attention", file=str(dataset))
    annotated = [a for _, a in pairs]
    kinds = sorted({token_kind(a, t) for a in annotated for t in range(a.prompt_len)}, key=_kind_order)
    H, L = model.config.n_head, model.config.n_layer
    mass = np.zeros((L, H, len(kinds)))
    device = model_device(model)
    for batch in chunks(annotated, batch_size):
        ids, _ = right_padded([a.ids for a in batch], tok.pad_id)
        _, cache = model.run_with_cache(ids.to(device), names_filter=lambda n: n.endswith("hook_pattern"))
        onehot = np.zeros((len(batch), ids.shape[1], len(kinds)))
        for b, a in enumerate(batch):
            for t in range(a.prompt_len):
                onehot[b, t, kinds.index(token_kind(a, t))] = 1.0
        rows = torch.arange(len(batch))
        seps = torch.tensor([a.sep for a in batch])
        for i in range(L):
            from_sep = (
                cache[f"blocks.{i}.attn.hook_pattern"][rows, :, seps].float().cpu().numpy()
            )  # [B, H, S]
            mass[i] += np.einsum("bhs,bsk->hk", from_sep, onehot)
    mass /= len(annotated)
    return {
        "kinds": kinds,
        "heads": [f"L{i}H{h}" for i in range(L) for h in range(H)],
        "mass": mass.reshape(L * H, len(kinds)).tolist(),
        "examples": len(annotated),
        "skipped": sum(skipped.values()),
    }


def run_attention(
    ckpt: Any,
    dataset: str | Path,
    split: str,
    out: str | Path,
    *,
    example: int = 0,
    limit: int | None = 1000,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Pattern maps of example `example` (PNG per layer and head) and the per-head summary over a split."""
    out, dataset = Path(out), Path(dataset)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pairs, _ = annotated_rows(
        TokenText(ckpt.tokenizer), dataset, split, example + 1, block_size=ckpt.model.config.block_size
    )
    if len(pairs) <= example:
        raise ProbeError(f"split '{split}' has no example {example}", key="example")
    row = pairs[example][0]
    labels, patterns = attention_patterns(ckpt, row["prompt"], row["completion"])
    maps = []
    for i, pattern in enumerate(patterns):
        for h in range(pattern.shape[0]):
            name = f"attn_L{i}_H{h}.png"
            pattern_map(pattern[h], labels, out / name, title=f"layer {i}, head {h}")
            maps.append(name)
    summary = attention_by_kind(ckpt, dataset, split, limit=limit)
    kinds, heads = summary["kinds"], summary["heads"]
    matrix = np.array(summary["mass"])
    rows = [
        {"head": head, **{k: float(matrix[r, c]) for c, k in enumerate(kinds)}}
        for r, head in enumerate(heads)
    ]
    files = write_rows(out, "attention_by_kind", rows)
    heatmap(
        matrix,
        heads,
        kinds,
        out / "attention_by_kind.png",
        title=f"mean attention from <sep> to each token kind ({summary['examples']} programs)",
        vmin=0.0,
        vmax=1.0,
        xlabel="token kind (n0.d0 = ones digit of the first constant, v0 = first variable's name)",
        ylabel="head",
        colorbar="attention mass",
    )
    log(f"attention: {len(maps)} pattern maps, summary over {summary['examples']} examples")
    top = []
    for r, head in enumerate(heads):
        order = np.argsort(-matrix[r])[:3]
        top.append([head, *(f"{kinds[c]} {matrix[r, c]:.2f}" for c in order)])
    program = row["prompt"] + row["completion"]
    write_report(
        out,
        title="Attention",
        command=command,
        inputs={
            "checkpoint": ckpt.path,
            "dataset": dataset,
            "split": f"{split} (summary over {summary['examples']} examples)",
            "pattern maps of": f"example {example}: {program!r}",
            "seconds": f"{time.perf_counter() - started:.1f}",
        },
        sections=[
            (
                "Where each head looks from `<sep>` (three largest shares)",
                md_table(["head", "1st", "2nd", "3rd"], top),
            ),
            (
                "How to read it",
                "`<sep>` is the position whose output is the answer's first token. Each row of the "
                "summary sums a head's attention from there over the tokens of each kind and averages "
                "over programs (rows sum to 1). `n0.d0` is the ones digit of the first number literal, "
                "`n0.d1` its tens digit, `n1.*` the second literal's; `v0` the first variable's name "
                "(every occurrence), `v1` the second's.",
            ),
        ],
        images=["attention_by_kind.png", *maps],
        files=files,
    )
    return summary
