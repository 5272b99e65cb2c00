"""scripts/record_study.py turns a study's real runs (trained, evaluated) into a result file,
plots, and the tables docs quote."""

import importlib.util
import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from cadmus import figures
from cadmus.cli import main as cli_main
from cadmus.eval import EvalOptions, evaluate, quick_eval_hook
from cadmus.hf import finetune
from cadmus.train import config_from_dict, train
from conftest import build_tiny_dataset, tiny_llama, tiny_train_config

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("one_thread")


def _recorder():
    spec = importlib.util.spec_from_file_location("record_study", ROOT / "scripts" / "record_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_columns(text: str) -> None:
    """Every row of a markdown table has as many cells as its header."""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert rows and len({line.count("|") for line in rows}) == 1, text


def _run(
    root: Path, data: Path, run: Path, eval_name: str, splits: list[str], limit: int = 12, **model
) -> None:
    """A real tiny run at `run`: trained with OOD curves, then evaluated into run/eval/NAME."""
    cfg = tiny_train_config(
        root,
        data,
        steps=8,
        log_interval=4,
        evaluation={"interval": 4, "batches": 1, "splits": splits},
        model=model,
    )
    trained = train(cfg, on_eval=quick_eval_hook(cfg, n=8))
    shutil.move(trained, run)
    evaluate(run, data, run / "eval" / eval_name, EvalOptions(batch_size=64, limit=limit), log=lambda m: None)


LEVERS_DATA = {
    "name": "digits-ood-tiny",
    "seed": 5,
    "mixture": [{"family": "arith", "format": "complete", "knobs": {"max_value": 99, "n_statements_max": 2}}],
    "splits": {"train": {"size": 200}, "val": {"size": 16}, "test": {"size": 16}},
    "ood": [
        {"name": "ood_digits_3", "size": 12, "knobs": {"arith": {"min_value": 100, "max_value": 999}}},
        {"name": "ood_digits_4", "size": 12, "knobs": {"arith": {"min_value": 1000, "max_value": 9999}}},
        {"name": "ood_digits_6", "size": 12, "knobs": {"arith": {"min_value": 100000, "max_value": 999999}}},
        {
            "name": "ood_statements_3",
            "size": 12,
            "knobs": {"arith": {"n_statements_min": 3, "n_statements_max": 3}},
        },
        {
            "name": "ood_statements_4_8",
            "size": 12,
            "knobs": {"arith": {"n_statements_min": 4, "n_statements_max": 8}},
        },
    ],
}


def test_levers_study_is_recorded_from_its_runs(tmp_path):
    data = build_tiny_dataset(LEVERS_DATA, tmp_path / "data")
    runs = tmp_path / "runs"
    runs.mkdir()
    for arm, model in (("baseline", {}), ("abacus", {"abacus": True, "abacus_offset": 4})):
        _run(
            tmp_path / arm,
            data,
            runs / f"{arm}-s1",
            "digits-ood",
            ["ood_digits_3", "ood_statements_4_8"],
            **model,
        )
    out = tmp_path / "results"
    assert (
        _recorder().main(["levers", str(runs), "--results", str(out), "--plots", str(tmp_path / "plots")])
        == 0
    )
    recorded = json.loads((out / "levers-study.json").read_text())
    assert [(r["arm"], r["seed"]) for r in recorded["runs"]] == [("baseline", 1), ("abacus", 1)]
    assert len(recorded["missing"]) == 13 and "fire-s3" in recorded["missing"]
    summary = json.loads((runs / "baseline-s1" / "eval" / "digits-ood" / "summary.json").read_text())
    base = recorded["runs"][0]
    for split in ("test", "ood_digits_3", "ood_digits_6"):
        assert base["splits"][split]["correct"] == summary["splits"][split]["all"]["correct"]
    assert base["steps"] == 8 and [p["step"] for p in base["curve"]] == [4, 8]
    assert {"val_accuracy", "ood_digits_3_accuracy", "ood_statements_4_8_accuracy"} <= set(base["curve"][0])
    assert sorted(int(k) for k in base["n_statements"]) == sorted(
        {
            int(k)
            for s in ("test", "ood_statements_3", "ood_statements_4_8")
            for k in summary["splits"][s]["n_statements"]
        }
    )
    for png in recorded["plots"]:
        assert (tmp_path / "plots" / png).stat().st_size > 1000
    page = figures.levers_study(out)
    assert "| `baseline` | 1 |" in page and "| `abacus` | 1 |" in page
    assert "fire-s3" in page
    assert figures.levers_statements(out).count("\n") == 3  # header, rule, two arms
    answers = [json.loads(x) for x in (runs / "baseline-s1" / "eval" / "digits-ood" / "answers.jsonl").open()]
    test = [a for a in answers if a["split"] == "test"]
    units = sum(a["reference"].strip()[-1] == (a["answers"][0] or " ").strip()[-1:] for a in test) / len(test)
    assert base["low_digits"]["test"]["units"] == units
    assert base["low_digits"]["test"]["last_two"] <= units
    for text in (page, figures.levers_statements(out), figures.levers_low_digits(out)):
        _same_columns(text)
    assert "| `baseline` |" in figures.levers_low_digits(out)


def test_langs_study_reports_the_false_if_without_else_on_its_own(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "data" / "langs-n10.yaml").read_text())
    config["splits"] = {"train": {"size": 120}, "val": {"size": 12}, "test": {"size": 48}}
    config["ood"] = [o | {"size": 48} for o in config["ood"] if o["name"] in ("heldout_gen", "real_python")]
    data = build_tiny_dataset(config, tmp_path / "runs" / "data-n1")
    _run(tmp_path / "n1", data, tmp_path / "runs" / "n1", "langs", ["heldout_gen"], limit=48, block_size=256)
    out = tmp_path / "results"
    assert (
        _recorder().main(["langs", str(tmp_path / "runs"), "--results", str(out), "--plots", str(out)]) == 0
    )
    recorded = json.loads((out / "langs-study.json").read_text())
    assert recorded["missing"] == ["n10", "n200"]
    (run,) = recorded["runs"]
    assert set(run["splits"]) == {"test", "heldout_gen", "real_python"}
    assert set(run["splits"]["test"]["tiers"]) <= {"tier1", "tier2", "tier3"}
    # the lone case: tier 2, no else, condition false, counted from the rows themselves
    lone = {
        r["id"]
        for shard in sorted(data.glob("*/shard-*.parquet"))
        for r in pq.read_table(shard, columns=["id", "features"]).to_pylist()
        if json.loads(r["features"]).get("has_else") == 0 and json.loads(r["features"]).get("taken") == 0
    }
    answers = [json.loads(x) for x in (tmp_path / "runs" / "n1" / "eval" / "langs" / "answers.jsonl").open()]
    assert set(run["if_without_else_false"]) == {"test", "heldout_gen", "real_python"}
    for split, entry in run["if_without_else_false"].items():
        mine = [a for a in answers if a["split"] == split and a["id"] in lone]
        assert entry["n"] == len(mine) > 0
        assert entry["correct"] == sum(a["ok"][0] for a in mine)
    page = figures.langs_study(out)
    assert "| 1 | seen (test) |" in page and "Seen minus unseen" in page
    _same_columns(page)


