"""Quoted figures come from recorded result files, and no generated page is stale."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cadmus import figures
from cadmus.figures import FiguresError, fill, render_block, stale_pages

ROOT = Path(__file__).resolve().parents[1]


def _split(n: int, correct: int) -> dict:
    return {
        "n": n,
        "correct": correct,
        "accuracy": correct / n,
        "ci95": [correct / n - 0.01, min(1.0, correct / n + 0.01)],
    }


def _demo(sha: str = "ab" * 32, load: int = 0, correct: int = 1990) -> dict:
    return {
        "date": "2026-11-30",
        "load_processes": load,
        "machine": {"cores": 2, "threads": 1, "load_before": 0.3 + load},
        "phases_s": {"data": 30.0, "train": 600.0, "eval": 15.0, "total": 650.0},
        "val_prompts": 1000,
        "train": {"steps": 12000, "max_steps": 12000, "tokens_per_s": 15000.0, "weights_sha256": sha},
        "curve": [
            {"step": 3000, "val_loss": 0.5, "val_accuracy": 0.2},
            {"step": 8000, "val_loss": 0.01, "val_accuracy": 0.995},
            {"step": 12000, "val_loss": 0.001, "val_accuracy": 1.0},
        ],
        "splits": {"test": _split(2000, correct), "ood_names": _split(1000, 3)},
    }


@pytest.fixture
def results(tmp_path: Path) -> Path:
    (tmp_path / "demo.json").write_text(json.dumps(_demo()))
    return tmp_path


def test_summary_quotes_the_recorded_figures(results: Path) -> None:
    text = render_block("demo-summary", results)
    assert "12,000 of 12,000 steps" in text
    assert "first reached 99% at step 8,000, 67% of the budget" in text
    assert "**99.5% [98.5, 100.0]**" in text
    assert "at or below 0.3%" in text
    assert "10 min 00 s" in text


def test_curve_and_table_have_one_row_per_point_and_split(results: Path) -> None:
    curve = render_block("demo-curve", results).splitlines()
    assert len(curve) == 2 + 3 and "| 8,000 | 67% | 0.0100 | 99.5% |" in curve
    table = render_block("demo-table", results).splitlines()
    assert len(table) == 2 + 2 and table[2].startswith("| `test` | 2,000 | 1,990 |")


def test_load_block_says_whether_the_models_are_the_same(results: Path) -> None:
    (results / "demo-loaded.json").write_text(json.dumps(_demo(load=1)))
    assert "bitwise identical" in render_block("demo-load", results)
    (results / "demo-loaded.json").write_text(json.dumps(_demo(sha="cd" * 32, load=1)))
    assert "The runs differ" in render_block("demo-load", results)
    (results / "demo-loaded.json").write_text(json.dumps(_demo(load=1, correct=1989)))
    assert "The runs differ" in render_block("demo-load", results)


def test_fill_replaces_only_marked_blocks(results: Path) -> None:
    page = "intro\n<!-- figures:demo-table -->\nold figures\n<!-- /figures:demo-table -->\noutro\n"
    filled = fill(page, results)
    assert filled.startswith("intro\n<!-- figures:demo-table -->\n| split |")
    assert "old figures" not in filled and filled.endswith("<!-- /figures:demo-table -->\noutro\n")
    assert fill(filled, results) == filled


def test_unknown_block_and_missing_result_are_named(tmp_path: Path) -> None:
    with pytest.raises(FiguresError, match="unknown figures block 'nope'"):
        fill("<!-- figures:nope -->\n<!-- /figures:nope -->\n", tmp_path)
    with pytest.raises(FiguresError, match=r"no result file .*demo\.json"):
        render_block("demo-table", tmp_path)


def test_pages_quote_the_recorded_results() -> None:
    assert figures.pages(), "no pages found"
    marked = [p for p in figures.pages() if "<!-- figures:" in p.read_text(encoding="utf-8")]
    assert any(p.name == "README.md" for p in marked), "README.md quotes no recorded figures"
    assert stale_pages() == [], "stale figures: run `make docs`"


def test_training_md_is_current() -> None:
    from cadmus.train import docs

    assert (ROOT / "docs" / "training.md").read_text(encoding="utf-8") == docs.page(), (
        "docs/training.md is stale: run `make docs`"
    )
