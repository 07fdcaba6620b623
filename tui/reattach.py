"""Runs of the log directory that another keraslab process is training now (e.g. an app whose
terminal went away): found when the app starts, stopped through their stop file."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from keraslab import core

from . import fmt


@dataclass(frozen=True)
class LiveRun:
    """A run marked running, its heartbeat fresh and (on this host) its process alive."""

    path: Path
    pid: int | None
    epochs_done: int
    epochs: int | None

    @property
    def label(self) -> str:
        progress = f"epoch {self.epochs_done}/{self.epochs}" if self.epochs else f"{self.epochs_done} epochs"
        pid = f", pid {self.pid}" if self.pid else ""
        return f"{fmt.visible(self.path.name)} ({progress}{pid})"


def live_runs_elsewhere(logdir: Path) -> list[LiveRun]:
    """The runs directly in ``logdir`` that a process other than this one is training."""
    found: list[LiveRun] = []
    try:
        children = sorted(p for p in logdir.iterdir() if not p.name.startswith("."))
    except OSError:
        return found
    for path in children:
        if not _says_running(path / core.STATUS_FILE):  # (cheap: most runs have ended)
            continue
        try:
            record = core.load_run(path)
        except core.KeraslabError:
            continue
        pid = record.status_info.get("pid")
        if record.status != "running" or pid == os.getpid():
            continue
        epochs = record.epochs_planned
        found.append(LiveRun(path, pid if isinstance(pid, int) else None, record.epochs_done,
                             epochs if isinstance(epochs, int) else None))  # fmt: skip
    return found


def _says_running(status_path: Path) -> bool:
    """Whether the run's status file mentions "running" (a FIFO in its place is not read)."""
    try:
        return b'"running"' in core.read_run_bytes(status_path, limit=MAX_STATUS_BYTES)
    except OSError:
        return False


MAX_STATUS_BYTES = 1 << 20


def still_live(run: LiveRun) -> bool:
    """Whether ``run`` is still being trained (it may have ended since it was found)."""
    try:
        record = core.load_run(run.path)
    except core.KeraslabError:
        return False
    return record.status == "running"


def request_stop(run: LiveRun) -> str | None:
    """Ask the process training ``run`` to stop it after its current batch (it is kept, marked
    stopped). Returns a one-line error, or None."""
    try:
        # O_NONBLOCK: a FIFO left in its place must not hang the screen (it fails with ENXIO)
        flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(run.path / core.STOP_FILE, flags, 0o644)
    except OSError as exc:
        return f"cannot ask {fmt.visible(run.path.name)} to stop: {exc.strerror or exc}"
    with contextlib.suppress(OSError):
        os.close(fd)
    return None
