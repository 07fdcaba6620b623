"""Opening files found in a log directory: regular files only, never blocking, paths kept inside.

A FIFO named like ``status.json`` would block a plain ``open()`` forever, and a device file
would read forever; a path read from a file (the summary cache, say) may point anywhere.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class NotRegularFile(OSError):
    """The path is a FIFO, socket, device or directory: nothing keraslab reads."""

    def __init__(self, path: str | os.PathLike, mode: int):
        self.kind = _kind(mode)  # "a FIFO", "a socket", ...
        super().__init__(f"{os.fspath(path)}: not a regular file ({self.kind})")


def open_regular_fd(path: str | os.PathLike) -> tuple[int, os.stat_result]:
    """A read-only descriptor of ``path`` and its fstat, if it is a regular file (symlinks followed).

    The open itself never blocks (``O_NONBLOCK``: reads of a regular file ignore it).
    Raises NotRegularFile for anything else, OSError as ``os.open`` would.
    """
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFile(path, st.st_mode)
    except BaseException:
        os.close(fd)
        raise
    return fd, st


def open_regular(path: str | os.PathLike, binary: bool = True):
    """Open ``path`` for reading if it is a regular file (symlinks followed).

    The open itself never blocks (``O_NONBLOCK``, cleared once the file is known to be
    regular). Raises NotRegularFile for anything else, OSError as ``open`` would.
    """
    fd, _ = open_regular_fd(path)
    try:
        if _NONBLOCK and hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        f = io.open(fd, "rb", closefd=True)  # noqa: UP020 - an fd, not a path
    except BaseException:
        os.close(fd)
        raise
    return f if binary else io.TextIOWrapper(f, encoding="utf-8", errors="replace")


def read_bytes(path: str | os.PathLike, offset: int = 0, limit: int | None = None) -> bytes:
    """A regular file's bytes from ``offset`` (at most ``limit`` of them)."""
    with open_regular(path) as f:
        if offset:
            f.seek(offset)
        return f.read() if limit is None else f.read(limit)


def read_text(path: str | os.PathLike) -> str:
    """A regular file's text (UTF-8, undecodable bytes replaced)."""
    return read_bytes(path).decode("utf-8", errors="replace")


def unreadable(path: str | os.PathLike, exc: OSError) -> str:
    """The one-line warning for a file of a run that could not be read (and is skipped)."""
    if isinstance(exc, NotRegularFile):
        return f"{os.fspath(path)}: not a regular file ({exc.kind}), skipped"
    return f"{os.fspath(path)}: unreadable ({exc.strerror or exc})"


def is_regular(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a regular file (symlinks followed), without opening it."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def inside(path: str | os.PathLike, root: str | os.PathLike) -> Path | None:
    """``path`` resolved (symlinks too), if it lies inside ``root`` resolved; else None."""
    try:
        real = Path(path).resolve()
        base = Path(root).resolve()
    except (OSError, RuntimeError, ValueError):
        return None
    return real if real == base or base in real.parents else None


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):  # fmt: skip
        if test(mode):
            return name
    return "not a file"
