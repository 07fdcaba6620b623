"""Training sessions on real data: train, stop mid-way, NaN handling, checkpoint and results."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from keraslab.core import (
    BatchProgress,
    EpochEnd,
    Finished,
    RunConfig,
    SessionHooks,
    Started,
    TrainingSession,
    load_dataset,
    load_run,
)


def test_train_digits_end_to_end(logdir, recwarn):
    config = RunConfig(dataset="digits", model="mlp", epochs=4, batch_size=64, learning_rate=3e-3)
    session = TrainingSession(config, logdir, progress_interval=0.0)
    result = session.run()
    events = session.poll()
    shown = [str(w.message) for w in recwarn if issubclass(w.category, UserWarning)]
    assert shown == []  # (Python shows these on a terminal; Keras warned of an ignored shuffle)
    assert result.status == "completed", result.reason
    assert [e.epoch for e in events if isinstance(e, EpochEnd)] == [1, 2, 3, 4]
    assert any(isinstance(e, Started) for e in events)
    assert any(isinstance(e, BatchProgress) and 0 < e.position < 1 for e in events)
    assert isinstance(events[-1], Finished)
    assert result.test["accuracy"] > 0.85

    run = load_run(result.run_dir)
    assert run.status == "completed" and run.epochs_done == 4
    assert run.config["model_info"]["params"] == run.params > 0
    assert run.test_accuracy == pytest.approx(result.test["accuracy"])
    for name in ("config.json", "status.json", "metrics.jsonl", "summary.txt", "best_model.keras", "results.json", "test_predictions.npz"):
        assert (result.run_dir / name).is_file(), name
    assert "## Reproduce" in run.summary_text and "keraslab train" in run.summary_text
    assert list(result.run_dir.glob("train/events.out.tfevents.*"))
    assert list(result.run_dir.glob("validation/events.out.tfevents.*"))

    # the checkpoint accepts raw images (normalization lives inside the model)
    import keras

    model = keras.saving.load_model(result.run_dir / "best_model.keras", safe_mode=True)
    data = load_dataset("digits")
    acc = float((model.predict(data.x_test, verbose=0).argmax(-1) == data.y_test).mean())
    assert acc == pytest.approx(result.test["accuracy"], abs=1e-6)
    preds = np.load(result.run_dir / "test_predictions.npz")
    assert float((preds["y_pred"] == preds["y_true"]).mean()) == pytest.approx(acc, abs=1e-6)


def test_hooks_run_in_the_training_thread_in_order_and_the_run_ends_after_on_finished(logdir):
    """An application applies its policy through SessionHooks: the worker's start, the model
    built, the first epoch's end (once), and the run's end before Finished is published."""
    import threading

    calls: list[tuple[str, bool]] = []

    def hook(name):
        return lambda: calls.append((name, threading.current_thread() is not threading.main_thread()))

    events: list[str] = []
    hooks = SessionHooks(on_worker_start=hook("start"), on_model_ready=hook("model"),
                         on_first_epoch_end=hook("epoch1"), on_finished=hook("finished"))  # fmt: skip
    config = RunConfig(dataset="digits", model="mlp", epochs=3, batch_size=64)
    session = TrainingSession(config, logdir, progress_interval=0.0, hooks=hooks)

    def listener(event):
        if isinstance(event, (EpochEnd, Finished)):
            events.append(type(event).__name__)
            calls.append((type(event).__name__, True))

    session.subscribe(listener)
    result = session.run()
    assert result.status == "completed", result.reason
    assert [name for name, _ in calls] == ["start", "model", "EpochEnd", "epoch1", "EpochEnd", "EpochEnd",
                                           "finished", "Finished"]  # fmt: skip
    assert all(in_worker for _, in_worker in calls)


def test_an_abort_after_the_runs_end_is_written_leaves_its_status(logdir):
    """A second Ctrl+C while the finished run's on_finished hook runs must not mark it interrupted."""
    aborted = []

    def abort_in_on_finished():
        aborted.append(session.done)
        session.abort("the process is exiting")

    config = RunConfig(dataset="digits", model="mlp", epochs=1, batch_size=128)
    session = TrainingSession(config, logdir, progress_interval=0.0,
                              hooks=SessionHooks(on_finished=abort_in_on_finished))  # fmt: skip
    result = session.run()
    assert aborted == [False] and result.status == "completed"
    assert load_run(result.run_dir).status == "completed"


