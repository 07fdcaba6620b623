"""The metrics tally status.json carries: the stats discovery would compute from metrics.jsonl, so a scan can skip the file."""

from __future__ import annotations

import json
import os
import random
import shutil

import numpy as np
import pytest
from keraslab.core.browse.keraslab_state import KeraslabRunState
from keraslab.core.rundir.layout import METRICS_FILE, STATUS_FILE
from keraslab.core.rundir.metricstats import MetricsTally, MetricStats, add_epoch_records
from keraslab.core.rundir.writer import RunWriter


def _odd_value(rng: random.Random):
    return rng.choice(
        [rng.uniform(-1, 3), rng.randint(0, 5), np.float64(rng.random()), np.float32(0.1 * rng.randint(0, 9)),
         np.int64(7), float("nan"), float("inf"), None, True]
    )  # fmt: skip


def _write_run(run, rng: random.Random, epochs: int) -> None:
    run.mkdir()
    w = RunWriter(run)
    w.write_config({"run": {"dataset": "digits", "epochs": epochs}})
    w.start(epochs=epochs)
    for e in range(1, epochs + 1):
        if rng.random() < 0.5:
            w.log_batch(e - 0.5, e * 10, {"loss": rng.random(), "accuracy": _odd_value(rng)})
        logs = {k: _odd_value(rng) for k in ("loss", "accuracy", "val_loss", "val_accuracy") if rng.random() < 0.9}
        w.log_epoch(e, logs, wall_time=1000.0 + e, partial=e == epochs and rng.random() < 0.3)
        if rng.random() < 0.5:
            w.update_status(epochs_done=e)
    w.finish("completed")
    w.close()


def _read(run):
    state = KeraslabRunState(run, run.name, run.parent)
    state.refresh()
    return state


def _stats(state):
    return {k: vars(v) for k, v in state.stats.items()}


def _without_tally(run, to):
    shutil.copytree(run, to)
    status = json.loads((to / STATUS_FILE).read_text())
    del status["metrics_summary"]
    (to / STATUS_FILE).write_text(json.dumps(status))
    return to


def test_the_tally_in_status_json_gives_the_stats_reading_metrics_jsonl_gives(tmp_path):
    """Epoch values of every kind the writer is given (numpy scalars, ints, NaN, inf, None,
    bools), batch lines between, a partial last epoch: the stats taken from the tally
    without reading metrics.jsonl are those of reading it."""
    rng = random.Random(11)
    for trial in range(30):
        run = tmp_path / f"run{trial}"
        _write_run(run, rng, rng.randint(1, 12))
        status = json.loads((run / STATUS_FILE).read_text())
        assert status["metrics_summary"]["bytes"] == (run / METRICS_FILE).stat().st_size
        tallied = _read(run)
        read = _read(_without_tally(run, tmp_path / f"copy{trial}"))
        metrics_size = (run / METRICS_FILE).stat().st_size
        json_files = sum(p.stat().st_size for p in run.glob("*.json"))
        assert tallied.bytes_read == json_files  # metrics.jsonl was not read
        assert read.bytes_read == sum(p.stat().st_size for p in read.path.glob("*.json")) + metrics_size
        assert _stats(tallied) == _stats(read) and tallied.stats, trial
        assert tallied.epochs == read.epochs
        assert tallied.metrics_offset == read.metrics_offset == metrics_size
        assert "metrics_summary" not in tallied.to_cache()["status"]  # (the cache keeps the stats only)
        assert tallied.summary().best_val_accuracy == read.summary().best_val_accuracy


def test_a_tally_that_does_not_cover_the_file_is_not_taken(tmp_path):
    rng = random.Random(2)
    run = tmp_path / "run"
    _write_run(run, rng, 5)
    with open(run / METRICS_FILE, "a") as f:  # another process appended an epoch
        f.write(json.dumps({"type": "epoch", "epoch": 6, "time": 2000.0, "loss": 0.01}) + "\n")
    state = _read(run)
    assert state.epochs == 6 and state.stats["loss"].last == 0.01 and state.stats["loss"].min == 0.01


@pytest.mark.parametrize(
    "damage",
    [
        {"bytes": "10610"},
        {"epochs": -1},
        {"stats": {"loss": {"first": "0.5"}}},
        {"stats": {"loss": {"median": 0.5}}},
        {"stats": {"loss": {"count": 2.5}}},
        {"stats": ["loss"]},
    ],
)
def test_a_damaged_tally_is_passed_over_for_the_file(tmp_path, damage):
    run = tmp_path / "run"
    _write_run(run, random.Random(4), 6)
    expect = _stats(_read(_without_tally(run, tmp_path / "copy")))
    status = json.loads((run / STATUS_FILE).read_text())
    tally = status["metrics_summary"]
    for key, value in damage.items():
        if key == "stats" and isinstance(value, dict):
            tally["stats"] = {k: {**tally["stats"][k], **v} for k, v in value.items()}
        else:
            tally[key] = value
    (run / STATUS_FILE).write_text(json.dumps(status))
    with pytest.raises(ValueError):
        MetricsTally.from_json(tally)
    state = _read(run)
    assert _stats(state) == expect and not state.warnings


def test_a_run_taken_from_its_tally_is_followed_from_the_end_of_the_file(tmp_path):
    run = tmp_path / "run"
    _write_run(run, random.Random(8), 4)
    state = _read(run)
    assert state.bytes_read == sum(p.stat().st_size for p in run.glob("*.json"))  # (the tally was taken)
    with open(run / METRICS_FILE, "a") as f:
        f.write(json.dumps({"type": "epoch", "epoch": 5, "time": 3000.0, "loss": -5.0, "new": 1}) + "\n")
    os.utime(run / METRICS_FILE, ns=(1, 1))
    assert state.refresh()
    read = _read(_without_tally(run, tmp_path / "copy"))
    assert _stats(state) == _stats(read) and state.stats["loss"].min == -5.0 and state.epochs == 5


def test_a_metrics_file_the_writer_did_not_start_is_not_tallied(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / METRICS_FILE).write_text(json.dumps({"type": "epoch", "epoch": 1, "loss": 9.0}) + "\n")
    w = RunWriter(run)
    w.start(epochs=2)
    w.log_epoch(2, {"loss": 1.0})
    w.finish("completed")
    w.close()
    assert "metrics_summary" not in json.loads((run / STATUS_FILE).read_text())
    state = _read(run)
    assert state.stats["loss"].max == 9.0 and state.epochs == 2


def test_epoch_records_fold_into_the_stats_adding_each_point_gives():
    rng = random.Random(3)
    for _ in range(200):
        records, expect, epochs = [], {}, 0
        for e in range(rng.randint(0, 8)):
            rec = {"type": rng.choice(["epoch", "epoch", "batch"]), "epoch": e + 1, "time": 10.0 + e}
            if rng.random() < 0.2:
                del rec["epoch"]
            for key in rng.sample(["loss", "acc", "lr"], rng.randint(0, 3)):
                rec[key] = rng.choice([rng.random(), rng.randint(0, 3), None, False, "x", float("nan")])
            records.append(rec)
            if rec["type"] == "epoch":
                epochs += 1
                for key, v in rec.items():
                    if key not in ("type", "epoch", "time") and type(v) in (int, float):
                        expect.setdefault(key, MetricStats()).add(rec.get("epoch", 3 + epochs), 10.0 + e, v)
        stats: dict[str, MetricStats] = {}
        assert add_epoch_records(stats, records, 3) == epochs
        assert {k: vars(v) for k, v in stats.items()} == {k: vars(v) for k, v in expect.items()}
