"""Run directory, writing side: unique run directories, config/status/results, metrics lines and TensorBoard events."""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import RunStoreError
from .fileio import (
    clean_json,
    disk_full,
    overwrite_in_place,
    write_json_atomic,
    write_text_atomic,
    writing,
)
from .layout import (
    CHECKPOINT_FILE,
    CONFIG_FILE,
    ERROR_FILE,
    LAST_CHECKPOINT_FILE,
    METRICS_FILE,
    RESULTS_FILE,
    RESUME_RECORD,
    STATUS_FILE,
    SUMMARY_FILE,
    SYSTEM_RECORD,
)
from .metricstats import MetricsTally

STATUSES = ("running", "completed", "stopped", "failed", "interrupted")
STATUS_SLOT = 4096  # bytes status.json is padded to: room for its last write on a full disk


def default_logdir(logdir: str | os.PathLike | None = None) -> Path:
    """The log directory: the given one, else $KERASLAB_LOGDIR, else ./runs."""
    if logdir:
        return Path(logdir).expanduser()
    env = os.environ.get("KERASLAB_LOGDIR")
    return Path(env).expanduser() if env else Path("runs")


def now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def create_run_dir(logdir: str | os.PathLike, name: str) -> Path:
    """Create ``<logdir>/<name>-<N>``, N one more than the highest taken (a deleted run's
    number is not given again while a later one exists), safely across processes.

    ``os.mkdir`` is atomic: when two processes race for the same N, one gets
    FileExistsError and moves on to N+1.
    """
    root = Path(logdir)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunStoreError(f"cannot create log directory {root}: {exc.strerror}") from None
    prefix = f"{name}-"
    taken = []
    for entry in os.listdir(root):
        if entry.startswith(prefix) and entry[len(prefix) :].isdigit():
            taken.append(int(entry[len(prefix) :]))
    n = max(taken, default=0) + 1
    for _ in range(10000):
        path = root / f"{name}-{n}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            n += 1
        except OSError as exc:
            raise RunStoreError(f"cannot create run directory {path}: {exc.strerror}") from None
    raise RunStoreError(f"could not find a free run directory name for {name} in {root}")


