import json
import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cadmus.cli import main as cli_main
from cadmus.train import CheckpointError, ConfigError, config_from_dict, latest_checkpoint, load_config, train
from cadmus.train.config import StopSection
from cadmus.train.data import Batcher
from cadmus.train.schedule import budget_progress, lr_multiplier

ROOT = Path(__file__).resolve().parents[1]


def make_dataset(out: Path, n_train: int = 256, n_val: int = 32, seed: int = 0) -> Path:
    """A small arith-like dataset in the cadmus.data layout (prompt/completion + metadata)."""
    rng = random.Random(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        rows: dict[str, list] = {"prompt": [], "completion": [], "family": [], "n_statements": []}
        for _ in range(n):
            a, b = rng.randint(0, 99), rng.randint(0, 99)
            op = rng.choice("+-")
            rows["prompt"].append(f"a = {a}\nb = a {op} {b}\nassert b == ")
            rows["completion"].append(str(a + b if op == "+" else a - b))
            rows["family"].append("add" if op == "+" else "sub")
            rows["n_statements"].append(2 if op == "+" else 3)
        (out / split).mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.table(rows), out / split / "shard-00000.parquet")
    return out


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("ds"))


def base_config(dataset: Path, out: Path, **extra) -> dict:
    raw = {
        "out_dir": str(out),
        "threads": 1,
        "data": {"dataset": str(dataset)},
        "model": {"preset": "tiny", "n_layer": 2, "n_embd": 64, "n_head": 4, "block_size": 32},
        "optim": {"lr": 3e-3},
        "schedule": {"warmup_steps": 2},
        "batch": {"micro": 8, "accum": 2},
        "stop": {"max_steps": 10},
        "eval": {"interval": None, "batches": 2},
        "checkpoint": {"interval": None},
        "log": {"interval": 1, "tensorboard": False, "progress": False},
    }
    for key, value in extra.items():
        section, _, name = key.partition("__")
        if name:
            raw.setdefault(section, {})[name] = value
        else:
            raw[key] = value
    return raw


def losses(run_dir: Path) -> dict[int, float]:
    out = {}
    for line in (run_dir / "log.jsonl").read_text().splitlines():
        rec = json.loads(line)
        if rec["event"] == "train":
            out[rec["step"]] = rec["loss"]
    return out


# ------------------------------------------------------------------- config


