"""`keraslab train --resume`: a stopped run goes on from its last checkpoint in its own directory."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import epochs_logged, run_cli
from keraslab.core import (
    EpochEnd,
    RunConfig,
    RunStoreError,
    TrainingSession,
    discover_runs,
    load_curves,
    load_run,
    resume_point,
)
from keraslab.core.browse.keraslab_state import KeraslabRunState
from keraslab.core.rundir.reader import current_records

pytestmark = pytest.mark.slow



def one_line_error(result) -> str:
    lines = [ln for ln in result.stderr.splitlines() if ln.startswith("keraslab")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_cli_resume_after_sigterm_finishes_the_run_in_its_own_directory(tmp_path):
    logdir = tmp_path / "runs"
    exe = Path(sys.executable).with_name("keraslab")
    cmd = [str(exe), "train", "--dataset", "digits", "--model", "mlp", "--epochs", "6",
           "--batch-size", "2", "--logdir", str(logdir)]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL)  # fmt: skip
    run_dir = logdir / "digits-mlp-1"
    try:
        for _ in range(12000):  # (a guard against a hang, not a time limit)
            if epochs_logged(run_dir) >= 2 or proc.poll() is not None:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, out
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped"
    at = status["last_checkpoint_epoch"]
    assert 2 <= at < 6 and (run_dir / "last.keras").is_file()

    result = run_cli("train", "--resume", "digits-mlp", "--logdir", str(logdir))
    assert result.returncode == 0, result.stdout + result.stderr
    assert [p.name for p in logdir.iterdir() if p.is_dir()] == ["digits-mlp-1"]  # the same run directory
    run = load_run(run_dir)
    assert run.status == "completed"
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3, 4, 5, 6]  # each epoch once
    assert not any(e.get("partial") for e in run.epochs)
    assert [r["at_epoch"] for r in run.config["resumed"]] == [at]
    assert [r["at_epoch"] for r in run.status_info["resumed"]] == [at]
    records = [json.loads(ln) for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["resumed_at_epoch"] for r in records if r.get("type") == "resume"] == [at]
    assert not (run_dir / "last.keras").exists()  # completed: nothing left to resume
    assert len(list((run_dir / "train").glob("events.out.tfevents.*"))) == 2  # appended, as TensorBoard does
    curves = load_curves(run_dir)
    assert curves.curves["val_loss"].epochs == [1, 2, 3, 4, 5, 6]
    (summary,) = discover_runs([logdir])
    assert summary.epochs == 6 and summary.metrics["loss"].count == 6

    shown = run_cli("show", "digits-mlp-1", "--logdir", str(logdir), "--no-plot")
    assert shown.returncode == 0, shown.stderr
    assert f"resumed   after epoch {at}" in shown.stdout
    assert "status    completed" in shown.stdout
    rows = {ln.split()[0]: ln.split() for ln in shown.stdout.splitlines() if ln.strip()}
    assert rows["val_loss"][-1] == "6" and rows["accuracy"][-1] == "6"  # 6 points each

    again = run_cli("train", "--resume", "digits-mlp-1", "--logdir", str(logdir))
    assert again.returncode == 1
    assert "is completed" in one_line_error(again)


def _stopped_run(logdir: Path, epochs: int = 4, stop_after: int = 2) -> Path:
    """A real run stopped by its session right after epoch ``stop_after`` (one batch into the next)."""
    session = TrainingSession(RunConfig(dataset="digits", model="mlp", epochs=epochs, batch_size=64), logdir)

    def stop(event):
        if isinstance(event, EpochEnd) and event.epoch == stop_after:
            session.stop()

    session.subscribe(stop)
    result = session.run()
    assert result.status == "stopped", result.reason
    return result.run_dir


def test_a_resumed_session_continues_the_optimizer_state(tmp_path, monkeypatch):
    import keras
    from keraslab.core.train.callbacks import SessionBridge

    seen: list[int] = []
    original = SessionBridge.on_train_begin

    def spy(self, logs=None):
        seen.append(int(self.model.optimizer.iterations.numpy()))
        return original(self, logs)

    monkeypatch.setattr(SessionBridge, "on_train_begin", spy)
    run_dir = _stopped_run(tmp_path)
    saved = keras.saving.load_model(run_dir / "last.keras", safe_mode=True)
    iterations = int(saved.optimizer.iterations.numpy())
    assert iterations == 2 * 21 + 1  # two epochs of 21 batches and one batch of the third
    point = resume_point(run_dir)
    assert point.epoch == 2 and point.config.epochs == 4

    result = TrainingSession(point.config, tmp_path, resume_from=run_dir).run()
    assert result.status == "completed", result.reason
    assert result.run_dir == run_dir and result.epochs_done == 4
    assert seen == [0, iterations]  # the resumed fit starts where the optimizer stopped
    run = load_run(run_dir)
    assert [e["epoch"] for e in run.epochs] == [1, 2, 3, 4]
    assert run.results["epochs_done"] == 4 and run.test_accuracy > 0.8


def test_resume_is_reproducible_from_the_same_checkpoint(tmp_path):
    run_dir = _stopped_run(tmp_path / "a", epochs=3)
    twin = tmp_path / "b" / run_dir.name
    shutil.copytree(run_dir, twin)
    for path in (run_dir, twin):
        point = resume_point(path)
        assert TrainingSession(point.config, path.parent, resume_from=path).run().status == "completed"
    first, second = load_run(run_dir).epochs[-1], load_run(twin).epochs[-1]
    assert first["epoch"] == second["epoch"] == 3
    assert first["loss"] == pytest.approx(second["loss"], rel=1e-5)


def test_an_interrupted_run_resumes(tmp_path):
    """A run whose process died (status 'running', its pid gone) is interrupted: it resumes."""
    run_dir = _stopped_run(tmp_path, epochs=3)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    status = json.loads((run_dir / "status.json").read_text())
    status.update(status="running", ended=None, pid=dead.pid, host=socket.gethostname(), heartbeat=time.time())
    (run_dir / "status.json").write_text(json.dumps(status))
    assert load_run(run_dir).status == "interrupted"
    point = resume_point(run_dir)
    result = TrainingSession(point.config, tmp_path, resume_from=run_dir).run()
    assert result.status == "completed", result.reason
    assert [e["epoch"] for e in load_run(run_dir).epochs] == [1, 2, 3]



def test_a_run_whose_process_lives_on_is_not_resumed_even_with_a_stale_heartbeat(tmp_path):
    """A trainer suspended (Ctrl+Z) past the heartbeat's limit reads as interrupted, but a
    resume beside it would have two processes write one run: refused while it lives."""
    run_dir = _stopped_run(tmp_path, epochs=3)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        status = json.loads((run_dir / "status.json").read_text())
        status.update(status="running", ended=None, pid=sleeper.pid, host=socket.gethostname(),
                      heartbeat=time.time() - 3600)  # fmt: skip
        (run_dir / "status.json").write_text(json.dumps(status))
        assert load_run(run_dir).status == "interrupted"
        with pytest.raises(RunStoreError, match=f"its process {sleeper.pid} is still alive"):
            resume_point(run_dir)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_resume_whose_bookkeeping_fails_leaves_the_run_resumable(tmp_path, monkeypatch):
    from keraslab.core.rundir.writer import RunWriter

    run_dir = _stopped_run(tmp_path, epochs=3)

    def full(self, epoch):
        raise RunStoreError(f"cannot write {self.run_dir}/metrics.jsonl: No space left on device")

    monkeypatch.setattr(RunWriter, "log_resume", full)
    session = TrainingSession(resume_point(run_dir).config, tmp_path, resume_from=run_dir)
    with pytest.raises(RunStoreError, match="No space left"):
        session.start()
    assert load_run(run_dir).status == "stopped"  # not left "running" by a live process
    assert "resume failed" in load_run(run_dir).status_info["reason"]
    monkeypatch.undo()
    resume_point(run_dir)  # and it can still resume

def _crafted_run(logdir: Path, status: str = "stopped", checkpoint: bytes | None = b"not a keras file") -> Path:
    run_dir = logdir / "crafted-1"
    run_dir.mkdir(parents=True)
    config = RunConfig(dataset="digits", model="mlp", epochs=3).to_dict()
    (run_dir / "config.json").write_text(json.dumps({"run": config}))
    (run_dir / "status.json").write_text(json.dumps({
        "status": status, "heartbeat": time.time(), "pid": os.getpid(), "host": socket.gethostname(),
        "last_checkpoint_epoch": 1,
    }))  # fmt: skip
    (run_dir / "metrics.jsonl").write_text('{"type": "epoch", "epoch": 1, "loss": 1.0}\n')
    if checkpoint is not None:
        (run_dir / "last.keras").write_bytes(checkpoint)
    return run_dir


def test_a_last_checkpoint_that_is_not_a_keras_file_is_refused_in_one_line(tmp_path):
    run_dir = _crafted_run(tmp_path)
    before = (run_dir / "status.json").read_bytes()
    result = run_cli("train", "--resume", str(run_dir))
    assert result.returncode == 1
    assert "last.keras is not a Keras model file" in one_line_error(result)
    assert (run_dir / "status.json").read_bytes() == before  # nothing was touched


def test_a_checkpoint_keras_safe_mode_refuses_fails_the_run_in_one_line_unexecuted(tmp_path, monkeypatch):
    """A last.keras holding a Python lambda (code): Keras' safe mode refuses it, nothing runs."""
    import keras

    run_dir = _crafted_run(tmp_path, checkpoint=None)
    monkeypatch.setenv("KERASLAB_TEST_MARKER", str(tmp_path / "built"))
    inputs = keras.Input((8, 8))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Lambda(lambda v: (open(__import__("os").environ["KERASLAB_TEST_MARKER"], "a").close(), v)[1])(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.save(run_dir / "last.keras")
    assert (tmp_path / "built").exists()  # (the lambda does run where it is called)
    marker = tmp_path / "executed"
    result = run_cli("train", "--resume", str(run_dir), env={"KERASLAB_TEST_MARKER": str(marker)})
    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    status = [ln for ln in result.stdout.splitlines() if ln.startswith("status:")]
    assert len(status) == 1 and "last.keras: cannot load" in status[0] and "Lambda" in status[0]
    assert not marker.exists()


@pytest.mark.parametrize("status", ["running", "completed", "failed"])
def test_only_stopped_or_interrupted_runs_resume(tmp_path, status):
    _crafted_run(tmp_path, status=status)
    result = run_cli("train", "--resume", "crafted-1", "--logdir", str(tmp_path))
    assert result.returncode == 1
    assert f"is {status}: only a stopped or interrupted run can be resumed" in one_line_error(result)


def test_a_tensorboard_run_is_refused_and_other_options_are_refused(tmp_path):
    from keraslab.core.tfevents import EventWriter

    writer = EventWriter(tmp_path / "tb-1" / "train")
    writer.add_scalar("epoch_loss", 1.0, 0)
    writer.close()
    result = run_cli("train", "--resume", "tb-1", "--logdir", str(tmp_path))
    assert result.returncode == 1
    assert "tensorboard run: only keraslab runs can be resumed" in one_line_error(result)

    _crafted_run(tmp_path)
    result = run_cli("train", "--resume", "crafted-1", "--epochs", "9", "--logdir", str(tmp_path))
    assert result.returncode == 2 and "drop --epochs" in result.stderr


def test_readers_take_the_records_after_a_resume_over_those_it_superseded(tmp_path):
    lines = [
        {"type": "epoch", "epoch": 1, "loss": 3.0},
        {"type": "epoch", "epoch": 2, "loss": 2.0},
        {"type": "batch", "epoch": 2.5, "step": 50, "loss": 9.0},
        {"type": "epoch", "epoch": 3, "loss": 0.5, "partial": True},
        {"type": "resume", "resumed_at_epoch": 2, "time": 1.0},
        {"type": "epoch", "epoch": 3, "loss": 1.5},
    ]
    assert [r.get("loss") for r in current_records(lines)] == [3.0, 2.0, None, 1.5]
    run_dir = _crafted_run(tmp_path, checkpoint=None)
    metrics = run_dir / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(r) + "\n" for r in lines[:4]))
    state = KeraslabRunState(run_dir, run_dir.name, tmp_path)
    state.refresh()
    assert state.summary().metrics["loss"].min == 0.5  # (before the resume: the lost epoch counts)
    with metrics.open("a") as f:  # the resume appends: the state read so far is superseded
        f.write("".join(json.dumps(r) + "\n" for r in lines[4:]))
    os.utime(metrics, (time.time() + 5, time.time() + 5))
    state.refresh()
    summary = state.summary()
    assert summary.epochs == 3 and summary.metrics["loss"].count == 3
    assert summary.metrics["loss"].min == 1.5 and summary.metrics["loss"].last == 1.5
    assert [e["loss"] for e in load_run(run_dir).epochs] == [3.0, 2.0, 1.5]
    curves = load_curves(run_dir).curves
    assert curves["loss"].values == [3.0, 2.0, 1.5] and "batch/loss" not in curves


