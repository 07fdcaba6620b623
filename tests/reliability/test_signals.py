"""Signals to a real `keraslab train` process: SIGTERM stops (more SIGTERMs change nothing),
a second Ctrl+C aborts, and a stop while the model is built keeps the run 'stopped', untrained."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

HANG = 300  # seconds: only so that a hang fails instead of blocking the suite


def _train(logdir: Path, *args: str) -> subprocess.Popen:
    exe = Path(sys.executable).with_name("keraslab")
    return subprocess.Popen(
        [str(exe), "train", "--dataset", "digits", "--epochs", "50", "--logdir", str(logdir), *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip


def _after_an_epoch(proc: subprocess.Popen, logdir: Path) -> Path:
    """The run directory, once metrics.jsonl holds an epoch line."""
    deadline = time.monotonic() + HANG
    while time.monotonic() < deadline and proc.poll() is None:
        found = list(logdir.glob("*/metrics.jsonl"))
        if found and '"type": "epoch"' in found[0].read_text():
            return found[0].parent
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"training never reached an epoch end: {proc.communicate()[0][-2000:]}")


def _twice(proc: subprocess.Popen, sig: int) -> str:
    proc.send_signal(sig)
    time.sleep(0.1)
    proc.send_signal(sig)
    return proc.communicate(timeout=HANG)[0]


def test_two_sigterms_at_once_stop_the_run_after_evaluating(tmp_path):
    """`timeout` and schedulers signal the process and its group: the second SIGTERM is the same request."""
    proc = _train(tmp_path, "--model", "mlp")
    run = _after_an_epoch(proc, tmp_path)
    out = _twice(proc, signal.SIGTERM)
    assert proc.returncode == 130, out
    assert "status: stopped" in out and "aborted" not in out and "Traceback" not in out
    assert json.loads((run / "status.json").read_text())["status"] == "stopped"
    results = json.loads((run / "results.json").read_text())
    assert "accuracy" in results["test"]  # evaluated on the test set
    assert (run / "best_model.keras").is_file()


def test_a_second_ctrl_c_aborts_at_once_and_marks_the_run_interrupted(tmp_path):
    proc = _train(tmp_path, "--model", "mlp")
    run = _after_an_epoch(proc, tmp_path)
    out = _twice(proc, signal.SIGINT)
    assert proc.returncode == 130, out
    assert "aborted; the run is marked interrupted" in out and "Traceback" not in out
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "interrupted" and status["ended"]
    assert not (run / "results.json").exists()  # not evaluated


def test_ctrl_c_while_the_model_is_built_keeps_the_run_stopped_and_untrained(tmp_path):
    """A stop asked for while a big stack is built ends the run once building ends: not
    compiled (no model summary written), not trained, kept as 'stopped'."""
    stack = [{"type": "flatten"}, *[{"type": "dense", "units": 16, "activation": "relu"}] * 900,
             {"type": "dense", "units": 10, "activation": "softmax"}]  # fmt: skip
    model_file = tmp_path / "big.json"
    model_file.write_text(json.dumps(stack))
    logdir = tmp_path / "runs"
    proc = _train(logdir, "--model-file", str(model_file))
    seen = ""
    while "building model" not in seen:
        line = proc.stdout.readline()
        assert line, f"the run ended before building its model: {seen}"
        seen += line
    proc.send_signal(signal.SIGINT)
    out = seen + proc.communicate(timeout=HANG)[0]
    assert proc.returncode == 130, out
    assert "stopping before training begins" in out and "Traceback" not in out
    (run,) = logdir.iterdir()
    status = json.loads((run / "status.json").read_text())
    assert status["status"] == "stopped" and status["reason"] == "stopped before training began"
    assert status["epochs_done"] == 0 and not (run / "metrics.jsonl").exists()
    assert not (run / "summary.txt").exists() and not (run / "best_model.keras").exists()
