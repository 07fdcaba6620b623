"""Run directory: unique names across processes, atomic JSON, reading runs (and malformed files) without TensorFlow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor

import pytest
from keraslab.core import RunStoreError, discover_runs, load_run, resolve_runs
from keraslab.core.rundir.fileio import write_json_atomic
from keraslab.core.rundir.writer import RunWriter, create_run_dir


def _make(args):
    logdir, name = args
    return str(create_run_dir(logdir, name))


def test_unique_names_under_concurrent_starts(tmp_path):
    jobs = [(str(tmp_path), "mnist-cnn")] * 24
    with ProcessPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(_make, jobs))
    assert len(set(made)) == 24
    assert sorted(int(p.rsplit("-", 1)[1]) for p in made) == list(range(1, 25))


def test_names_continue_after_existing_runs(tmp_path):
    (tmp_path / "a-7").mkdir()
    assert create_run_dir(tmp_path, "a").name == "a-8"
    assert create_run_dir(tmp_path, "b").name == "b-1"


def test_atomic_json_never_leaves_temp_files(tmp_path):
    target = tmp_path / "status.json"
    for i in range(20):
        write_json_atomic(target, {"i": i, "nan": float("nan")})
    assert json.loads(target.read_text()) == {"i": 19, "nan": None}
    assert [p.name for p in tmp_path.iterdir()] == ["status.json"]


def _fake_run(logdir, name="digits-mlp", epochs=3, status="completed"):
    run_dir = create_run_dir(logdir, name)
    writer = RunWriter(run_dir)
    writer.write_config({"run": {"dataset": "digits", "model": "mlp", "epochs": epochs}, "model_info": {"params": 1234}})
    writer.start()
    for e in range(1, epochs + 1):
        writer.log_batch(e - 0.5, e * 10, {"loss": 1.0 / e})
        writer.log_epoch(e, {"loss": 1.0 / e, "accuracy": 0.5 + e / 10, "val_loss": 1.1 / e, "val_accuracy": 0.4 + e / 10})
    writer.write_results({"test": {"loss": 0.3, "accuracy": 0.77}, "best_epoch": epochs})
    if status != "running":
        writer.finish(status)
    writer.close()
    return run_dir


def test_reader_loads_config_status_metrics(tmp_path):
    run_dir = _fake_run(tmp_path)
    run = load_run(run_dir)
    assert run.status == "completed" and run.dataset == "digits" and run.model == "mlp"
    assert run.params == 1234 and run.epochs_done == 3 and len(run.batches) == 3
    assert run.best_val_accuracy == pytest.approx(0.7) and run.test_accuracy == 0.77
    assert run.duration is not None and run.duration >= 0
    assert [r.name for r in discover_runs(tmp_path)] == ["digits-mlp-1"]
    assert [r.path for r in resolve_runs(["digits-mlp-1", "digits", str(run_dir)], [tmp_path])] == [run_dir] * 3
    with pytest.raises(RunStoreError, match="no run 'nope'"):
        resolve_runs(["nope"], [tmp_path])


def test_stale_heartbeat_reads_as_interrupted(tmp_path):
    run_dir = _fake_run(tmp_path, status="running")
    assert load_run(run_dir).status == "running"
    status = json.loads((run_dir / "status.json").read_text())
    status["heartbeat"] = time.time() - 3600
    (run_dir / "status.json").write_text(json.dumps(status))
    assert load_run(run_dir).status == "interrupted"


def test_dead_local_pid_reads_as_interrupted(tmp_path):
    run_dir = _fake_run(tmp_path, status="running")
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    status = json.loads((run_dir / "status.json").read_text())
    status["pid"] = int(proc.stdout)
    (run_dir / "status.json").write_text(json.dumps(status))
    assert load_run(run_dir).status == "interrupted"


def test_damaged_files_become_warnings(tmp_path):
    run_dir = _fake_run(tmp_path)
    (run_dir / "results.json").write_text("{broken")
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write('{"type": "epoch", "epo')  # a line still being written is not damage
    run = load_run(run_dir)
    assert run.epochs_done == 3 and run.test_accuracy is None
    assert any("results.json" in w for w in run.warnings)
    assert not any("metrics.jsonl" in w for w in run.warnings)
    with open(run_dir / "metrics.jsonl", "a") as f:
        f.write('\n{"type": "epoch", "epoch": 4, "loss": 0.1}\n')  # the torn line is now damage
    run = load_run(run_dir)
    assert run.epochs_done == 4
    assert any("metrics.jsonl: 1 damaged line(s) skipped" in w for w in run.warnings)


def test_events_written_next_to_metrics_read_by_our_reader(tmp_path):
    from keraslab.core.tfevents import read_run_scalars

    run_dir = _fake_run(tmp_path)
    scalars = read_run_scalars(run_dir).scalars
    assert list(scalars["train/epoch_loss"].steps) == [0, 1, 2]
    assert list(scalars["validation/epoch_accuracy"].values) == pytest.approx([0.5, 0.6, 0.7])


def test_reading_runs_never_imports_tensorflow(tmp_path):
    run_dir = _fake_run(tmp_path)
    code = textwrap.dedent(
        f"""
        import sys
        from keraslab.core import discover_runs
        from keraslab.core.tfevents import read_run_scalars
        runs = discover_runs({str(tmp_path)!r})
        assert runs and runs[0].epochs == 3
        assert read_run_scalars({str(run_dir)!r}).scalars
        from keraslab.tui import cli
        assert cli.main(["runs", "--logdir", {str(tmp_path)!r}]) == 0
        assert cli.main(["show", "digits-mlp-1", "--logdir", {str(tmp_path)!r}]) == 0
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        assert not loaded, loaded
        print("OK")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("OK")