class RunWriter:
    """Writes one run directory while it trains. Thread-safe for status updates."""

    def __init__(self, run_dir: Path):
        self.run_dir = Path(run_dir)
        self._lock = threading.RLock()  # (re-entered by a signal handler that aborts the run)
        self._status: dict[str, Any] = {}
        self._train_events = None
        self._val_events = None
        self._root_events = None  # the run's own TensorBoard run: HParams session, final metrics
        self._metrics_file = None
        self._tally = None  # metricstats.MetricsTally of metrics.jsonl, when written from its start

    # -- files ----------------------------------------------------------------------------
    # Each raises RunStoreError with one line naming the file when it cannot be written.
    def write_config(self, config: dict[str, Any]) -> None:
        with writing(self.run_dir / CONFIG_FILE):
            write_json_atomic(self.run_dir / CONFIG_FILE, config)

    def write_summary(self, text: str) -> None:
        with writing(self.run_dir / SUMMARY_FILE):
            write_text_atomic(self.run_dir / SUMMARY_FILE, text)
        self._events("train").add_text("summary", text, 0)
        self._events("train").flush()

    # -- what TensorBoard's HParams and graph dashboards show of the run
    def write_hparams(self, hparams: dict[str, Any], start_time: float | None = None) -> None:
        """The run's hyperparameters as an HParams session start (in the run directory's own events)."""
        from ..tfevents import hparams_session_start

        self._events("").add_summary(hparams_session_start(hparams, start_time), 0)
        self._events("").flush()

    def end_hparams(self, status: str, final: dict[str, float], step: int) -> None:
        """The run's final metrics (scalars such as ``test_accuracy``) and its HParams session end."""
        from ..tfevents import hparams_session_end

        events = self._events("")
        for key, value in final.items():
            if value is not None and math.isfinite(value):
                events.add_scalar(key, float(value), step)
        events.add_summary(hparams_session_end(status), step)
        events.flush()

    def write_keras_model(self, model_json: str) -> None:
        """The model as Keras' TensorBoard callback writes it (the graph dashboard's conceptual graph)."""
        self._events("train").add_keras_model(model_json)
        self._events("train").flush()

    def write_results(self, results: dict[str, Any]) -> None:
        with writing(self.run_dir / RESULTS_FILE):
            write_json_atomic(self.run_dir / RESULTS_FILE, results)

    def write_error(self, text: str) -> None:
        """The traceback of a crash, best effort: status.json carries the one-line reason."""
        try:
            write_text_atomic(self.run_dir / ERROR_FILE, text)
        except OSError:
            pass

    @property
    def checkpoint_path(self) -> Path:
        return self.run_dir / CHECKPOINT_FILE

    @property
    def last_checkpoint_path(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT_FILE

    # -- status ---------------------------------------------------------------------------
    def start(self, **fields: Any) -> None:
        with self._lock:
            self._status = {
                "status": "running",
                "started": now_iso(),
                "ended": None,
                "heartbeat": time.time(),
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "reason": None,
                **fields,
            }
            self._write_status()

    def _write_status(self) -> None:
        """status.json (the lock held), with the tally of metrics.jsonl as written so far.

        Padded to STATUS_SLOT bytes, so that on a full disk the status (without the tally,
        else only its main fields) is written over the old one's bytes instead.
        """
        path, status = self.run_dir / STATUS_FILE, self._status
        if self._tally is not None:
            status = {**status, "metrics_summary": self._tally.to_json()}
        try:
            write_json_atomic(path, status, pad_to=STATUS_SLOT)
        except OSError as exc:
            if not (disk_full(exc) and self._overwrite_status(path)):
                raise RunStoreError(f"cannot write {path}: {exc.strerror or exc}") from exc

    def _overwrite_status(self, path: Path) -> bool:
        """The status written over status.json's own bytes: whole, else its main fields."""
        if overwrite_in_place(path, self._status):
            return True
        main = {k: self._status.get(k) for k in ("status", "started", "ended", "heartbeat", "pid")}
        main["reason"] = (self._status.get("reason") or "")[:1000] or None
        return overwrite_in_place(path, main)

    def update_status(self, **fields: Any) -> None:
        with self._lock:
            self._status.update(fields)
            self._status["heartbeat"] = time.time()
            self._write_status()

    def heartbeat(self) -> None:
        self.update_status()

    def finish(self, status: str, reason: str | None = None, **fields: Any) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        self.update_status(status=status, ended=now_iso(), reason=reason, **fields)

    # -- metrics --------------------------------------------------------------------------
    def _events(self, split: str):
        from ..tfevents import EventWriter

        with self._lock:  # (the system sampler's thread writes to train/ too: one writer each)
            if split == "":
                if self._root_events is None:
                    self._root_events = EventWriter(self.run_dir)
                return self._root_events
            if split == "train":
                if self._train_events is None:
                    self._train_events = EventWriter(self.run_dir / "train")
                return self._train_events
            if self._val_events is None:
                self._val_events = EventWriter(self.run_dir / "validation")
            return self._val_events

    def _append_line(self, record: dict[str, Any]) -> None:
        line = json.dumps(clean_json(record)) + "\n"
        # (the lock: the tally and the file agree whenever status.json is written)
        with self._lock, writing(self.run_dir / METRICS_FILE):
            if self._metrics_file is None:
                self._metrics_file = open(self.run_dir / METRICS_FILE, "a", buffering=1)
                # a file that already has lines is not tallied: its stats would miss them
                self._tally = MetricsTally() if self._metrics_file.tell() == 0 else None
            self._metrics_file.write(line)
            if self._tally is not None:
                self._tally.add(line, record.get("type") == "epoch")

    def log_epoch(
        self,
        epoch: int,
        logs: dict[str, float],
        wall_time: float | None = None,
        *,
        partial: bool = False,
    ) -> None:
        """Record the metrics of a finished epoch (1-based) in metrics.jsonl and event files.

        ``partial`` marks an epoch cut short by a stop. Event steps are 0-based epochs, as Keras' TensorBoard callback writes them;
        ``val_*`` metrics go to ``validation/`` under the same tag without the prefix.
        """
        wall_time = time.time() if wall_time is None else wall_time
        record = {"type": "epoch", "epoch": epoch, "time": wall_time, **logs}
        if partial:
            record["partial"] = True  # training was stopped inside this epoch
        self._append_line(record)
        for key, value in logs.items():
            if value is None or not math.isfinite(value):
                continue
            split, tag = ("validation", key[4:]) if key.startswith("val_") else ("train", key)
            self._events(split).add_scalar(f"epoch_{tag}", float(value), epoch - 1, wall_time)
        for writer in (self._train_events, self._val_events):
            if writer is not None:
                writer.flush()

    def log_resume(self, epoch: int) -> None:
        """Mark in metrics.jsonl that training resumed after ``epoch``: the epoch and batch
        records before this one past ``epoch`` are superseded (see reader.current_records)."""
        self._append_line({"type": RESUME_RECORD, "resumed_at_epoch": epoch, "time": time.time()})

    def log_batch(self, epoch: float, step: int, logs: dict[str, float]) -> None:
        """Record a (throttled) batch-level point; ``epoch`` is fractional (0.5 = half of epoch 1)."""
        self._append_line(
            {"type": "batch", "epoch": round(epoch, 4), "step": step, "time": time.time(), **logs}
        )

    def log_system(self, values: dict[str, float], elapsed: float, wall_time: float | None = None) -> None:
        """Record a system sample (keys ``system/...``), indexed by time rather than epoch: a
        ``system`` record in metrics.jsonl and scalars in train/ at step = whole seconds since
        training began. Called from the sampler's thread."""
        wall_time = time.time() if wall_time is None else wall_time
        step = int(elapsed)
        self._append_line({"type": SYSTEM_RECORD, "step": step, "time": wall_time, **values})
        events = self._events("train")
        for key, value in values.items():
            if math.isfinite(value):
                events.add_scalar(key, float(value), step, wall_time)
        events.flush()

    def close(self) -> None:
        """Close the event and metrics files; a write that fails here (a full disk) was
        already reported by the write that failed first, so it is not raised again."""
        for writer in (self._train_events, self._val_events, self._root_events):
            if writer is not None:
                try:
                    writer.close()
                except RunStoreError:
                    pass
        if self._metrics_file is not None:
            try:
                self._metrics_file.close()
            except OSError:
                pass
            self._metrics_file = None