def test_config_errors_name_file_and_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  lr: 1e-3\n  wat: 1\nstop: {max_steps: 5}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: key 'optim.wat': unknown key"
    path.write_text("optim: {lr: fast}\nstop: {max_steps: 5}\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.key == "optim.lr" and str(path) in str(err.value) and "\n" not in str(err.value)
    path.write_text("stop: {max_steps: 5}\n")
    cfg = load_config(
        path, ["optim.lr=2e-3", "model.n_layer=4", "data.where.n_statements=[1, 3]", "compile=true"]
    )
    assert cfg.optim.lr == 2e-3 and cfg.model.n_layer == 4 and cfg.compile is True
    assert cfg.data.where == {"n_statements": (1, 3)}
    with pytest.raises(ConfigError) as err:
        load_config(path, ["model.n_layers=4"])
    assert err.value.key == "model.n_layers"
    with pytest.raises(ConfigError, match="stop"):
        config_from_dict({"stop": {}})
    with pytest.raises(ConfigError) as err:  # seconds are a guard, never a budget
        config_from_dict({"stop": {"max_time_s": 60}})
    assert err.value.key == "stop" and "max_steps or stop.max_tokens" in str(err.value)
    assert config_from_dict({"stop": {"max_tokens": 10, "max_time_s": 60}}).stop.max_time_s == 60
    with pytest.raises(ConfigError) as err:
        config_from_dict({"curriculum": [{"at_step": 5, "data": {"loss_on": "all"}}]})
    assert err.value.key == "curriculum.0"


def test_cli_bad_config_exits_2(tmp_path, capsys):
    path = tmp_path / "c.yaml"
    path.write_text("batch: {micro: -1}\n")
    assert cli_main(["train", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "batch.micro" in err and str(path) in err


def test_bundled_configs_validate():
    paths = sorted((ROOT / "configs" / "train").glob("*.yaml"))
    assert paths, "no bundled training configs found"
    for path in paths:
        load_config(path)


def test_schedules():
    assert lr_multiplier("cosine", 0, 0.0, 10, 0.1, 0.2) == pytest.approx(0.1)
    assert lr_multiplier("cosine", 10, 0.0, 10, 0.1, 0.2) == pytest.approx(1.0)
    assert lr_multiplier("cosine", 50, 1.0, 10, 0.1, 0.2) == pytest.approx(0.1)
    assert lr_multiplier("wsd", 50, 0.7, 10, 0.0, 0.2) == pytest.approx(1.0)
    assert lr_multiplier("wsd", 50, 0.9, 10, 0.0, 0.2) == pytest.approx(0.5)
    # decay_end: the decay is laid over the first 80% of the budget, then the lr holds at the floor
    assert lr_multiplier("cosine", 50, 0.4, 10, 0.0, 0.2, decay_end=0.8) == pytest.approx(0.5)
    assert lr_multiplier("cosine", 50, 0.8, 10, 0.05, 0.2, decay_end=0.8) == pytest.approx(0.05)
    assert lr_multiplier("cosine", 50, 0.95, 10, 0.05, 0.2, decay_end=0.8) == pytest.approx(0.05)
    assert lr_multiplier("wsd", 50, 0.72, 10, 0.0, 0.2, decay_end=0.8) == pytest.approx(0.5)


def test_progress_counts_work_not_time():
    stop = StopSection(max_steps=100, max_tokens=1000, max_time_s=1.0)
    assert budget_progress(10, 500, stop) == pytest.approx(0.5)
    assert budget_progress(80, 500, stop) == pytest.approx(0.8)
    assert budget_progress(0, 0, stop) == 0.0  # the guard's seconds never enter
    assert budget_progress(50, 10**9, StopSection(max_steps=100)) == pytest.approx(0.5)


# --------------------------------------------------------------------- data


def test_batches_rows_and_windows():
    # Two examples: <bos>=1 p p <sep>=3 c c <eos>=2 ; mask on completion + eos.
    tokens = np.array([1, 5, 6, 3, 7, 8, 2, 1, 5, 3, 9, 2], dtype=np.uint16)
    mask = np.array([0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1], dtype=np.uint8)
    offsets = np.array([0, 7, 12])

    class Split:
        pass

    split = Split()
    split.tokens, split.mask, split.offsets = tokens, mask, offsets
    rows = Batcher(split, batching="rows", block_size=16, micro=2, pad_id=0, shuffle=False)
    b = rows.micro_batch(0)
    assert b.x.tolist() == [[1, 5, 6, 3, 7, 8], [1, 5, 3, 9, 0, 0]]
    assert b.y.tolist() == [[-1, -1, -1, 7, 8, 2], [-1, -1, 9, 2, -1, -1]]
    assert b.n_loss == 5
    every = Batcher(split, batching="rows", block_size=16, micro=1, pad_id=0, shuffle=False, loss_on="all")
    assert every.micro_batch(1).y.tolist() == [[5, 3, 9, 2]]
    win = Batcher(split, batching="windows", block_size=4, micro=2, pad_id=0, shuffle=False, loss_on="all")
    assert win.n_items == 2
    w = win.micro_batch(0)
    assert w.x.tolist() == [[1, 5, 6, 3], [7, 8, 2, 1]]
    assert w.y.tolist() == [[5, 6, 3, 7], [8, 2, 1, 5]]
    # Shuffled order: a permutation per epoch, fixed by the seed.
    a = Batcher(split, batching="rows", block_size=16, micro=1, pad_id=0, seed=3)
    c = Batcher(split, batching="rows", block_size=16, micro=1, pad_id=0, seed=3)
    assert [a._item(k) for k in range(8)] == [c._item(k) for k in range(8)]
    assert sorted(a._item(k) for k in range(2)) == [0, 1]


# -------------------------------------------------------------------- train


def test_resume_gives_the_same_losses(dataset, tmp_path):
    extra = dict(model__dropout=0.1, stop__max_steps=10, checkpoint__interval=4)
    straight = train(config_from_dict(base_config(dataset, tmp_path / "a", **extra)))
    expected = losses(straight)
    assert len(expected) == 10

    class Crash(Exception):
        pass

    def crash(model, step, where=None):
        raise Crash(step)

    broken = base_config(dataset, tmp_path / "b", eval__interval=6, **extra)
    with pytest.raises(Crash):
        train(config_from_dict(broken), on_eval=crash)  # dies at step 6, last checkpoint at 4
    assert latest_checkpoint(tmp_path / "b" / "checkpoints").name == "step-00000004"
    assert max(losses(tmp_path / "b")) == 6
    broken["resume"] = True
    broken["eval"]["interval"] = None
    resumed = losses(train(config_from_dict(broken)))
    assert resumed == expected  # bitwise: same floats
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["step"] == 10 and summary["stopped_by"] == "budget"


def test_time_guard_stops_reports_and_checkpoints(dataset, tmp_path, capsys):
    raw = base_config(dataset, tmp_path / "g", stop__max_steps=100_000, stop__max_time_s=0.3)
    run = train(config_from_dict(raw))  # log.progress is off: the guard's line shows anyway
    summary = json.loads((run / "summary.json").read_text())
    step = summary["step"]
    assert summary["stopped_by"] == "time_guard" and 0 < step < 100_000
    assert summary["train_time_s"] >= 0.3
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        f"cadmus train: stopped early by the wall-clock guard stop.max_time_s=0.3 at step {step} of 100000"
    ]
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert records[-1]["event"] == "end" and records[-1]["stopped_by"] == "time_guard"
    assert max(losses(run)) == step  # the last step is logged
    assert latest_checkpoint(run / "checkpoints").name == f"step-{step:08d}"


def test_truncated_checkpoint_is_reported(dataset, tmp_path):
    raw = base_config(dataset, tmp_path / "r", stop__max_steps=2)
    train(config_from_dict(raw))
    ckpt = latest_checkpoint(tmp_path / "r" / "checkpoints")
    target = ckpt / "trainer.pt"
    target.write_bytes(target.read_bytes()[:100])
    raw["resume"] = True
    with pytest.raises(CheckpointError) as err:
        train(config_from_dict(raw))
    assert str(target) in str(err.value) and "truncated" in str(err.value)
    weights = ckpt / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    (ckpt / "manifest.json").write_text(
        json.dumps({"step": 2, "files": {"model.safetensors": {"bytes": len(data), "sha256": "0" * 64}}})
    )
    with pytest.raises(CheckpointError, match="SHA-256"):
        train(config_from_dict(raw))


def test_loss_falls_and_curriculum_switches(dataset, tmp_path):
    raw = base_config(
        dataset,
        tmp_path / "c",
        stop__max_steps=12,
        eval__interval=6,
        curriculum=[{"at_step": 6, "data": {"where": {"n_statements": [2, 2]}}}],
        log={"interval": 1, "tensorboard": True, "progress": False},
    )
    run = train(config_from_dict(raw), on_eval=lambda model, step, where: {"quick_acc": 0.5})
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    train_recs = [r for r in records if r["event"] == "train"]
    assert train_recs[-1]["loss"] < train_recs[0]["loss"]
    assert {r["stage"] for r in train_recs} == {0, 1}
    evals = [r for r in records if r["event"] == "eval"]
    assert evals and all("val_loss" in r and r["quick_acc"] == 0.5 for r in evals)
    assert all(r["tokens_per_s"] > 0 and r["mfu"] > 0 for r in train_recs)
    assert list((run / "tensorboard").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["device_hours"] > 0 and summary["cost"] == 0.0


def test_windows_batching_and_muon(dataset, tmp_path):
    raw = base_config(dataset, tmp_path / "w", stop__max_steps=3, optim={"name": "muon", "lr": 3e-3})
    raw["data"].update(batching="windows", loss_on="all")
    run = train(config_from_dict(raw))
    assert len(losses(run)) == 3


def test_torchrun_two_processes_match_one(dataset, tmp_path):
    """2 gloo processes x accum 1 follow 1 process x accum 2 (same global batch of 16);
    and the wall-clock guard of one process stops both at the same step."""
    steps = 6
    one = base_config(dataset, tmp_path / "one", stop__max_steps=steps)
    single = losses(train(config_from_dict(one)))
    two = base_config(dataset, tmp_path / "two", stop__max_steps=steps)
    two["batch"]["accum"] = 1
    # Only rank 1's guard can fire: rank 0 stops because the flag is reduced across processes.
    guarded = base_config(dataset, tmp_path / "guarded", stop__max_steps=100_000)
    guarded["guard_by_rank"] = [1000.0, 0.5]
    paths = []
    for name, raw in (("two", two), ("guarded", guarded)):
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(raw))
    script = tmp_path / "run.py"
    script.write_text(
        "import json, os, sys\n"
        "from cadmus.train import config_from_dict, train\n"
        "for path in sys.argv[1:]:\n"
        "    raw = json.load(open(path))\n"
        "    guards = raw.pop('guard_by_rank', None)\n"
        "    if guards:\n"
        "        raw['stop']['max_time_s'] = guards[int(os.environ['RANK'])]\n"
        "    train(config_from_dict(raw))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533"]
    result = subprocess.run(
        [*cmd, str(script), *map(str, paths)], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    double = losses(tmp_path / "two")
    assert sorted(double) == sorted(single) == list(range(1, steps + 1))
    worst = max(abs(double[s] - single[s]) / abs(single[s]) for s in single)
    print(f"torchrun 2 x gloo vs 1 process: max relative loss difference {worst:.2e}")
    assert worst < 1e-4
    summary = json.loads((tmp_path / "guarded" / "summary.json").read_text())
    assert summary["stopped_by"] == "time_guard" and 0 < summary["step"] < 100_000
    assert latest_checkpoint(tmp_path / "guarded" / "checkpoints").name == f"step-{summary['step']:08d}"
    assert "stopped early by the wall-clock guard" in result.stdout


# ------------------------------------------------- difficulty-driven curriculum


def scripted_eval(figures: dict[int, float], seen: list):
    """An evaluator hook that reports a given val_accuracy per step and records the filters it got."""

    def on_eval(model, step, where=None):
        seen.append((step, where))
        return {"val_accuracy": figures.get(step, 0.0)}

    return on_eval


def when_config(dataset: Path, out: Path, **extra) -> dict:
    return base_config(
        dataset,
        out,
        stop__max_steps=16,
        eval__interval=4,
        eval__at_end=False,
        data={"dataset": str(dataset), "where": {"n_statements": [2, 2]}},
        curriculum=[
            {"when": {"metric": "val_accuracy", "above": 0.9}, "data": {"where": {"n_statements": [2, 3]}}},
            {"when": {"metric": "val_accuracy", "above": 0.9}, "data": {"where": {}}},
        ],
        **extra,
    )


def test_when_stages_start_exactly_when_their_condition_holds(dataset, tmp_path):
    seen: list = []
    # step 4: 0.5 (stay); step 8: 0.95 (stage 1 from step 8); step 12: 0.91 (stage 2 from step 12)
    run = train(
        config_from_dict(when_config(dataset, tmp_path / "w")),
        on_eval=scripted_eval({8: 0.95, 12: 0.91}, seen),
    )
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    stage_of_step = {r["step"]: r["stage"] for r in records if r["event"] == "train"}
    # a train record's step counts the steps done; step index s (0-based) is record s + 1
    assert [stage_of_step[s] for s in range(1, 17)] == [0] * 8 + [1] * 4 + [2] * 4
    assert [(r["step"], r["stage"]) for r in records if r["event"] == "stage"] == [(8, 1), (12, 2)]
    # the hook was asked about the stage in force at each evaluation
    assert seen == [
        (4, {"n_statements": (2, 2)}),
        (8, {"n_statements": (2, 2)}),
        (12, {"n_statements": (2, 3)}),
        (16, {}),
    ]


def test_when_stage_never_starts_below_threshold(dataset, tmp_path):
    run = train(config_from_dict(when_config(dataset, tmp_path / "n")), on_eval=scripted_eval({8: 0.9}, []))
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {r["stage"] for r in records if r["event"] == "train"} == {0}  # 0.9 is not above 0.9


def test_when_stages_resume_in_the_stage_reached(dataset, tmp_path):
    figures = {8: 0.95, 12: 0.91}
    full = losses(
        train(config_from_dict(when_config(dataset, tmp_path / "full")), on_eval=scripted_eval(figures, []))
    )
    cut = when_config(dataset, tmp_path / "cut", checkpoint__interval=10)

    class Crash(Exception):
        pass

    def crash_after_10(model, step, where=None):
        if step > 10:
            raise Crash(step)
        return scripted_eval(figures, [])(model, step, where)

    with pytest.raises(Crash):
        train(config_from_dict(cut), on_eval=crash_after_10)  # stage 1 started at 8, checkpoint at 10
    assert latest_checkpoint(tmp_path / "cut" / "checkpoints").name == "step-00000010"
    cut["resume"] = True
    resumed = losses(train(config_from_dict(cut), on_eval=scripted_eval(figures, [])))
    assert resumed == full  # steps 1-10 from before the crash, 11-16 after the resume
    assert set(full) == set(range(1, 17))


def test_when_stage_config_errors(dataset, tmp_path):
    both = when_config(dataset, tmp_path / "e")
    both["curriculum"][0]["at_step"] = 3
    with pytest.raises(ConfigError, match="exactly one of at_step, at_fraction, when"):
        config_from_dict(both)
    order = when_config(dataset, tmp_path / "e")
    order["curriculum"].append({"at_step": 5, "data": {"where": {}}})
    with pytest.raises(ConfigError, match="list fixed-step stages first"):
        config_from_dict(order)
    bounds = when_config(dataset, tmp_path / "e")
    bounds["curriculum"][0]["when"]["below"] = 0.1
    with pytest.raises(ConfigError, match="exactly one of above, below"):
        config_from_dict(bounds)
    with pytest.raises(ConfigError, match=r"curriculum\[0\]\.when\.metric"):
        train(config_from_dict(when_config(dataset, tmp_path / "e")))  # no evaluator hook


def test_when_stage_missing_metric_names_its_curriculum_entry(dataset, tmp_path):
    from types import SimpleNamespace

    from cadmus.train.data import DataError
    from cadmus.train.sources import TrainData, stage_starts

    raw = when_config(dataset, tmp_path / "m")
    raw["curriculum"].insert(0, {"at_step": 2, "data": {"where": {"n_statements": [2, 2]}}})
    cfg = config_from_dict(raw)
    data = TrainData(SimpleNamespace(cfg=cfg), stage_starts(cfg), SimpleNamespace(world=1), block_size=64)
    data.stage = 1  # the fixed-step stage (curriculum[0]) is in force; next waits: curriculum[1]
    with pytest.raises(DataError, match=r"curriculum\[1\]\.when\.metric"):
        data.due({"event": "eval", "step": 4, "val_loss": 1.0}, 4)
    with pytest.raises(DataError, match=r"keeps no validation prompt"):
        data.due({"event": "eval", "step": 4, "val_accuracy": None, "val_prompts": 0}, 4)
    assert data.due({"event": "eval", "step": 4, "val_accuracy": 0.1}, 4) is None  # below the threshold
    assert data.stages[2].start is None  # asking changes nothing


def test_when_stage_within_starts_a_stage_the_threshold_would_starve(dataset, tmp_path):
    raw = when_config(dataset, tmp_path / "within")
    raw["curriculum"][0]["when"]["within"] = 6  # stage 0 starts at step 0: start by the evaluation at 8
    raw["curriculum"][1]["when"]["within"] = 100  # never forced within 16 steps
    run = train(config_from_dict(raw), on_eval=scripted_eval({}, []))  # accuracy never passes
    records = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [(r["step"], r["stage"]) for r in records if r["event"] == "stage"] == [(8, 1)]
    stage_of_step = {r["step"]: r["stage"] for r in records if r["event"] == "train"}
    assert [stage_of_step[s] for s in range(1, 17)] == [0] * 8 + [1] * 8
