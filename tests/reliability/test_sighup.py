"""A dropped connection never loses a run: the real app in tmux, its session killed (SIGHUP)
mid-epoch; the run in progress and the queued runs finish headless, then the process exits."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import epochs_logged

pytestmark = pytest.mark.slow

KERASLAB = Path(sys.executable).with_name("keraslab")
POLLS = 1200  # loop guard (x 0.05-0.25 s), only so that a hang fails instead of blocking
RUNS = ("digits-avgpool-1", "digits-avgpool-2", "digits-avgpool-3")


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def wait_for_screen(name: str, *texts: str) -> str:
    screen = ""
    for _ in range(POLLS):
        screen = tmux("capture-pane", "-p", "-t", name)
        if all(t in screen for t in texts):
            return screen
        time.sleep(0.25)
    raise AssertionError(f"never saw {texts!r}; the pane shows:\n{screen}")


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}



def process_gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie that tmux or init has yet to reap counts)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


@pytest.fixture
def session(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (.ci/run installs it)")
    if not KERASLAB.exists():
        pytest.skip(f"{KERASLAB} not found (install the package: pip install -e .)")
    name = f"keraslab-hup-{uuid.uuid4().hex[:8]}"
    logdir = tmp_path / "runs"
    # exec: the app is the pane's only process, as under an SSH session's shell
    command = f"exec env TF_CPP_MIN_LOG_LEVEL=0 {shlex.quote(str(KERASLAB))} --logdir {shlex.quote(str(logdir))}"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c", os.getcwd(), command)
    try:
        yield name, logdir
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def hang_up_mid_run(name: str, logdir: Path) -> tuple[Path, int]:
    """Train one run and queue two more in the app, then kill its tmux session (SIGHUP) while
    a run is mid-training; returns that run's directory and the app's pid."""
    wait_for_screen(name, "Ready: digits", "t Train")
    # train; back to the launch screen; queue two more
    for key in ("t", "Escape", "t", "t"):
        tmux("send-keys", "-t", name, key)
        time.sleep(0.5)

    victim = None
    for _ in range(POLLS * 5):
        for run in RUNS:
            status = read_json(logdir / run / "status.json")
            if status.get("status") == "running" and 1 <= epochs_logged(logdir / run) < 10:
                victim = logdir / run, status["pid"]
                break
        if victim is not None:
            break
        time.sleep(0.05)
    assert victim is not None, "no run was caught mid-training"
    tmux("kill-session", "-t", name)  # the terminal goes away: SIGHUP
    return victim


def wait_gone(pid: int) -> None:
    for _ in range(POLLS):
        if process_gone(pid):
            return
        time.sleep(0.25)
    raise AssertionError(f"the app (pid {pid}) never exited")


def test_a_killed_terminal_leaves_the_runs_training_to_the_end(session):
    name, logdir = session
    run_dir, pid = hang_up_mid_run(name, logdir)
    wait_gone(pid)

    for run in RUNS:  # the run hung up on, and the queued ones behind it
        status = read_json(logdir / run / "status.json")
        assert status.get("status") == "completed", (run, status)
        assert status.get("epochs_done") == 10, (run, status)
        assert (logdir / run / "results.json").is_file(), run
    log = (logdir / ".keraslab-stderr.log").read_text()
    assert "the terminal hung up (SIGHUP); training goes on without a screen" in log
    assert "no run left to train; exiting" in log
    assert f"{run_dir.name}: completed" in log


def test_sigterm_stops_a_headless_app_and_drops_its_queue(session):
    name, logdir = session
    run_dir, pid = hang_up_mid_run(name, logdir)
    for _ in range(POLLS):  # headless now (SIGINT, a terminal's signal, is ignored)
        if "training goes on without a screen" in (logdir / ".keraslab-stderr.log").read_text():
            break
        time.sleep(0.05)
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    wait_gone(pid)
    status = read_json(run_dir / "status.json")
    assert status.get("status") in ("stopped", "completed"), status  # (it may end first)
    started = [run for run in RUNS if (logdir / run).exists()]
    assert started[-1] == run_dir.name  # nothing started after it: the queue was dropped
    assert "SIGTERM: stopping the run in progress, the queue dropped" in (
        logdir / ".keraslab-stderr.log").read_text()
