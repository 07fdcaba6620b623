"""Letting go of a terminal that went away (SIGHUP, EIO): the app's runs then finish headless.

An SSH connection that drops hangs up the app's terminal: the kernel sends SIGHUP, and writes
to the tty fail with EIO. The app keeps training: it stops drawing, points every descriptor
that led to the tty at /dev/null, ignores the terminal's signals, and sees its queue through.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import termios
import threading
import time
from collections.abc import Callable

# Signals a terminal sends (keys, job control, its end): a headless process has none to answer.
TERMINAL_SIGNALS = tuple(
    getattr(signal, name)
    for name in ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGWINCH")
    if hasattr(signal, name)
)


class TerminalFile:
    """The app's private copy of the terminal (what Textual draws to). A write or flush that
    fails (EIO on a hung-up tty) is dropped and reported once through ``on_lost``; after
    :meth:`let_go` nothing reaches the tty any more."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._file = os.fdopen(fd, "w", encoding="utf-8", errors="replace", closefd=True)
        self.on_lost: Callable[[str], None] | None = None  # called with a reason, in any thread
        self.gone = False
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._file.write(text)
            except OSError as exc:
                self._lost(f"writing to the terminal failed ({os.strerror(exc.errno or 0)})")
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._file.flush()
            except OSError as exc:
                self._lost(f"writing to the terminal failed ({os.strerror(exc.errno or 0)})")

    def _lost(self, reason: str) -> None:
        callback = self.on_lost
        self.let_go()
        if callback is not None:
            callback(reason)

    def let_go(self) -> None:
        """Point this descriptor and the standard ones that are the terminal at /dev/null
        (standard input then reads end-of-file, as a hung-up tty does: Textual's input thread,
        maybe in a read() already, never blocks). Safe from any thread; once."""
        with self._lock:
            if self.gone:
                return
            self.gone = True
            ours = os.fstat(self.fd)
            devnull = os.open(os.devnull, os.O_RDWR)
            try:
                for fd in (self.fd, 0, 1, 2):
                    if fd == self.fd or _same_file(fd, ours) or _is_tty(fd):
                        with contextlib.suppress(OSError):
                            os.dup2(devnull, fd)
            finally:
                os.close(devnull)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._file.close()

    def __getattr__(self, name: str):  # (fileno, isatty, encoding...: the file's own)
        return getattr(self._file, name)


def _same_file(fd: int, st: os.stat_result) -> bool:
    try:
        other = os.fstat(fd)
    except OSError:
        return False
    return (other.st_dev, other.st_ino, other.st_rdev) == (st.st_dev, st.st_ino, st.st_rdev)


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def hung_up(fd: int) -> bool:
    """Whether ``fd`` is a terminal that has hung up (its ioctls fail with EIO)."""
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] == errno.EIO
    return False


def ignore_terminal_signals() -> None:
    """Headless from now on: the terminal's signals are ignored, and SIGCONT no longer
    restarts Textual's drawing. Main thread only (``signal.signal``)."""
    for sig in TERMINAL_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.signal(signal.SIGCONT, signal.SIG_DFL)


def log(text: str) -> None:
    """One line to fd 2 (the app's stderr log while it runs; /dev/null once headless without one)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    with contextlib.suppress(OSError):
        os.write(2, f"{stamp} keraslab[{os.getpid()}]: {text}\n".encode("utf-8", "replace"))
