"""End to end: the real `keraslab` app in tmux; send keys, read the pane like a person would."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

KERASLAB = Path(sys.executable).with_name("keraslab")
POLLS = 1200  # loop guard: 1200 x 0.25 s


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


@pytest.fixture
def pane(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (make test installs it where it can: root with apt-get)")
    if not KERASLAB.exists():
        pytest.skip(f"{KERASLAB} not found (install the package: pip install -e .)")
    name = f"keraslab-test-{uuid.uuid4().hex[:8]}"
    logdir = tmp_path / "runs"
    env = {"TF_CPP_MIN_LOG_LEVEL": "0"}  # TensorFlow may talk: none of it may reach the screen
    # (a tmux server started from pytest puts COLUMNS=80 LINES=24 in its global environment, and
    # Textual, like shutil.get_terminal_size, believes them over the pane: the app sees the pane)
    command = " ".join([
        "env", "-u", "COLUMNS", "-u", "LINES", *(f"{k}={v}" for k, v in env.items()),
        shlex.quote(str(KERASLAB)), "--logdir", shlex.quote(str(logdir)),
        "; echo keraslab-exited-$?; sleep 60",
    ])
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", "-c", os.getcwd(), command)
    try:
        yield name, logdir
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)


def capture(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name)


def wait_for(name: str, *texts: str) -> str:
    screen = ""
    for _ in range(POLLS):
        screen = capture(name)
        if all(t in screen for t in texts):
            return screen
        time.sleep(0.25)
    raise AssertionError(f"never saw {texts!r}; the pane shows:\n{screen}")


def test_launch_train_and_finish_in_tmux(pane):
    name, logdir = pane
    launch = wait_for(name, "Dataset", "Model", "Ready: digits", "t Train", "palette")
    assert "avgpool" in launch and "8x8x1" in launch
    assert "10,858 parameters" in launch
    assert "t Train" in launch  # the footer
    assert max(len(line.rstrip()) for line in launch.splitlines()) > 100  # the app fills the 120-column pane

    tmux("send-keys", "-t", name, "t")
    training = wait_for(name, "loss", "accuracy", "epoch")
    assert "digits-avgpool-1" in training

    done = wait_for(name, "completed", "test:", "best epoch")
    assert "┤" in done  # plotext axes with ticks: the curves are drawn
    assert "10 *" in done or "10 " in done  # the last epoch row
    lowered = done.lower()
    for noise in ("tensorflow", "cuda", "warning:", "i0000", "e0000", "absl", "oneDNN".lower()):
        assert noise not in lowered, f"TensorFlow output reached the screen:\n{done}"

    tmux("send-keys", "-t", name, "q")
    wait_for(name, "keraslab-exited-0")
    status = json.loads((logdir / "digits-avgpool-1" / "status.json").read_text())
    assert status["status"] == "completed"
