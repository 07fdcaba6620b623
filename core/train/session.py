"""TrainingSession: runs model.fit in a background thread, publishes progress, writes the run directory."""

from __future__ import annotations

import contextlib
import math
import os
import queue
import shlex
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import RunConfig
from ..data.datasets import Dataset, get_info, is_npz_path, load_dataset
from ..errors import DatasetError, KeraslabError, RunStoreError
from ..model.preview import preview_stack
from ..rundir.layout import CONFIG_FILE, STATUS_FILE, STOP_FILE
from ..rundir.scheduler import slurm_job
from ..rundir.writer import RunWriter, create_run_dir, default_logdir, now_iso
from ..system.devices import DevicePlan, plan_device
from ..system.sampler import DEFAULT_INTERVAL as SYSTEM_INTERVAL
from . import tensorboard_export
from .backend import describe_device, import_keras, package_versions
from .command import config_command
from .download import keras_download
from .memory import check_fits
from .placement import jit_compile, oom_reason, place, prepare_environment
from .progress import Finished, Phase, SessionEvent, Started
from .resume import RESUMABLE
from .testset import evaluate_test

MONITOR = "val_loss"


@dataclass(frozen=True)
class SessionHooks:
    """Points where an application applies its own policy (priorities, garbage collection) to a
    run; the session itself leaves the interpreter alone. Each runs in the training thread."""

    on_worker_start: Callable[[], Any] | None = None  # first, before Keras loads
    on_model_ready: Callable[[], Any] | None = None  # model built and compiled, before fit()
    on_first_epoch_end: Callable[[], Any] | None = None  # the first epoch has traced everything
    on_finished: Callable[[], Any] | None = None  # the run's end written, its model unreachable

    def call(self, name: str) -> None:
        hook = getattr(self, name)
        if hook is not None:
            hook()


def resolve_stack(config: RunConfig):
    """The layer stack a config describes: its JSON ``layers``, else a preset name or notation."""
    return config.stack()


