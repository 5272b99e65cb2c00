"""The demo's pipeline end to end on a reduced size: build, train, evaluate, report, complete."""

import json
import subprocess
import sys

import pytest
import yaml

from cadmus.data import judge
from cadmus.eval import EvalError, EvalOptions, comparison_table, complete, evaluate, load_checkpoint
from cadmus.train import config_from_dict as train_config
from cadmus.train import train
from conftest import build_tiny_dataset, tiny_train_config

DATA = {
    "name": "tiny-arith",
    "seed": 3,
    "mixture": [{"family": "arith", "format": "complete", "weight": 1, "knobs": {"max_value": 9}}],
    "splits": {"train": {"size": 600}, "val": {"size": 40}, "test": {"size": 40}},
    "ood": [{"name": "ood_values", "size": 30, "knobs": {"arith": {"min_value": 100, "max_value": 999}}}],
}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    data = build_tiny_dataset(DATA, root / "data")
    cfg = tiny_train_config(root, data, steps=30, log_interval=10, evaluation={"interval": 15, "batches": 1})
    from cadmus.eval import quick_eval_hook

    run = train(cfg, on_eval=quick_eval_hook(cfg, n=16))
    out = root / "eval"
    summary = evaluate(run, data, out, EvalOptions(batch_size=64), log=lambda m: None)
    return root, data, run, out, summary


def test_evaluation_outputs(pipeline):
    _root, _data, run, out, summary = pipeline
    assert list(summary["splits"]) == ["test", "ood_values"]
    assert summary["splits"]["test"]["all"]["n"] == 40
    assert summary["splits"]["ood_values"]["all"]["n"] == 30
    lines = (out / "answers.jsonl").read_text().splitlines()
    assert len(lines) == 70
    for line in lines:
        rec = json.loads(line)
        assert len(rec["answers"]) == len(rec["ok"]) == 1
        # every recorded verdict is the judge's own verdict on that answer
        row_judge = judge(rec["format"], rec["prompt"], rec["answers"][0], None)
        assert row_judge.ok == rec["ok"][0]
    report = (out / "report.md").read_text()
    assert "| test | 40 |" in report
    assert (out / "accuracy_vs_max_abs.png").stat().st_size > 1000
    assert (out / "training_curves.png").is_file()
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert any("val_accuracy" in rec for rec in log)
    assert "| test |" in comparison_table([out, out])


def test_complete_judges_the_completed_program(pipeline):
    _, _, run, _, _ = pipeline
    ckpt = load_checkpoint(run)
    result = complete(ckpt, "a = 5\nb = a + 2\nassert b == ")
    assert result.program.startswith("a = 5\nb = a + 2\nassert b == ")
    # whatever the model wrote, the verdict is the VM's verdict on the program
    from cadmus.lang import check

    program = result.program if result.program.endswith("\n") else result.program + "\n"
    assert result.verdict.ok == check(program).ok


def test_cli_eval_report_and_errors(pipeline, tmp_path):
    root, data, run, _, _ = pipeline
    cmd = [sys.executable, "-m", "cadmus"]
    out = tmp_path / "ev"
    proc = subprocess.run(
        [*cmd, "eval", str(run), str(data), "--split", "test", "--limit", "8", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "| test | 8 |" in proc.stdout
    proc = subprocess.run([*cmd, "report", str(out), str(root / "eval")], capture_output=True, text=True)
    assert proc.returncode == 0 and "| test |" in proc.stdout
    for bad in (
        [*cmd, "eval", str(tmp_path), str(data)],
        [*cmd, "eval", str(run), str(tmp_path)],
        [*cmd, "report", str(tmp_path)],
        [*cmd, "complete", str(tmp_path), "x = 1"],
    ):
        proc = subprocess.run(bad, capture_output=True, text=True)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_sampling_needs_temperature(pipeline, tmp_path):
    _, data, run, _, _ = pipeline
    from cadmus.eval import EvalError

    with pytest.raises(EvalError, match="temperature"):
        evaluate(run, data, tmp_path, EvalOptions(samples=3))
    summary = evaluate(
        run,
        data,
        tmp_path,
        EvalOptions(splits=["test"], samples=3, temperature=1.0, limit=10, pass_ks=(1, 3)),
        log=lambda m: None,
    )
    entry = summary["splits"]["test"]["all"]
    assert set(entry["pass_at"]) == {"3"}
    assert 0.0 <= entry["pass_at"]["3"] <= 1.0


def test_yaml_not_needed_for_configs():
    # the fixture's configs are plain data, as a YAML file would give
    assert yaml.safe_load(yaml.safe_dump(DATA)) == DATA


def test_quick_eval_judges_the_prompts_the_stage_trains_on(pipeline):
    _root, data, run, _out, _summary = pipeline
    from cadmus.eval import load_checkpoint as load
    from cadmus.eval import quick_eval_hook, read_split

    rows = read_split(data, "val")
    small = [r for r in rows if r["max_abs"] <= 5]
    assert 0 < len(small) < len(rows)
    assert read_split(data, "val", where={"max_abs": (0, 5)}) == small
    cfg = train_config({"out_dir": str(run), "data": {"dataset": str(data)}, "stop": {"max_steps": 1}})
    hook = quick_eval_hook(cfg, n=1000)
    model = load(run).model
    assert hook(model, 0)["val_prompts"] == len(rows)
    assert hook(model, 0, where={"max_abs": (0, 5)})["val_prompts"] == len(small)


def test_quick_eval_also_judges_the_splits_eval_names(pipeline):
    """eval.splits adds {split}_accuracy for each named split: the share the evaluator itself scores."""
    _root, data, run, _out, _summary = pipeline
    from cadmus.eval import load_checkpoint as load
    from cadmus.eval import quick_eval_hook

    cfg = train_config(
        {
            "out_dir": str(run),
            "data": {"dataset": str(data)},
            "stop": {"max_steps": 1},
            "eval": {"splits": ["ood_values", "test"]},
        }
    )
    record = quick_eval_hook(cfg, n=1000)(load(run).model, 0)
    assert set(record) == {"val_accuracy", "val_prompts", "ood_values_accuracy", "test_accuracy"}
    summary = evaluate(run, data, run / "eval-splits", EvalOptions(batch_size=64), log=lambda m: None)
    for split in ("ood_values", "test"):
        assert record[f"{split}_accuracy"] == summary["splits"][split]["all"]["accuracy"]
    bad = train_config(
        {
            "out_dir": str(run),
            "data": {"dataset": str(data)},
            "stop": {"max_steps": 1},
            "eval": {"splits": ["nope"]},
        }
    )
    with pytest.raises(EvalError, match=r"eval\.splits: split 'nope' has no shards"):
        quick_eval_hook(bad, n=4)
