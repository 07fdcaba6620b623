"""Sweeps that train: locally N at a time (Ctrl+C stops them all), and as a real SLURM job array (scancel, requeue)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO, epochs_logged, run_cli

pytestmark = pytest.mark.slow

TINY = ["--model", "mlp", "--limit", "300"]
LONG = ["--model", "mlp", "--limit", "1000", "--epochs", "300"]  # long enough to be stopped mid-run


def _wait(predicate, timeout: float, what: str, poll: float = 1.0):
    """Poll until ``predicate()`` is truthy; fail (never hang) after a generous ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    pytest.fail(f"timed out waiting for {what}")


def _sweep_file(logdir: Path) -> dict:
    (path,) = (logdir / "sweeps").glob("*.json")
    return json.loads(path.read_text())


def _record(run: Path) -> dict:
    return json.loads((run / "config.json").read_text())


def _status(run: Path) -> str | None:
    try:
        return json.loads((run / "status.json").read_text()).get("status")
    except (OSError, ValueError):
        return None


def test_local_sweep_trains_every_point_and_records_its_run(logdir: Path):
    proc = run_cli("sweep", "--lr", "1e-3,3e-3", *TINY, "--epochs", "1", "--local", "2", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 queued, 0 running, 2 done, 0 failed" in proc.stdout
    sweep = _sweep_file(logdir)
    assert [p["run"] for p in sweep["points"]] == ["digits-mlp-p0-1", "digits-mlp-p1-1"]
    for point in sweep["points"]:
        run = logdir / point["run"]
        assert _status(run) == "completed"
        mark = _record(run)["run"]["sweep"]
        assert mark == {"id": sweep["id"], "point": point["index"], "values": point["values"]}
        assert "slurm" not in _record(run)
    show = run_cli("sweep", "show", "--logdir", str(logdir))
    assert "states: 2 done" in show.stdout and "best: point" in show.stdout


def test_ctrl_c_stops_a_local_sweep_cleanly(logdir: Path):
    exe = Path(sys.executable).with_name("keraslab")
    proc = subprocess.Popen([str(exe), "sweep", "--seed", "0..2", *LONG, "--local", "2", "--logdir", str(logdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        runs = [logdir / "digits-mlp-p0-1", logdir / "digits-mlp-p1-1"]
        _wait(lambda: all(epochs_logged(r) >= 1 for r in runs), 600, "two points to train an epoch")
        proc.send_signal(signal.SIGINT)  # (as a terminal's Ctrl+C reaches the foreground command)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    assert "stopping: no new points" in out and "2 stopped" in out
    assert [_status(r) for r in runs] == ["stopped", "stopped"]
    assert not (logdir / "digits-mlp-p2-1").exists()  # the queued point never started
    show = run_cli("sweep", "show", "--logdir", str(logdir))
    assert "states: 1 pending, 2 stopped" in show.stdout


# --- a real SLURM (make slurm-up) ------------------------------------------------------


def _slurm_idle() -> bool:
    if shutil.which("sinfo") is None:
        return False
    done = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30)
    return done.returncode == 0 and any(s in done.stdout for s in ("idle", "mixed", "allocated"))


@pytest.fixture(scope="module")
def slurm():
    """A SLURM cluster that takes jobs: the running one, else `make slurm-up`'s (root only)."""
    if _slurm_idle():
        return
    if os.geteuid() != 0:
        pytest.skip("no SLURM cluster here and not root: 'make slurm-up' needs root")
    done = subprocess.run([str(REPO / ".ci" / "slurm-up")], capture_output=True, text=True, timeout=900)
    if done.returncode != 0 or not _slurm_idle():
        pytest.skip(f"SLURM could not be started: {(done.stderr or done.stdout).strip()[-300:]}")


def _in_queue(job: str) -> bool:
    done = subprocess.run(["squeue", "-h", "-j", job], capture_output=True, text=True, timeout=30)
    return done.returncode == 0 and bool(done.stdout.strip())


def _submit(logdir: Path, *args: str) -> tuple[str, dict]:
    proc = run_cli("sweep", *args, "--slurm", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    sweep = _sweep_file(logdir)
    job = sweep["launcher"]["job_id"]
    assert f"submitted job array {job}" in proc.stdout
    return job, sweep


def test_slurm_array_trains_every_point_with_its_task_id(slurm, logdir: Path):
    job, sweep = _submit(logdir, "--lr", "1e-3,3e-3", "--seed", "0,1", *TINY, "--epochs", "1")
    script = (logdir / "sweeps" / sweep["id"] / "sweep.sbatch").read_text()
    assert "#SBATCH --array=0-3" in script
    _wait(lambda: not _in_queue(job), 900, f"job array {job} to finish", poll=3)
    for point in sweep["points"]:
        runs = list(logdir.glob(f"{point['name']}-*"))
        assert len(runs) == 1, runs
        assert _status(runs[0]) == "completed", (logdir / "sweeps" / sweep["id"] / "logs" / f"{point['index']}.log").read_text()
        slurm_record = _record(runs[0])["slurm"]
        assert slurm_record["array_task_id"] == str(point["index"]) and slurm_record["array_job_id"] == job
        assert slurm_record["partition"] and slurm_record["nodelist"]
    listed = run_cli("runs", "--sweep", sweep["id"], "--json", "--logdir", str(logdir))
    assert sorted(r["name"] for r in json.loads(listed.stdout)) == sorted(f"{p['name']}-1" for p in sweep["points"])
    show = run_cli("sweep", "show", sweep["id"], "--logdir", str(logdir))
    assert "states: 4 done" in show.stdout and f"SLURM job array {job}" in show.stdout


def test_scancel_leaves_a_stopped_run_and_requeue_resumes_it(slurm, logdir: Path):
    job, sweep = _submit(logdir, "--seed", "0", *LONG, "--requeue")
    run = logdir / "digits-mlp-p0-1"
    task = f"{job}_0"
    _wait(lambda: epochs_logged(run) >= 2, 600, "the task to train two epochs")
    # a preemption: SLURM stops the task (SIGTERM) and queues it again; it resumes its run
    subprocess.run(["scontrol", "requeue", task], check=True, timeout=30)
    _wait(lambda: _status(run) == "stopped", 300, "the requeued task's run to stop")
    stopped_at = epochs_logged(run)

    def started_again():  # (SLURM holds a requeued job back a while: let it start now)
        subprocess.run(["scontrol", "update", f"jobid={task}", "StartTime=now"], capture_output=True, timeout=30)
        return _record(run).get("resumed")

    (resumed,) = _wait(started_again, 600, "the requeued task to resume the run", poll=2)
    assert resumed["at_epoch"] >= 1 and resumed["slurm"]["restart_count"] == "1"
    _wait(lambda: _status(run) == "running" and epochs_logged(run) > stopped_at, 600, "the resumed run to train")
    subprocess.run(["scancel", job], check=True, timeout=30)
    _wait(lambda: not _in_queue(job), 600, f"job {job} to leave the queue", poll=2)
    assert _status(run) == "stopped"
    assert sorted(p.name for p in logdir.iterdir() if p.name != "sweeps" and not p.name.startswith(".")) == [run.name]
    show = run_cli("sweep", "show", "--logdir", str(logdir))
    assert "states: 1 stopped" in show.stdout


def test_sweep_run_trains_the_points_without_a_run(logdir: Path):
    from keraslab import core

    grid = core.make_grid(core.RunConfig(model="mlp", limit=300, epochs=1), {"seed": "0..2"})
    sweep = core.create_sweep(core.plan_sweep(logdir, grid, grid.positions(), "test"))
    first = run_cli("sweep", "run", "--local", "2", "--logdir", str(logdir))
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 points, 2 at a time" in first.stdout and "0 queued, 0 running, 3 done, 0 failed" in first.stdout
    assert all(_status(logdir / f"digits-mlp-p{i}-1") == "completed" for i in range(3))
    again = run_cli("sweep", "run", sweep.id, "--logdir", str(logdir))
    assert again.returncode == 0 and "every point has a run" in again.stdout
    assert not (logdir / "digits-mlp-p0-2").exists()


def test_sweep_stop_stops_a_local_sweep_running_in_the_background(logdir: Path):
    exe = Path(sys.executable).with_name("keraslab")
    proc = subprocess.Popen([str(exe), "sweep", "--seed", "0,1", *LONG, "--local", "2", "--logdir", str(logdir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # fmt: skip (detached, as the app starts one)
    try:
        runs = [logdir / "digits-mlp-p0-1", logdir / "digits-mlp-p1-1"]
        _wait(lambda: all(epochs_logged(r) >= 1 for r in runs), 600, "both points to train an epoch")
        stop = run_cli("sweep", "stop", "--logdir", str(logdir))
        assert stop.returncode == 0 and f"process {proc.pid}" in stop.stdout, stop.stdout + stop.stderr
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    assert [_status(r) for r in runs] == ["stopped", "stopped"]
    again = run_cli("sweep", "stop", "--logdir", str(logdir))
    assert again.returncode == 1 and "is not running" in again.stderr
