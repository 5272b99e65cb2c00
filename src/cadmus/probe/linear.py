"""Linear probes with controls: is a VM-derived value linearly readable at a layer and position?

A probe is fitted on the activations of one split and scored on another:
ridge regression (R², `RidgeCV` over a grid of penalties) for a value,
logistic regression (accuracy) for a class (a digit, the sign, ...), both
after standardising each feature on the training rows. Every score comes
with its controls, which are what make it mean something:

- ``random_model``: the same probe on the activations of a randomly
  initialised model of the same shape, given the same tokens (what the
  token identities and positions alone make readable);
- ``shuffled``: the same probe fitted on shuffled training labels (what a
  probe this size reads out of noise; should sit at chance);
- ``chance``: the test accuracy of always answering the training set's most
  frequent class (R² has chance 0).

`probe_grid` runs every layer point x position group x target x feature;
`run_linear` caches what it needs, runs the grid, and writes a CSV/JSON of
the numbers, one heat map per target feature (layer x position group) and a
report.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.metrics import r2_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from cadmus.configio import validate
from cadmus.probe.activations import ActivationCache, CacheOptions, cache_activations
from cadmus.probe.base import ProbeError, random_model
from cadmus.probe.plots import heatmap
from cadmus.probe.report import md_table, write_report, write_rows
from cadmus.probe.targets import feature_values, is_classification

RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-2, 4, 7))


class LinearOptions(BaseModel):
    """Which probes to fit and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    targets: tuple[str, ...] = Field(("var0", "var1", "result", "answer"), min_length=1)
    features: tuple[str, ...] = Field(("value", "digit0", "digit1", "sign"), min_length=1)
    groups: tuple[str, ...] | None = Field(
        None,
        description="position groups: a kind (answer, answer_first, stmt_end, variable, every), "
        "optionally @LINE (stmt_end@1: the end of the second statement); None: every kind cached, "
        "stmt_end split by line",
    )
    C: float = Field(1.0, gt=0, description="inverse penalty of the logistic probes")
    max_iter: int = Field(300, ge=10)
    max_rows: int = Field(4000, ge=10, description="training rows per probe (a seeded subsample beyond)")
    min_rows: int = Field(20, ge=2, description="fewer valid rows than this: the probe is skipped")
    controls: bool = True
    seed: int = 0


def linear_options(**values: Any) -> LinearOptions:
    return validate(LinearOptions, values, ProbeError, what="the probe options")


@dataclass(frozen=True)
class ProbeScore:
    """One fitted probe's test score, with the chance level of its test labels."""

    score: float  # R² or accuracy
    metric: str  # r2 | accuracy
    chance: float
    n_train: int
    n_test: int


def fit_probe(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    classification: bool,
    C: float = 1.0,
    max_iter: int = 300,
) -> ProbeScore:
    """Fit one linear probe on (x_train, y_train) and score it on (x_test, y_test)."""
    if len(x_train) < 2 or len(x_test) < 1:
        raise ProbeError(f"too few rows to fit a probe ({len(x_train)} train, {len(x_test)} test)")
    if not classification:
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=RIDGE_ALPHAS))
        model.fit(x_train, y_train.astype(np.float64))
        pred = model.predict(x_test)
        score = float(r2_score(y_test.astype(np.float64), pred)) if len(x_test) > 1 else float("nan")
        return ProbeScore(score, "r2", 0.0, len(x_train), len(x_test))
    classes, counts = np.unique(y_train, return_counts=True)
    majority = classes[np.argmax(counts)]
    chance = float(np.mean(y_test == majority))
    if len(classes) < 2:
        return ProbeScore(chance, "accuracy", chance, len(x_train), len(x_test))
    model = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=max_iter))
    with warnings.catch_warnings():
        # `max_iter` caps the fit on purpose (shuffled labels never converge); the score is what counts
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(x_train, y_train)
    score = float(np.mean(model.predict(x_test) == y_test))
    return ProbeScore(score, "accuracy", chance, len(x_train), len(x_test))


def default_groups(cache: ActivationCache) -> list[str]:
    """Every cached position kind except `every`; `stmt_end` split by source line."""
    groups = []
    pos = cache.positions
    for kind in cache.meta["positions"]:
        if kind == "every":
            continue
        if kind == "stmt_end":
            lines = sorted(set(pos["line"][cache.select("stmt_end")].tolist()))
            groups += [f"stmt_end@{line}" for line in lines]
        else:
            groups.append(kind)
    return groups


