"""SessionBridge: the Keras callback connecting ``model.fit`` to a TrainingSession's writer and events.

Importing this module imports Keras (the class derives from ``keras.callbacks.Callback``);
the session imports it once it builds a model.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from ..rundir.layout import CHECKPOINT_FILE, LAST_CHECKPOINT_FILE, STOP_FILE
from ..rundir.writer import RunWriter
from .backend import import_keras
from .progress import BatchProgress, EpochEnd, SessionEvent

keras = import_keras()

CHECKPOINT_EVERY = 30.0  # seconds: how far best_model.keras (and last.keras) may lag while training
STOP_FILE_EVERY = 1.0  # seconds between looks for the run's stop file (one stat)


class SessionBridge(keras.callbacks.Callback):
    """Publishes progress, checks stop/NaN, checkpoints the best epoch, writes metrics.

    Args:
        writer: the run's store (metrics, status, checkpoint path).
        emit: publishes a session event (called in the training thread).
        steps: batches per epoch.
        monitor: the metric whose best epoch is kept ("val_loss", or "loss" without validation).
        epochs, batch_size: the run's plan, for progress events.
        stop: set to end training after the current batch (and evaluation); set too when
            the run directory's STOP_FILE appears (another process asks; the file is consumed).
        at_batch_end: called after every batch (the session's give-way pause).
        on_first_epoch_end: called once, after the first epoch's end is written.
        progress_interval, batch_log_interval: seconds between progress events / batch log lines.
    """

    def __init__(
        self,
        writer: RunWriter,
        emit: Callable[[SessionEvent], Any],
        *,
        steps: int,
        monitor: str,
        epochs: int,
        batch_size: int,
        stop: threading.Event,
        at_batch_end: Callable[[], Any] = lambda: None,
        on_first_epoch_end: Callable[[], Any] | None = None,
        progress_interval: float = 0.2,
        batch_log_interval: float = 1.0,
    ):
        super().__init__()
        self.writer = writer
        self.emit = emit
        self.steps_per_epoch = steps
        self.monitor = monitor
        self.epochs_planned = epochs
        self.batch_size = batch_size
        self.stop = stop
        self.at_batch_end = at_batch_end
        self.on_first_epoch_end = on_first_epoch_end
        self.progress_interval = progress_interval
        self.batch_log_interval = batch_log_interval
        self.mode = "max" if "acc" in monitor else "min"
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.best_weights = None
        self.saved_epoch: int | None = None  # the best epoch best_model.keras holds
        self.checkpoint_error: str | None = None
        self.last_checkpoint_error: str | None = None  # why last.keras lacks the stop point
        self._saved_at = -math.inf
        self.complete_epochs = 0  # epochs trained to their end
        self.last_epoch: int | None = None  # the complete epochs last.keras holds
        self._last_saved_at = -math.inf
        self._clock = time.monotonic  # (of the checkpoint's pace; tests set their own)
        self.epochs_done = 0
        self.steps = 0
        self.failure: str | None = None
        self.epoch = 0
        self.batches_in_epoch = 0
        self._in_fit = False
        self._t0 = self._last_event = self._last_log = self._epoch_t0 = time.monotonic()
        self._stop_file_seen_at = self._t0

    def on_train_begin(self, logs=None):
        self._in_fit = True
        self._t0 = time.monotonic()
        self._last_saved_at = self._clock()  # (a stop saves last.keras; a kill loses at most this pace)

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.batches_in_epoch = 0
        self._epoch_t0 = time.monotonic()

    def _check(self, logs: dict[str, float], where: str) -> None:
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.failure = (
                f"loss became {loss} {where}; try a lower learning rate, input "
                "normalization or batch normalization"
            )
            self.model.stop_training = True

    def on_train_batch_end(self, batch, logs=None):
        # with steps_per_execution, several batches at once (Keras names the last of the call,
        # past the epoch's end for its last call)
        batch = min(batch, self.steps_per_epoch - 1)
        self.steps += batch + 1 - self.batches_in_epoch
        self.batches_in_epoch = batch + 1
        self.at_batch_end()
        now = time.monotonic()
        if now - self._stop_file_seen_at >= STOP_FILE_EVERY:
            self._stop_file_seen_at = now
            stop_file = self.writer.run_dir / STOP_FILE
            if os.path.lexists(stop_file):
                self.stop.set()
                with contextlib.suppress(OSError):
                    stop_file.unlink()
        if self.stop.is_set():
            self.model.stop_training = True
        last = batch + 1 >= self.steps_per_epoch
        if not last and now - self._last_event < self.progress_interval:
            return
        self._last_event = now
        values = floats(logs)
        self._check(values, f"at epoch {self.epoch + 1}, batch {batch + 1}")
        elapsed = now - self._epoch_t0
        seen = (batch + 1) * self.batch_size
        rate = seen / elapsed if elapsed > 0 else 0.0
        position = self.epoch + (batch + 1) / self.steps_per_epoch
        self.emit(
            BatchProgress(
                self.epoch, self.epochs_planned, batch + 1, self.steps_per_epoch,
                values, now - self._t0, rate,
            )  # fmt: skip
        )
        if now - self._last_log >= self.batch_log_interval and not last:
            self._last_log = now
            self.writer.log_batch(position, self.steps, values)

    def on_test_batch_end(self, batch, logs=None):
        if self._in_fit and self.stop.is_set():
            self.model.stop_evaluating = True

    def _improved(self, value: float | None) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best_value is None:
            return True
        return value > self.best_value if self.mode == "max" else value < self.best_value

    def resume_at(self, epoch: int, best_epoch: int | None, best_value: float | None) -> None:
        """Continue a run whose last checkpoint (loaded into the model) holds ``epoch`` complete
        epochs and whose best_model.keras holds ``best_epoch`` (None: unknown)."""
        self.epochs_done = self.complete_epochs = self.last_epoch = epoch
        self.best_epoch = self.saved_epoch = best_epoch
        self.best_value = best_value

    def _save_model(self, path) -> None:
        """The model (optimizer state included) into ``path``, atomically."""
        tmp = path.with_name(f".{path.stem}.tmp.keras")
        try:
            self.model.save(tmp)
            os.replace(tmp, path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise

    def save_last(self) -> None:
        """The model as it is now into last.keras, the epochs it holds into status.json: the
        point a stopped run resumes from (weights of an epoch cut short included; resuming
        trains that epoch again in full)."""
        try:
            self._save_model(self.writer.last_checkpoint_path)
        except OSError as exc:  # (a full disk): the run goes on, it is just not resumable from here
            self.last_checkpoint_error = f"{LAST_CHECKPOINT_FILE} not written: {exc.strerror or exc}"
            return
        self.last_checkpoint_error = None
        self.last_epoch = self.complete_epochs
        self._last_saved_at = self._clock()
        self.writer.update_status(last_checkpoint_epoch=self.last_epoch)

    def save_checkpoint(self) -> None:
        self._save_model(self.writer.checkpoint_path)
        self.saved_epoch = self.best_epoch
        self._saved_at = self._clock()
        self.checkpoint_error = None

    def _save_best(self, current: bool) -> None:
        """Save the best weights; ``current``: the model holds them now (else they are
        swapped in for the save, and training goes on with its own)."""
        if current:
            self.save_checkpoint()
            return
        weights = self.model.get_weights()
        self.model.set_weights(self.best_weights)
        try:
            self.save_checkpoint()
        finally:
            self.model.set_weights(weights)

    def finish_checkpoint(self) -> None:
        """At the end of training (any end but a crash): the best weights into the model
        and best_model.keras, unless the file already holds them."""
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        elif self.saved_epoch is not None and self.writer.checkpoint_path.exists():
            self.model.load_weights(self.writer.checkpoint_path)  # resumed, no better epoch since
        if self.saved_epoch != self.best_epoch or not self.writer.checkpoint_path.exists():
            try:
                self.save_checkpoint()
            except OSError as exc:  # (a full disk): the test metrics still stand; the run fails
                self._note_checkpoint_error(exc)
                return
            self.writer.update_status(checkpoint_epoch=self.saved_epoch)

    def _note_checkpoint_error(self, exc: OSError) -> None:
        """``checkpoint_error``: one line saying why best_model.keras lacks the best epoch."""
        held = ""
        if self.saved_epoch is not None and self.writer.checkpoint_path.exists():
            held = f" (it holds epoch {self.saved_epoch}, not the best epoch {self.best_epoch})"
        self.checkpoint_error = f"{CHECKPOINT_FILE} not written: {exc.strerror or exc}{held}"

    def on_epoch_end(self, epoch, logs=None):
        from .optim import current_learning_rate

        values = floats(logs)
        lr = current_learning_rate(self.model.optimizer)
        if lr is not None:
            values["learning_rate"] = lr
        self._check(values, f"at the end of epoch {epoch + 1}")
        partial = self.batches_in_epoch < self.steps_per_epoch
        self.epochs_done = epoch + 1
        if not partial:
            self.complete_epochs = epoch + 1
        improved = not self.failure and self._improved(values.get(self.monitor))
        if improved:
            self.best_value = values[self.monitor]
            self.best_epoch = epoch + 1
            self.best_weights = self.model.get_weights()
        # A save costs a noticeable share of a short epoch: the best weights wait in memory and
        # reach the file at the end, or at an epoch end once the file is CHECKPOINT_EVERY behind
        # (what a crash could cost).
        if self.saved_epoch != self.best_epoch and self._clock() - self._saved_at >= CHECKPOINT_EVERY:
            try:
                self._save_best(current=improved)
            except OSError as exc:  # (a full disk): training goes on; the save at its end retries
                self._note_checkpoint_error(exc)
                self._saved_at = self._clock()
        self.writer.log_epoch(epoch + 1, values, partial=partial)
        if not partial and not self.failure and self._clock() - self._last_saved_at >= CHECKPOINT_EVERY:
            self.save_last()
        self.writer.update_status(epochs_done=self.epochs_done, best_epoch=self.best_epoch,
                                  checkpoint_epoch=self.saved_epoch)  # fmt: skip
        self.emit(
            EpochEnd(
                epoch + 1, self.epochs_planned, values, time.monotonic() - self._t0, improved,
            )  # fmt: skip
        )
        hook, self.on_first_epoch_end = self.on_first_epoch_end, None  # (once)
        if hook is not None:
            hook()


def floats(logs: dict | None) -> dict[str, float]:
    """The numeric entries of a Keras logs dict, as floats."""
    out: dict[str, float] = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out
