"""Stopping a run from elsewhere: its stop file, and the app's notice of runs another process trains."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import epochs_logged
from keraslab import core
from keraslab.tui import reattach
from keraslab.tui.app import KeraslabApp

KERASLAB = Path(sys.executable).with_name("keraslab")
POLLS = 6000  # loop guard (x 0.05 s), only so that a hang fails instead of blocking



@pytest.mark.slow
def test_the_stop_file_stops_a_cli_run_and_keeps_it(tmp_path):
    logdir = tmp_path / "runs"
    run = logdir / "digits-mlp-1"
    proc = subprocess.Popen(
        [str(KERASLAB), "train", "--dataset", "digits", "--model", "mlp", "--epochs", "500",
         "--logdir", str(logdir)],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for _ in range(POLLS):
            if epochs_logged(run) >= 1 or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert epochs_logged(run) >= 1, proc.communicate()
        (run / core.STOP_FILE).touch()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "stopped", (status, err)
    assert 1 <= status["epochs_done"] < 500
    assert not (run / core.STOP_FILE).exists()  # consumed: a resumed run is not stopped again
    assert (run / "results.json").is_file()


def fake_live_run(logdir: Path, name: str, pid: int) -> Path:
    run = logdir / name
    run.mkdir(parents=True)
    (run / "config.json").write_text(json.dumps({"run": {"dataset": "digits", "model": "mlp", "epochs": 20}}))
    (run / "status.json").write_text(json.dumps({
        "status": "running", "pid": pid, "host": socket.gethostname(), "heartbeat": time.time(),
        "started": "2026-01-01T00:00:00+00:00", "epochs_done": 3, "epochs": 20,
    }))  # fmt: skip
    return run


@pytest.fixture
def other_process():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def test_live_runs_elsewhere_are_those_with_a_live_process(tmp_path, other_process):
    live = fake_live_run(tmp_path, "live-1", other_process)
    fake_live_run(tmp_path, "mine-1", os.getpid())  # this process's own run: not elsewhere
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    fake_live_run(tmp_path, "dead-1", dead.pid)  # its process is gone: interrupted
    (tmp_path / "fifo-1").mkdir()
    os.mkfifo(tmp_path / "fifo-1" / "status.json")  # never blocks the scan
    found = reattach.live_runs_elsewhere(tmp_path)
    assert [r.path for r in found] == [live]
    assert found[0].pid == other_process and found[0].epochs == 20


async def test_the_app_shows_runs_training_elsewhere_and_stops_them(tmp_path, other_process):
    run = fake_live_run(tmp_path, "digits-mlp-7", other_process)
    app = KeraslabApp(logdir=tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        for _ in range(200):  # (the notice is a message of its own, handled after elsewhere is set)
            if app.elsewhere and list(app._notifications):
                break
            await pilot.pause(0.05)
        assert [r.path for r in app.elsewhere] == [run]
        messages = [n.message for n in app._notifications]
        assert any("digits-mlp-7" in m and "Stop run started elsewhere" in m for m in messages), messages
        commands = [c for c in app.get_system_commands(app.screen) if "started elsewhere" in c.title]
        assert len(commands) == 1 and "digits-mlp-7" in commands[0].title
        commands[0].callback()
        await pilot.pause()
        assert (run / core.STOP_FILE).is_file()


def test_asking_a_run_to_stop_never_hangs_on_a_fifo_in_place_of_the_stop_file(tmp_path):
    import threading

    from keraslab import core
    from keraslab.tui.reattach import LiveRun, request_stop

    run = tmp_path / "r-1"
    run.mkdir()
    os.mkfifo(run / core.STOP_FILE)
    out = []
    t = threading.Thread(target=lambda: out.append(request_stop(LiveRun(run, None, 1, 3))), daemon=True)
    t.start()
    t.join(30)  # a hang guard only
    assert out and out[0] and "cannot ask r-1 to stop" in out[0]