def test_mix_study_is_recorded_per_family_and_format(tmp_path):
    config = yaml.safe_load((ROOT / "configs" / "data" / "mix-cpu.yaml").read_text())
    config["mixture"] = config["mixture"][:2]  # arith and expr, complete and output
    config["splits"] = {"train": {"size": 160}, "val": {"size": 16}, "test": {"size": 32}}
    config["ood"] = [o | {"size": 16} for o in config["ood"]]
    runs = tmp_path / "runs"
    data = build_tiny_dataset(config, runs / "data")
    _run(tmp_path / "cpu", data, runs / "cpu", "mix", ["ood_names"], limit=32)
    out = tmp_path / "results"
    assert _recorder().main(["mix", str(runs), "--results", str(out), "--plots", str(out)]) == 0
    recorded = json.loads((out / "mix-study.json").read_text())
    (run,) = recorded["runs"]
    assert set(run["splits"]) == {"test", "ood_names", "ood_renamed"}
    answers = [json.loads(x) for x in (runs / "cpu" / "eval" / "mix" / "answers.jsonl").open()]
    test = run["splits"]["test"]
    assert set(test["cells"]) == {f"{a['family']}/{a['format']}" for a in answers if a["split"] == "test"}
    for key, entry in test["cells"].items():
        mine = [a for a in answers if a["split"] == "test" and f"{a['family']}/{a['format']}" == key]
        assert entry["n"] == len(mine) and entry["correct"] == sum(a["ok"][0] for a in mine)
    assert sum(e["n"] for e in test["cells"].values()) == test["all"]["n"]
    assert {"val_accuracy", "ood_names_accuracy"} <= set(run["curve"][0])
    assert (out / "mix-cpu-curve.png").stat().st_size > 1000
    page = figures.mix_study(out)
    assert "| arith |" in page and "| expr |" in page and "| **all** |" in page
    _same_columns(page)