class TrainingSession:
    """One training run. ``start()`` returns at once; progress arrives through ``poll()``
    or listeners added with ``subscribe()`` (called from the training thread).

    ``stop()`` asks training to end after the current batch; the run keeps what it
    learned and is marked 'stopped'. A NaN/inf loss ends the run as 'failed'.
    ``resume_from`` (a stopped or interrupted run's directory, see resume.resume_point):
    train that run on from its last checkpoint, in its own directory, with its config
    (``config`` is then the run's own, as resume_point read it).
    ``give_way(seconds)`` pauses training at the next batch end, e.g. while a UI in the
    same process answers a key press: Python runs one thread at a time, so a UI sharing
    the interpreter with Keras' training loop otherwise answers at half speed.
    """

    def __init__(
        self,
        config: RunConfig,
        logdir: str | os.PathLike | None = None,
        *,
        command: str | None = None,
        progress_interval: float = 0.2,
        batch_log_interval: float = 1.0,
        heartbeat_interval: float = 10.0,
        hooks: SessionHooks | None = None,
        resume_from: str | os.PathLike | None = None,
        capture_output: bool = True,
        system_interval: float = SYSTEM_INTERVAL,
    ):
        self.config = config.validate()
        self.logdir = default_logdir(logdir)
        self.command = command or shlex.join(sys.argv)
        self.progress_interval = progress_interval
        self.batch_log_interval = batch_log_interval
        self.heartbeat_interval = heartbeat_interval
        self.run_dir: Path | None = None
        self.result: Finished | None = None
        self._stop = threading.Event()
        self._done = threading.Event()
        self._way_until = 0.0  # give_way(): pause at batch ends until this monotonic time
        self._way_back = threading.Event()  # set to end such a pause early
        self._queue: queue.SimpleQueue[SessionEvent] = queue.SimpleQueue()
        self._listeners: list[Callable[[SessionEvent], Any]] = []
        self._thread: threading.Thread | None = None
        self._writer: RunWriter | None = None
        self._record: dict[str, Any] = {}
        self.hooks = hooks or SessionHooks()
        self.resume_from = None if resume_from is None else Path(resume_from)
        self._resume = None  # resume.ResumePoint, once start() checked it
        # the training thread's prints and warnings kept in output.log (False: the caller
        # captures the whole process, as `keraslab train` does)
        self.capture_output = capture_output
        self.system_interval = system_interval  # seconds between system metric samples
        self._plan, self._gpus = DevicePlan("auto"), None  # where it trains, once start() checked
        self._placement = None  # placement.Placement, once the backend's devices are set up

    # -- public API -----------------------------------------------------------------------
    def start(self) -> Path:
        """Create the run directory, mark it running and start training in a thread."""
        if self._thread is not None:
            raise RuntimeError("session already started")
        if self.resume_from is not None:
            self._reopen()
        else:
            self._check_inputs()
            name = self.config.name or self.config.default_name()
            self.run_dir = create_run_dir(self.logdir, name)
            self._writer = RunWriter(self.run_dir)
            self._record = {
                "run": self.config.to_dict(),
                "model_label": self.config.model_label,
                "command": self.command,
                "reproduce": config_command(self.config),
                "created": now_iso(),
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "versions": package_versions(),
            }
            if (job := slurm_job()) is not None:  # (whatever started it: a sweep's array task, or sbatch by hand)
                self._record["slurm"] = job
            try:
                self._writer.write_config(self._record)
                self._writer.start(epochs_done=0, epochs=self.config.epochs)
            except KeraslabError:  # (a full disk): the directory just created is not left half written
                _discard_new_run_dir(self.run_dir)
                raise
        self._thread = threading.Thread(
            target=self._main, name=f"keraslab-train-{self.run_dir.name}", daemon=True
        )
        threading.Thread(target=self._heartbeat, name="keraslab-heartbeat", daemon=True).start()
        self._thread.start()
        return self.run_dir

    def _reopen(self) -> None:
        """start() of a resumed run: its directory checked and marked running again, the
        resume recorded in config.json, status.json and metrics.jsonl."""
        from .resume import resume_point

        point = self._resume = resume_point(self.resume_from)
        self.config, self.run_dir = point.config, point.run_dir
        self._check_inputs()
        entry = {"at_epoch": point.epoch, "time": now_iso(), "command": self.command}
        if (job := slurm_job()) is not None:  # (a requeued array task resumes its run)
            entry["slurm"] = job
        history = [*_list(point.record.get("resumed")), entry]
        self._record = {**point.record, "resumed": history}
        self._writer = RunWriter(self.run_dir)
        with contextlib.suppress(OSError):  # a stop asked of the run before it stopped
            (self.run_dir / STOP_FILE).unlink(missing_ok=True)
        self._writer.write_config(self._record)
        kept = {k: point.status[k] for k in ("started", "device", "best_epoch", "checkpoint_epoch") if k in point.status}
        self._writer.start(**kept, epochs_done=point.epoch, epochs=self.config.epochs,
                           last_checkpoint_epoch=point.epoch, resumed=[*_list(point.status.get("resumed")), entry])  # fmt: skip
        try:
            self._writer.log_resume(point.epoch)
        except (KeraslabError, OSError) as exc:  # (a full disk): left resumable, not "running"
            before = "stopped" if point.status.get("status") == "stopped" else "interrupted"
            with contextlib.suppress(KeraslabError, OSError):
                self._writer.finish(before, f"resume failed: {exc}")
            raise

    def _check_inputs(self) -> None:
        """Fail before creating a run directory on a mistyped dataset or model."""
        name = self.config.dataset
        if is_npz_path(name):
            path = Path(name.removeprefix("npz:")).expanduser()
            if not path.is_file():
                raise DatasetError(f"{path}: no such .npz file")
        else:
            get_info(name)
        resolve_stack(self.config)
        self._plan, self._gpus = plan_device(self.config.device)

    def run(self) -> Finished:
        """Train in the calling thread's stead: start, then wait for the end."""
        self.start()
        result = self.wait()
        assert result is not None
        return result

    def stop(self) -> None:
        self._stop.set()
        self._way_back.set()

    MAX_GIVE_WAY = 0.5

    def give_way(self, seconds: float) -> None:
        """Pause training at its next batch end for up to ``seconds`` (at most
        ``MAX_GIVE_WAY``); ``give_way(0)`` ends the pause. Costs nothing when not asked."""
        if seconds > 0:
            self._way_back.clear()
            self._way_until = time.monotonic() + min(seconds, self.MAX_GIVE_WAY)
        else:
            self._way_until = 0.0
            self._way_back.set()

    def _paused_for_way(self) -> None:
        """In the training thread, at a batch end: wait while a give_way() lasts."""
        if not self._way_until:
            return
        left = self._way_until - time.monotonic()
        if left > 0 and not self._stop.is_set():
            self._way_back.wait(left)

    def abort(self, reason: str) -> None:
        """Mark the run interrupted right now (the process is about to exit mid-training)."""
        self._stop.set()
        if self._writer is not None and self.result is None:  # (set once the run's end is written)
            self._writer.finish("interrupted", reason)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> Finished | None:
        self._done.wait(timeout)
        return self.result

    def poll(self, timeout: float | None = None) -> list[SessionEvent]:
        """Drain pending events; with a timeout, wait up to that long for the first one."""
        events: list[SessionEvent] = []
        try:
            if timeout:
                events.append(self._queue.get(timeout=timeout))
            while True:
                events.append(self._queue.get_nowait())
        except queue.Empty:
            pass
        return events

    def subscribe(self, listener: Callable[[SessionEvent], Any]) -> None:
        self._listeners.append(listener)

    # -- internals ------------------------------------------------------------------------
    def _emit(self, event: SessionEvent) -> None:
        self._queue.put(event)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a broken listener must not kill training
                pass

    def _heartbeat(self) -> None:
        while not self._done.wait(self.heartbeat_interval):
            try:
                if self._writer is not None and not self._done.is_set():
                    self._writer.heartbeat()
            except (OSError, KeraslabError):  # (a full disk): the run's own writes report it
                pass

    def _main(self) -> None:
        """The training thread: the run, then (its model now unreachable) on_finished, then done."""
        from .capture import capture_thread, event_line

        assert self.run_dir is not None
        if not self.capture_output:
            return self._main_captured()
        with capture_thread(self.run_dir) as log:
            self.subscribe(lambda ev: (line := event_line(ev)) and log.write(line + "\n"))
            self._main_captured()

    def _main_captured(self) -> None:
        try:
            self.hooks.call("on_worker_start")
        except Exception:  # noqa: BLE001 - an application's hook must not keep the run from training
            traceback.print_exc()
        try:
            self._run()
        except KeraslabError as exc:  # writing the run's end failed: one line, as the reason would be
            print(f"keraslab: error: the run's end was not recorded: {exc}", file=sys.stderr)
        except Exception:  # noqa: BLE001 - reported, and out of this block, so that its frames
            traceback.print_exc()  # let go of the model
        try:
            self.hooks.call("on_finished")
        except Exception:  # noqa: BLE001 - an application's hook must not leave the run undone
            traceback.print_exc()
        finally:
            self._done.set()
            if self.result is not None:
                self._emit(self.result)

    def _run(self) -> None:
        assert self._writer is not None and self.run_dir is not None
        writer, t0 = self._writer, time.monotonic()
        status, reason, test, best_epoch, epochs_done = "failed", None, {}, None, 0
        bridge = None
        scope = contextlib.ExitStack()  # the backend's device scope, from placement to evaluation
        try:
            cfg = self.config
            self._emit(Phase(f"loading dataset {cfg.dataset}"))
            data = load_dataset(
                cfg.dataset,
                validation_split=cfg.validation_split,
                seed=cfg.seed,
                limit=cfg.limit,
                data_dir=cfg.data_dir,
                download=keras_download,
            )
            if self._stop.is_set():
                status, reason = "stopped", "stopped before training began"
                return
            self._emit(Phase("building model"))
            stack = resolve_stack(cfg)
            check_fits(
                preview_stack(stack, data.info.input_shape, data.info.num_classes).total_params,
                cfg.optimizer, cfg.momentum,
            )  # fmt: skip
            prepare_environment(self._plan)
            keras = import_keras()
            self._placement = place(keras, self._plan, cfg.gpu_memory_limit, cfg.batch_size)
            data = self._placement.evened(data)
            scope.enter_context(self._placement.scope)
            for note in self._placement.notes:
                self._emit(Phase(note))
            model, bridge, fit_kwargs = self._prepare(keras, data, stack)
            if self._stop.is_set():  # (asked while building: _prepare returns once the model is built)
                status, reason = "stopped", "stopped before training began"
                return
            self.hooks.call("on_model_ready")
            from .sysmetrics import recording

            with recording(writer, self._emit, self._plan, self._gpus, self.system_interval):
                model.fit(**fit_kwargs)
            del fit_kwargs  # (the training batches hold a copy of the training set)
            epochs_done = bridge.epochs_done
            best_epoch = bridge.best_epoch
            if bridge.failure:
                status, reason = "failed", bridge.failure
                if bridge.best_weights is not None:  # what it learned before the loss broke
                    bridge.finish_checkpoint()
                return
            status = "stopped" if self._stop.is_set() else "completed"
            if status == "stopped":
                bridge.save_last()  # (before the best weights replace the last ones)
                reason = f"stopped by user after {bridge.steps} batches"
            elif epochs_done < cfg.epochs:
                reason = f"early stopping after {epochs_done} epochs"
            if status == "completed":
                self._writer.last_checkpoint_path.unlink(missing_ok=True)  # nothing left to resume
            self._emit(Phase("evaluating on the test set"))
            test = evaluate_test(model, bridge, data, self.config, self._writer,
                                 from_logits=bool((self._record.get("model_info") or {}).get("from_logits")))
        except KeraslabError as exc:  # (bad input, or a run file that cannot be written)
            _keep_best(bridge)
            status, reason = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - report any failure as one line, keep the trace
            _keep_best(bridge)
            status = "failed"
            text = " ".join(str(exc).split())
            reason = oom_reason(exc, self.config.batch_size) or f"{type(exc).__name__}: {text[:300]}"
            writer.write_error(traceback.format_exc())
        finally:
            scope.close()
            checkpoint_error = bridge.checkpoint_error if bridge is not None else None
            if checkpoint_error and status == "completed":  # a run that lost its model did not succeed
                status, reason = "failed", _joined(checkpoint_error, reason)
            elif checkpoint_error:
                reason = _joined(reason, checkpoint_error)
            last_error = bridge.last_checkpoint_error if bridge is not None else None
            if last_error and status in RESUMABLE:  # said, since it cannot resume from this stop
                reason = _joined(reason, last_error)
            elapsed = time.monotonic() - t0
            try:
                with contextlib.suppress(KeraslabError):  # (a full disk: the status says more)
                    tensorboard_export.write_end(writer, status, test, epochs_done)
                writer.finish(status, reason, epochs_done=epochs_done)
            finally:
                writer.close()
                self.result = Finished(
                    status, self.run_dir, reason, test, best_epoch, epochs_done, elapsed,
                    checkpoint_error,
                )  # fmt: skip

    def _prepare(self, keras, data: Dataset, stack):
        from ..model.layers import output_is_probabilities
        from ..model.notation import format_stack, stack_to_json
        from .build import build_model
        from .optim import make_loss, make_optimizer

        cfg, point = self.config, self._resume
        n_train = int(data.x_train.shape[0])
        steps = max(1, math.ceil(n_train / cfg.batch_size))
        if point is not None:
            return self._prepare_resumed(keras, data, point, steps)
        keras.utils.set_random_seed(cfg.seed)
        scaling = data.input_scaling(cfg.normalization)
        model = build_model(
            stack,
            data.info.input_shape,
            data.info.num_classes,
            input_scaling=scaling,
            l2=cfg.l2 or None,
            name=self.run_dir.name.replace("-", "_") if self.run_dir else "model",
            precision=cfg.precision,
        )
        if self._stop.is_set():  # a stop asked for while building: no compiling, no summary
            return model, None, None
        probabilities = output_is_probabilities(stack)
        from_logits = (not probabilities) if cfg.from_logits is None else cfg.from_logits
        model.compile(
            optimizer=make_optimizer(keras, cfg, steps),
            loss=make_loss(keras, cfg, from_logits),
            metrics=["accuracy"],
            jit_compile=jit_compile(cfg.jit_compile),
            steps_per_execution=cfg.steps_per_execution,
        )
        device = self._device_text()
        params = int(model.count_params())
        lines: list[str] = []
        model.summary(print_fn=lambda text, **_: lines.append(text), line_length=90)
        notation = format_stack(stack)
        summary = (
            f"## Command\n\n{self.command}\n\n## Reproduce\n\n{self._record['reproduce']}\n\n"
            f"## Model\n\n{notation}\n\n" + "\n".join(lines) + "\n"
        )
        self._writer.write_summary(summary)
        self._record.update(
            {
                "versions": package_versions(),
                "device": device,
                "placement": {**self._plan.to_json(), **self._placement.to_json(cfg.batch_size)},
                "dataset_info": {
                    "name": data.info.name,
                    "input_shape": list(data.info.input_shape),
                    "num_classes": data.info.num_classes,
                    "class_names": list(data.info.class_names),
                    "train": n_train,
                    "validation": int(data.x_val.shape[0]),
                    "test": int(data.x_test.shape[0]),
                    "source": data.source,
                },
                "model_info": {
                    "notation": notation,
                    "layers": stack_to_json(stack),
                    "params": params,
                    "trainable_params": int(
                        sum(int(np.prod(w.shape)) for w in model.trainable_weights)
                    ),
                    "input_scaling": list(scaling),
                    "from_logits": from_logits,
                    "monitor": MONITOR if data.x_val.shape[0] else "loss",
                },
            }
        )
        self._writer.write_config(self._record)
        self._writer.update_status(device=device)
        tensorboard_export.write_start(self._writer, cfg, notation, model)
        return self._fit_setup(keras, model, data, steps, device)

    def _prepare_resumed(self, keras, data: Dataset, point, steps: int):
        """The model of a resumed run: its last checkpoint, optimizer state included, loaded
        with Keras' safe mode (nothing in the run directory is executed or unpickled)."""
        cfg = self.config
        keras.utils.set_random_seed(resume_seed(cfg.seed, point.epoch))
        try:
            model = keras.saving.load_model(point.checkpoint, compile=True, safe_mode=True)
        except Exception as exc:  # noqa: BLE001 - any refusal of the file is the user's one line
            text = " ".join(str(exc).split())
            text = text if len(text) <= 240 else text[:240] + " ..."
            raise RunStoreError(f"{point.checkpoint.name}: cannot load ({type(exc).__name__}: {text})") from None
        if getattr(model, "optimizer", None) is None:
            raise RunStoreError(f"{point.checkpoint.name}: holds no optimizer state")
        device = self._device_text()
        self._writer.update_status(device=device)
        return self._fit_setup(keras, model, data, steps, device)

    def _device_text(self) -> str:
        """The device as the run header shows it (with replicas: the per-replica batch)."""
        return self._placement.describe(describe_device(), self.config.batch_size)

    def _fit_setup(self, keras, model, data: Dataset, steps: int, device: str):
        """The bridge, callbacks and fit() arguments for ``model`` (new or resumed)."""
        from .optim import needs_one_hot

        cfg, point = self.config, self._resume
        n_train, params = int(data.x_train.shape[0]), int(model.count_params())
        y_train, y_val = data.y_train, data.y_val
        if needs_one_hot(cfg):
            eye = np.eye(data.info.num_classes, dtype="float32")
            y_train, y_val = eye[y_train], eye[y_val]
        has_val = data.x_val.shape[0] > 0
        from .callbacks import SessionBridge

        bridge = SessionBridge(
            self._writer, self._emit, steps=steps, monitor=MONITOR if has_val else "loss",
            epochs=cfg.epochs, batch_size=cfg.batch_size, stop=self._stop,
            at_batch_end=self._paused_for_way, on_first_epoch_end=self.hooks.on_first_epoch_end,
            progress_interval=self.progress_interval, batch_log_interval=self.batch_log_interval,
        )  # fmt: skip
        callbacks: list[Any] = [bridge]
        if cfg.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(monitor=MONITOR, patience=cfg.early_stopping)
            )
        if cfg.lr_schedule == "plateau":
            callbacks.append(
                keras.callbacks.ReduceLROnPlateau(
                    monitor=MONITOR if has_val else "loss", factor=0.5, patience=2, verbose=0
                )
            )
        self._emit(Started(self.run_dir, device, params, cfg.epochs, steps, n_train))
        from .pipeline import fit_data

        validation = (data.x_val, y_val) if has_val else None
        fit_kwargs = fit_data(keras.backend.backend(), data.x_train, y_train, validation,
                              cfg.batch_size, cfg.seed)  # fmt: skip
        fit_kwargs.update(epochs=cfg.epochs, callbacks=callbacks, verbose=0)
        if point is not None:
            bridge.resume_at(point.epoch, point.best_epoch, point.best_value)
            fit_kwargs["initial_epoch"] = point.epoch
        return model, bridge, fit_kwargs


def resume_seed(seed: int, epoch: int) -> int:
    """The random seed of a run resumed after ``epoch``: fixed by (seed, epoch), so the
    same resume trains the same way again."""
    return (seed * 1_000_003 + epoch) % 2**32


def _joined(*parts: str | None) -> str | None:
    """A run's reason made of several (``; ``-separated), the missing ones left out."""
    return "; ".join(p for p in parts if p) or None


def _list(value: Any) -> list:
    """A history list read from a run's file (anything else: none)."""
    return list(value) if isinstance(value, list) else []


def _keep_best(bridge) -> None:
    """After a failure in training: the best weights so far into best_model.keras, if the
    model still allows it (a save that fails too is noted in ``bridge.checkpoint_error``)."""
    if bridge is not None and bridge.best_weights is not None:
        try:
            bridge.finish_checkpoint()
        except Exception:  # noqa: BLE001
            pass


def _discard_new_run_dir(run_dir: Path) -> None:
    """Remove a run directory that start() has just created (its config and status files, then
    the directory itself when nothing else is in it): never meant for an existing run."""
    try:
        for name in (CONFIG_FILE, STATUS_FILE):
            (run_dir / name).unlink(missing_ok=True)
        run_dir.rmdir()
    except OSError:
        pass