def group_mask(cache: ActivationCache, group: str) -> np.ndarray:
    kind, _, line = group.partition("@")
    if line and not line.lstrip("-").isdigit():
        raise ProbeError(f"bad position group {group!r} (expected KIND or KIND@LINE)", key="groups")
    return cache.select(kind, int(line) if line else None)


def probe_grid(
    train: ActivationCache,
    test: ActivationCache,
    options: LinearOptions | None = None,
    *,
    random_train: ActivationCache | None = None,
    random_test: ActivationCache | None = None,
    log: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Every probe of the grid: one dict per (layer point, group, target, feature) with its controls."""
    opts = options or LinearOptions()
    for name in opts.targets:
        if name not in train.targets:
            raise ProbeError(f"unknown target {name!r} (cached: {', '.join(train.targets)})", key="targets")
    for feature in opts.features:
        feature_values(np.zeros(1, dtype=np.int64), feature)  # validates the name
    groups = list(opts.groups) if opts.groups else default_groups(test)
    rng = np.random.default_rng(opts.seed)
    results: list[dict[str, Any]] = []
    with threadpool_limits(1):
        for info in train.hook_info:
            hook = info["hook"]
            for group in groups:
                m_train, m_test = group_mask(train, group), group_mask(test, group)
                if not m_train.any() or not m_test.any():
                    continue
                xs = {"trained": (train.load(hook, m_train), test.load(hook, m_test))}
                if random_train is not None and random_test is not None:
                    xs["random"] = (random_train.load(hook, m_train), random_test.load(hook, m_test))
                for name in opts.targets:
                    v_train, ok_train = (a[m_train] for a in train.target(name))
                    v_test, ok_test = (a[m_test] for a in test.target(name))
                    if ok_train.sum() < opts.min_rows or ok_test.sum() < 2:
                        continue
                    idx = np.flatnonzero(ok_train)
                    if len(idx) > opts.max_rows:
                        idx = np.sort(rng.choice(idx, opts.max_rows, replace=False))
                    for feature in opts.features:
                        y_tr = feature_values(v_train[idx], feature)
                        y_te = feature_values(v_test[ok_test], feature)
                        cls = is_classification(feature)
                        row = {
                            "target": name,
                            "feature": feature,
                            "hook": hook,
                            "layer": info["label"],
                            "family": info["family"],
                            "depth": info["depth"],
                            "group": group,
                        }
                        fit = partial(fit_probe, classification=cls, C=opts.C, max_iter=opts.max_iter)
                        scores = {}
                        for which, (x_tr, x_te) in xs.items():
                            scores[which] = fit(x_tr[idx], y_tr, x_te[ok_test], y_te)
                        main = scores["trained"]
                        row.update(
                            metric=main.metric,
                            score=main.score,
                            random_model=scores["random"].score if "random" in scores else float("nan"),
                            chance=main.chance,
                            n_train=main.n_train,
                            n_test=main.n_test,
                        )
                        if opts.controls:
                            shuffled = rng.permutation(y_tr)
                            x_tr, x_te = xs["trained"]
                            row["shuffled"] = fit(x_tr[idx], shuffled, x_te[ok_test], y_te).score
                        else:
                            row["shuffled"] = float("nan")
                        results.append(row)
                if log is not None:
                    log(f"probes: {info['label']} {hook} @ {group} done ({len(results)} so far)")
    return results


# ---- plots ------------------------------------------------------------------------


def plot_grid(results: Sequence[dict[str, Any]], out: Path, *, family: str | None = None) -> list[str]:
    """One heat map per (target, feature): layer points (rows) x position groups (columns)."""
    images = []
    keys = list(dict.fromkeys((r["target"], r["feature"]) for r in results))
    for target, feature in keys:
        rows = [r for r in results if r["target"] == target and r["feature"] == feature]
        if family is not None:
            rows = [r for r in rows if r["family"] == family]
        if not rows:
            continue
        layers = list(dict.fromkeys((r["hook"], r["layer"]) for r in rows))
        groups = list(dict.fromkeys(r["group"] for r in rows))
        matrix = np.full((len(layers), len(groups)), np.nan)
        cells = [["" for _ in groups] for _ in layers]
        for r in rows:
            i, j = layers.index((r["hook"], r["layer"])), groups.index(r["group"])
            matrix[i, j] = r["score"]
            extra = []
            if not np.isnan(r["random_model"]):
                extra.append(f"r{r['random_model']:.2f}")
            if not np.isnan(r["shuffled"]):
                extra.append(f"s{r['shuffled']:.2f}")
            cells[i][j] = f"{r['score']:.2f}\n" + " ".join(extra)
        metric = rows[0]["metric"]
        name = f"probe_{target}_{feature}.png"
        fam = rows[0]["family"]
        heatmap(
            matrix,
            [label if fam == "resid" else f"{fam} {label}" for _, label in layers],
            groups,
            out / name,
            title=f"{target}.{feature}: {'R²' if metric == 'r2' else 'accuracy'} (r = random model, s = shuffled)",
            cells=cells,
            vmin=0.0,
            vmax=1.0,
            xlabel="position group",
            ylabel="layer",
            colorbar=metric,
        )
        images.append(name)
    return images


# ---- the whole run ------------------------------------------------------------------


def _cached(
    ckpt: Any,
    dataset: Path,
    split: str,
    out: Path,
    options: CacheOptions,
    model: Any,
    which: str,
    log: Callable[[str], None],
) -> ActivationCache:
    """A cache for (model, split), reused when one with the same options exists."""
    try:
        cache = ActivationCache(out)
        same = (
            cache.meta["options"] == options.model_dump(mode="json")
            and cache.meta["checkpoint"] == str(ckpt.path)
            and cache.meta["dataset"] == str(dataset)
            and cache.meta["model"] == which
        )
        if same:
            log(f"reusing the cache {out}")
            return cache
    except ProbeError:
        pass
    log(f"caching {which} model activations of {split} -> {out}")
    return cache_activations(ckpt, dataset, split, out, options, model=model, tag=which)


def run_linear(
    ckpt: Any,
    dataset: str | Path,
    out: str | Path,
    *,
    train_split: str = "train",
    test_split: str = "test",
    train_limit: int | None = 4000,
    test_limit: int | None = 2000,
    cache: CacheOptions | None = None,
    options: LinearOptions | None = None,
    command: str | None = None,
    log: Callable[[str], None] = print,
) -> list[dict[str, Any]]:
    """Cache (trained and random model, both splits), fit the probe grid, write numbers, plots, report."""
    out, dataset = Path(out), Path(dataset)
    opts = options or LinearOptions()
    base = cache or CacheOptions()
    started = time.perf_counter()
    control = random_model(ckpt.model, seed=opts.seed)
    caches = {}
    for which, model in (("trained", ckpt.model), ("random", control)):
        for role, split, limit in (("train", train_split, train_limit), ("test", test_split, test_limit)):
            options_here = base.model_copy(update={"limit": limit})
            caches[which, role] = _cached(
                ckpt,
                dataset,
                split,
                out / "cache" / f"{which}-{role}-{split}",
                options_here,
                model,
                which,
                log,
            )
    results = probe_grid(
        caches["trained", "train"],
        caches["trained", "test"],
        opts,
        random_train=caches["random", "train"],
        random_test=caches["random", "test"],
        log=log,
    )
    files = write_rows(out, "probes", results)
    images = plot_grid(results, out)
    seconds = time.perf_counter() - started
    write_report(
        out,
        title="Linear probes",
        command=command,
        inputs={
            "checkpoint": ckpt.path,
            "dataset": dataset,
            "trained on": f"{train_split} ({caches['trained', 'train'].n_examples} examples)",
            "scored on": f"{test_split} ({caches['trained', 'test'].n_examples} examples)",
            "hooks": ", ".join(base.hooks),
            "probes": f"{len(results)} (each also on a random-init model and on shuffled labels)",
            "seconds": f"{seconds:.1f}",
        },
        sections=[
            ("Best layer per target", _best_table(results)),
            (
                "How to read it",
                "Each cell of a heat map is the test score of one probe (R² for `value`, accuracy "
                "otherwise); `r` is the same probe on a randomly initialised model of the same shape, "
                "`s` the same probe fitted on shuffled labels. A value is *linearly readable* where the "
                "score clearly exceeds both. `stmt_end@k` is the newline ending source line k (0-based); "
                "`answer` the `<sep>` position that predicts the answer's first token.",
            ),
        ],
        images=images,
        files=files,
    )
    return results


def _best_table(results: Sequence[dict[str, Any]]) -> str:
    rows = []
    keys = list(dict.fromkeys((r["target"], r["feature"], r["group"]) for r in results))
    for target, feature, group in keys:
        mine = [r for r in results if (r["target"], r["feature"], r["group"]) == (target, feature, group)]
        best = max(mine, key=lambda r: r["score"])
        rows.append(
            (
                target,
                feature,
                group,
                best["layer"],
                best["score"],
                best["random_model"],
                best["shuffled"],
                best["chance"],
                best["metric"],
            )
        )
    return md_table(
        ["target", "feature", "group", "best layer", "score", "random model", "shuffled", "chance", "metric"],
        rows,
    )
