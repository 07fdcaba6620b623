"""End to end: `keraslab browse` in tmux, the metrics workspace walked with keys as a person would."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import time
import uuid

import pytest
from browse_helpers import keraslab_run
from test_app_tmux import KERASLAB, POLLS, tmux, wait_for
from test_tagmap import pytorch_run

pytestmark = pytest.mark.slow

def test_workspace_walk_in_tmux(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (make test installs it where it can: root with apt-get)")
    logdir = tmp_path / "runs"
    keraslab_run(logdir, "mnist-a", lr=1e-3, peak=0.99)
    pytorch_run(logdir / "torch-run")  # (a PyTorch-style run: its charts share the Keras names)
    name = f"keraslab-ws-{uuid.uuid4().hex[:8]}"
    command = f"env -u COLUMNS -u LINES {shlex.quote(str(KERASLAB))} browse {shlex.quote(str(logdir))}; echo keraslab-exited-$?; sleep 30"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    subprocess.run(["tmux", "new-session", "-d", "-s", name, "-x", "140", "-y", "40", command], check=True, env=env)
    try:
        wait_for(name, "mnist-a-1", "torch-run")
        tmux("send-keys", "-t", name, "Space", "Space", "w")
        screen = wait_for(name, "Workspace: 2 run(s)", "page 1/", "grid 2x2", "val_accuracy", "┤")  # charts, axes
        assert "Summary (last / best)" in screen  # the overview panel
        tmux("send-keys", "-t", name, "Right", "Right")
        screen = wait_for(name, "loss at epoch")
        assert "mnist-a-1" in screen and "torch-run" in screen  # the cursor reads both runs
        tmux("send-keys", "-t", name, "p")  # the run in the overview (the first listed) pinned on top
        wait_for(name, "pinned ", "■ * ")
        tmux("send-keys", "-t", name, "-", "-", "PageDown")
        screen = wait_for(name, "grid 1x1", "page 2/")
        tmux("send-keys", "-t", name, "o")
        for _ in range(POLLS):
            screen = tmux("capture-pane", "-p", "-t", name)
            if "Summary (last" not in screen:
                break
            time.sleep(0.25)
        assert "Summary (last" not in screen
        tmux("send-keys", "-t", name, "Escape")
        wait_for(name, "c Compare")  # back in the browser
        tmux("send-keys", "-t", name, "Escape")
        wait_for(name, "keraslab-exited-0")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", name], capture_output=True)
