import json

from cadmus.eval.aggregate import Judged, aggregate, magnitude_bin, steps_bin
from cadmus.eval.report import markdown_report, plot_feature_curves, plot_training_curves, split_table


def _items():
    items = []
    for i in range(40):
        split = "test" if i < 30 else "ood_values"
        ok = i % 4 != 0 if split == "test" else i % 2 == 0
        feats = {"max_abs": 5 if i % 2 else 250, "n_statements": 2 + i % 2, "depth": 1, "steps": 10 + i}
        items.append(Judged(str(i), split, "arith", "complete", feats, (ok, not ok, ok)))
    return items


def test_bins():
    assert magnitude_bin(0) == "0-9"
    assert magnitude_bin(-57) == "10-99"
    assert magnitude_bin(1000) == "1000-9999"
    assert steps_bin(16) == "<=16"
    assert steps_bin(17) == "17-32"
    assert steps_bin(100) == "65-128"


def test_aggregate_counts_and_pass_at_k():
    summary = aggregate(_items(), ks=[1, 2, 3])
    test = summary["splits"]["test"]["all"]
    assert (test["n"], test["correct"]) == (30, 22)
    assert test["ci95"][0] < 22 / 30 < test["ci95"][1]
    # 22 prompts have 2 of 3 samples right (pass@2 = 1), 8 have 1 of 3 (pass@2 = 2/3)
    assert abs(test["pass_at"]["2"] - (22 + 8 * 2 / 3) / 30) < 1e-12
    assert summary["splits"]["test"]["max_abs"]["0-9"]["n"] == 15
    assert summary["overall"]["n"] == 40


def test_report_and_plots(tmp_path):
    summary = aggregate(_items(), ks=[2])
    plots = plot_feature_curves(summary, tmp_path)
    assert "accuracy_vs_max_abs.png" in plots
    assert all((tmp_path / p).stat().st_size > 1000 for p in plots)
    log = tmp_path / "log.jsonl"
    log.write_text("\n".join(json.dumps({"step": s, "loss": 2.0 / (s + 1)}) for s in range(20)))
    assert plot_training_curves(log, tmp_path) == ["training_curves.png"]
    text = markdown_report(summary, title="t", meta={"checkpoint": "x"}, plots=plots)
    assert "| test | 30 | 73.3% [" in text
    assert "pass@2" in split_table(summary)