def test_the_same_seed_trains_the_same_run(logdir):
    """The Reproduce command in a run's summary relies on it: same config, same curves."""
    config = RunConfig(dataset="digits", model="mlp", epochs=2, batch_size=64, seed=3)
    histories = []
    for _ in range(2):
        session = TrainingSession(config, logdir, progress_interval=0.0)
        assert session.run().status == "completed"
        histories.append([e.logs for e in session.poll() if isinstance(e, EpochEnd)])
    assert len(histories[0]) == 2 and histories[0] == histories[1]
    other = TrainingSession(RunConfig(dataset="digits", model="mlp", epochs=2, batch_size=64, seed=4), logdir)
    assert other.run().status == "completed"
    assert [e.logs for e in other.poll() if isinstance(e, EpochEnd)] != histories[0]


def test_stop_mid_training_keeps_what_was_learned(logdir):
    config = RunConfig(dataset="digits", model="mlp", epochs=200, batch_size=16)
    session = TrainingSession(config, logdir, progress_interval=0.0)

    def stop_in_second_epoch(event):
        if isinstance(event, BatchProgress) and event.epoch == 1 and event.batch >= 3:
            session.stop()

    session.subscribe(stop_in_second_epoch)
    result = session.run()
    assert result.status == "stopped"
    assert result.epochs_done == 2  # epoch 1 complete, epoch 2 cut short
    status = json.loads((result.run_dir / "status.json").read_text())
    assert status["status"] == "stopped" and status["ended"]
    lines = [json.loads(text) for text in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    epochs = [rec for rec in lines if rec["type"] == "epoch"]
    assert len(epochs) == 2 and epochs[-1].get("partial") is True
    assert (result.run_dir / "best_model.keras").is_file()
    assert "accuracy" in result.test


def test_nan_loss_fails_the_run_with_reason(tmp_path, logdir):
    path = tmp_path / "broken.npz"
    # finite inputs (NaN ones are refused at load) whose activations overflow: NaN loss on any backend
    x = np.full((64, 4, 4), 3e38, dtype=np.float32)
    np.savez(path, x_train=x, y_train=np.arange(64) % 2, x_test=x[:8], y_test=np.arange(8) % 2)
    config = RunConfig(dataset=str(path), model="mlp", epochs=5, batch_size=16, normalization="none")
    result = TrainingSession(config, logdir, progress_interval=0.0).run()
    assert result.status == "failed"
    assert "loss became nan" in result.reason or "loss became inf" in result.reason
    assert load_run(result.run_dir).status == "failed"


def test_bad_dataset_fails_cleanly(logdir, empty_keras_home):
    config = RunConfig(dataset="fashion_mnist", model="mlp", epochs=1)
    import os

    os.environ["KERASLAB_OFFLINE"] = "1"
    try:
        result = TrainingSession(config, logdir).run()
    finally:
        del os.environ["KERASLAB_OFFLINE"]
    assert result.status == "failed" and "not available offline" in result.reason
    assert load_run(result.run_dir).status_info["reason"] == result.reason


def test_give_way_pauses_training_at_a_batch_end_until_released(logdir):
    import threading
    import time

    config = RunConfig(dataset="digits", model="mlp", epochs=2, batch_size=32)
    session = TrainingSession(config, logdir, progress_interval=0.0)
    batches = []
    asked = threading.Event()

    def listener(event):
        if isinstance(event, BatchProgress):
            batches.append(event)
            if len(batches) == 3:
                session.give_way(session.MAX_GIVE_WAY * 100)  # capped at MAX_GIVE_WAY
                session._way_until += 3600  # (for this test: a pause only give_way(0) ends)
                asked.set()

    session.subscribe(listener)
    session.start()
    assert asked.wait(120)
    time.sleep(0.3)  # the next batch end is reached and waits there
    held = len(batches)
    time.sleep(0.5)
    assert len(batches) == held <= 4  # no batch finished while it gave way
    session.give_way(0)
    result = session.wait(300)
    assert result is not None and result.status == "completed"
    assert len(batches) > held and batches[-1].epoch == 1


def test_stop_ends_a_pause_for_give_way(logdir):
    import threading

    config = RunConfig(dataset="digits", model="mlp", epochs=50, batch_size=32)
    session = TrainingSession(config, logdir, progress_interval=0.0)
    asked = threading.Event()

    def listener(event):
        if isinstance(event, BatchProgress) and not asked.is_set():
            session.give_way(1.0)
            session._way_until += 3600  # a pause only give_way(0) or stop() ends
            asked.set()

    session.subscribe(listener)
    session.start()
    assert asked.wait(120)
    session.stop()
    result = session.wait(300)  # None if the pause held on
    assert result is not None and result.status == "stopped" and result.epochs_done <= 1


@pytest.mark.parametrize("every", [0.0, 1e9])
def test_the_best_checkpoint_is_written_at_most_every_so_often_and_at_the_end(logdir, monkeypatch, every):
    """While training, best_model.keras is rewritten only when it is CHECKPOINT_EVERY seconds
    behind (a save is costly against a short epoch); at the end it holds the best epoch either way."""
    from keraslab.core.train import callbacks

    monkeypatch.setattr(callbacks, "CHECKPOINT_EVERY", every)
    config = RunConfig(dataset="digits", model="mlp", epochs=4, batch_size=64, seed=1)
    session = TrainingSession(config, logdir, progress_interval=0.0)
    seen = []

    def during(event):
        if isinstance(event, EpochEnd):
            status = json.loads((session.run_dir / "status.json").read_text())
            seen.append((status["best_epoch"], status["checkpoint_epoch"]))

    session.subscribe(during)
    result = session.run()
    assert result.status == "completed" and result.best_epoch == seen[-1][0]
    if every == 0.0:
        assert all(best == saved for best, saved in seen)  # each improvement saved at once
    else:
        assert {saved for _, saved in seen} == {1}  # the first one only, while training
        assert seen[-1][0] > 1  # (digits improves after epoch 1: the test would mean nothing)
    status = json.loads((result.run_dir / "status.json").read_text())
    assert status["checkpoint_epoch"] == result.best_epoch
    import keras

    model = keras.saving.load_model(result.run_dir / "best_model.keras", safe_mode=True)
    data = load_dataset("digits")
    acc = float((model.predict(data.x_test, verbose=0).argmax(-1) == data.y_test).mean())
    assert acc == pytest.approx(result.test["accuracy"], abs=1e-6)  # the best epoch's weights


def test_a_best_epoch_reaches_the_checkpoint_within_checkpoint_every_without_more_improvement(tmp_path):
    """Improvements 10 s apart are not each saved; once the file is CHECKPOINT_EVERY behind, an
    epoch end saves the best weights even when that epoch did not improve (swapped in for the
    save: training goes on with its own weights)."""
    from pathlib import Path
    from types import SimpleNamespace

    from keraslab.core.train.callbacks import SessionBridge

    class Model:  # what the bridge touches
        optimizer = None
        stop_training = False

        def __init__(self):
            self.weights, self.saved = [0], []

        def get_weights(self):
            return list(self.weights)

        def set_weights(self, weights):
            self.weights = list(weights)

        def save(self, path):
            Path(path).write_text(str(self.weights[0]))
            if "best_model" in Path(path).name:  # (last.keras is saved on its own pace)
                self.saved.append(self.weights[0])

    status: dict = {}
    writer = SimpleNamespace(checkpoint_path=tmp_path / "best_model.keras", log_epoch=lambda *a, **k: None,
                             last_checkpoint_path=tmp_path / "last.keras", update_status=status.update)  # fmt: skip
    first_epoch_ends = []
    bridge = SessionBridge(writer, lambda event: None, steps=1, monitor="val_loss", epochs=10, batch_size=32,
                           stop=threading.Event(), on_first_epoch_end=lambda: first_epoch_ends.append(1))  # fmt: skip
    model = Model()
    bridge.set_model(model)
    clock = [0.0]
    bridge._clock = lambda: clock[0]
    bridge.batches_in_epoch = 1
    for epoch, (t, val_loss) in enumerate([(0, 1.0), (10, 0.5), (20, 0.9), (45, 0.8)]):
        clock[0] = t
        model.weights = [epoch]  # the weights this epoch ends with
        bridge.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    assert model.saved == [0, 1]  # epoch 1 at once (no file yet); epoch 2's best at 45 s, not at 10 s
    assert status["best_epoch"] == status["checkpoint_epoch"] == 2
    assert model.weights == [3] and (tmp_path / "best_model.keras").read_text() == "1"
    # the last state: once CHECKPOINT_EVERY behind (the pace starts at on_train_begin, not called here)
    assert (tmp_path / "last.keras").read_text() == "3" and status["last_checkpoint_epoch"] == 4
    bridge.finish_checkpoint()  # already holds the best: no second save
    assert model.saved == [0, 1] and model.weights == [1]

    # a full disk at the end: noted (the session then fails the run; its test metrics still come)
    def full(path):
        Path(path).write_text("partial")
        raise OSError(28, "No space left on device")

    model.save = full
    bridge.best_epoch, bridge.best_weights = 4, [3]
    bridge.finish_checkpoint()
    assert "best_model.keras not written" in bridge.checkpoint_error and "No space" in bridge.checkpoint_error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best_model.keras", "last.keras"]  # no temporary file left
    assert first_epoch_ends == [1]  # once, after the first epoch's end
