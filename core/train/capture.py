"""Keeping what a run prints in its output.log: one thread's sys.stdout/sys.stderr, or the whole process's fds 1 and 2.

In an app the terminal belongs to the UI: only the training thread's Python-level output
is teed into the log (:func:`capture_thread`), passing through to whatever sys.stdout /
sys.stderr were. A command-line run owns its process: :func:`capture_process` tees file
descriptors 1 and 2 (TensorFlow's native messages included) through pipes.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import threading
from collections.abc import Iterator

from ..rundir.outputlog import OutputLog
from .progress import EpochEnd, Finished, Phase, Started

_lock = threading.Lock()
_logs: dict[int, OutputLog] = {}  # thread ident -> the log its writes go to


class _ThreadTee(io.TextIOBase):
    """A sys.stdout/sys.stderr stand-in: writes pass through to ``stream`` and, from a
    thread being captured, into that thread's log as well."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        log = _logs.get(threading.get_ident())
        if log is not None:
            log.write(text)
        return self.stream.write(text) if self.stream is not None else len(text)

    def flush(self) -> None:
        if self.stream is not None:
            self.stream.flush()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return bool(self.stream is not None and self.stream.isatty())

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("fileno")
        return self.stream.fileno()

    def __getattr__(self, name: str):  # (encoding, errors, buffer...: the stream's own)
        return getattr(self.stream, name)


def _install() -> None:
    for name in ("stdout", "stderr"):
        if not isinstance(getattr(sys, name), _ThreadTee):
            setattr(sys, name, _ThreadTee(getattr(sys, name)))


def _uninstall() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _ThreadTee):  # (left alone when someone replaced it since)
            setattr(sys, name, stream.stream)


@contextlib.contextmanager
def capture_thread(run_dir: str | os.PathLike) -> Iterator[OutputLog]:
    """While inside, what this thread writes to sys.stdout/sys.stderr (prints, warnings,
    tracebacks) is also appended to ``run_dir``'s output.log."""
    log = OutputLog(run_dir)
    ident = threading.get_ident()
    with _lock:
        _install()
        _logs[ident] = log
    try:
        yield log
    finally:
        with _lock:
            _logs.pop(ident, None)
            if not _logs:
                _uninstall()
        log.close()


@contextlib.contextmanager
def capture_process(run_dir: str | os.PathLike) -> Iterator[OutputLog]:
    """While inside, everything written to file descriptors 1 and 2 (by any thread, Python
    or native code) still reaches them and is also appended to ``run_dir``'s output.log."""
    log = OutputLog(run_dir)
    pumps = []
    try:
        for fd in (1, 2):
            with contextlib.suppress(OSError):  # (a closed fd: nothing to keep)
                pumps.append(_Pump(fd, log))
        yield log
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        for pump in pumps:
            pump.close()
        log.close()


class _Pump:
    """fd ``fd`` pointed at a pipe whose reader thread copies to the original file and the log."""

    def __init__(self, fd: int, log: OutputLog):
        self.fd, self.log = fd, log
        self.saved = os.dup(fd)
        read_end, write_end = os.pipe()
        os.dup2(write_end, fd)
        os.close(write_end)
        self.read_end = read_end
        self.thread = threading.Thread(target=self._copy, name=f"keraslab-output-{fd}", daemon=True)
        self.thread.start()

    def _copy(self) -> None:
        while True:
            try:
                data = os.read(self.read_end, 65536)
            except OSError:
                return
            if not data:
                return
            self.log.write(data)
            with contextlib.suppress(OSError):  # (the terminal went away: the log still gets it)
                view = memoryview(data)
                while view:
                    view = view[os.write(self.saved, view) :]

    def close(self) -> None:
        os.dup2(self.saved, self.fd)  # the pipe's last write end closes: the reader sees EOF
        self.thread.join(timeout=5)
        os.close(self.saved)
        with contextlib.suppress(OSError):
            os.close(self.read_end)



def event_line(event) -> str | None:
    """The line a session event leaves in output.log when no command line prints it (the app's runs)."""
    if isinstance(event, Phase):
        return f"... {event.message}"
    if isinstance(event, Started):
        return (f"run {event.run_dir}  |  {event.device}  |  {event.params:,} parameters  |  "
                f"{event.train_samples:,} training samples, {event.steps_per_epoch} batches/epoch")  # fmt: skip
    if isinstance(event, EpochEnd):
        logs = "  ".join(f"{k} {v:.4f}" for k, v in event.logs.items() if isinstance(v, (int, float)))
        return f"epoch {event.epoch}/{event.epochs}  {logs}  [{event.elapsed:.0f}s]" + ("  *" if event.improved else "")
    if isinstance(event, Finished):
        return f"status: {event.status}" + (f" ({event.reason})" if event.reason else "")
    return None