def test_hf_study_is_recorded_with_the_priors_of_python_rows(tmp_path):
    # The study's negdiv-python data, small; three arms on it: a tiny Cadmus model, LoRA on a tiny
    # random Llama (the fine-tuning path) and that Llama untuned through `cadmus llm eval`.
    config = yaml.safe_load((ROOT / "configs" / "data" / "negdiv-python.yaml").read_text())
    config["splits"] = {"train": {"size": 120}, "val": {"size": 8}, "test": {"size": 24}}
    config["ood"] = [o | {"size": 12} for o in config["ood"] if o["name"] == "ood_dsl"]
    runs = tmp_path / "runs"
    data = build_tiny_dataset(config, runs / "negdiv-data")
    _run(tmp_path / "tiny", data, runs / "tiny-negdiv", "study", [], limit=24, block_size=160)
    llama = tiny_llama(tmp_path / "llama", positions=256)
    lora = finetune(
        config_from_dict(
            {
                "seed": 3,
                "out_dir": str(runs / "lora-negdiv"),
                "device": "cpu",
                "threads": 1,
                "data": {"dataset": str(data)},
                "model": {"hf": str(llama), "lora": {"r": 4}},
                "batch": {"micro": 8},
                "stop": {"max_steps": 3},
                "eval": {"interval": 3, "batches": 1, "prompts": 4},
                "log": {"interval": 1, "tensorboard": False, "progress": False},
            }
        )
    )
    assert (
        cli_main(["eval", str(lora), str(data), "--limit", "24", "--out", str(lora / "eval" / "study")]) == 0
    )
    untuned = runs / "untuned-negdiv"
    assert (
        cli_main(
            [
                "llm",
                "eval",
                "--hf",
                str(llama),
                "--template",
                "raw",
                "--limit",
                "24",
                "--max-tokens",
                "6",
                str(data),
                "--out",
                str(untuned),
                "--no-cache",
            ]
        )
        == 0
    )
    out = tmp_path / "results"
    assert _recorder().main(["hf", str(runs), "--results", str(out), "--plots", str(out)]) == 0
    recorded = json.loads((out / "hf-study.json").read_text())
    assert [(r["arm"], r["data"]) for r in recorded["runs"]] == [
        ("tiny", "negdiv"),
        ("lora", "negdiv"),
        ("untuned", "negdiv"),
    ]
    assert "tiny-arith" in recorded["missing"] and "m5-negdiv" in recorded["missing"]
    for arm in recorded["runs"]:
        assert set(arm["splits"]) == {"test", "ood_dsl"}
        answers_dir = runs / f"{arm['arm']}-negdiv" / ("" if arm["arm"] == "untuned" else "eval/study")
        answers = [json.loads(x) for x in (answers_dir / "answers.jsonl").open()]
        for split, entry in arm["splits"].items():
            mine = [a for a in answers if a["split"] == split]
            assert entry["n"] == len(mine) == (24 if split == "test" else 12)
            assert entry["correct"] == sum(a["ok"][0] for a in mine)
            priors = arm["priors"][split]
            assert priors["errors"] == entry["n"] - entry["correct"]
            # every wrong answer's program is read, the Python ones through their helpers
            assert priors["analysed"] == priors["errors"]
        test = arm["priors"]["test"]
        if test["errors"] >= 4:
            assert test["priors"]["floor_division"]["applicable"] > 0
    assert recorded["runs"][0]["steps"] == 8 and recorded["runs"][1]["steps"] == 3
    assert (out / "hf-study.png").stat().st_size > 1000
    page = figures.hf_study(out)
    assert "**negdiv**" in page and "| SmolLM2-135M, untuned | 0 |" in page
    _same_columns(page)
    _same_columns(figures.hf_priors(out))


def test_record_study_refuses_a_missing_runs_directory(tmp_path, capsys):
    assert _recorder().main(["levers", str(tmp_path / "nope"), "--results", str(tmp_path)]) == 2
    assert "no runs directory" in capsys.readouterr().err