async def test_the_run_detail_offers_resume_for_a_stopped_run_and_queues_it(tmp_path):
    from keraslab.tui.app import KeraslabApp
    from keraslab.tui.screens.run_detail import RunDetailScreen
    from keraslab.tui.widgets.footer import KeyFooter

    run_dir = _stopped_run(tmp_path, epochs=3)
    app = KeraslabApp(logdir=tmp_path, progress_interval=0.0)

    async def until(condition, what: str) -> None:
        for _ in range(3000):  # (a guard against a hang, not a time limit)
            if condition():
                return
            await pilot.pause(0.1)
        raise AssertionError(f"gave up waiting for: {what}")

    def footer() -> str:
        found = app.screen.query(KeyFooter)
        return found.first().render().plain if found else ""

    async with app.run_test(size=(140, 36)) as pilot:
        app.action_runs(str(run_dir))
        await until(lambda: isinstance(app.screen, RunDetailScreen), "the run detail")
        detail = app.screen
        await until(lambda: "u Resume" in footer(), "Resume in the footer")
        await pilot.press("u")
        await until(lambda: app.runs, "the resume to be queued")
        (state,) = app.runs
        assert state.resume_from == run_dir
        await until(lambda: state.run_dir is not None, "the resume to start")
        assert load_run(run_dir).config["resumed"][-1]["command"].startswith("keraslab train --resume ")
        await until(lambda: state.finished is not None, "the resumed run to finish")
        assert state.finished.status == "completed", state.finished.reason
        assert state.run_dir == run_dir
        assert [e["epoch"] for e in load_run(run_dir).epochs] == [1, 2, 3]
        await until(lambda: detail.run.status == "completed", "the detail to follow the run")
        assert detail.check_action("resume", ()) is False
