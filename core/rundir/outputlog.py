"""A run's console log (output.log): appended as the run prints, read back in bounded pieces."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from ..safefile import open_regular
from .layout import OUTPUT_LOG

# past this size a run's log stops growing (one line says so): a chatty run cannot fill the disk
MAX_LOG_BYTES = 64 * 1024 * 1024
# the most one read gives back (a tail on opening, then what was appended since)
READ_LIMIT = 256 * 1024


class OutputLog:
    """``output.log`` of a run directory opened for appending; ``write`` is thread-safe and
    never raises (the run goes on when its log cannot be written)."""

    def __init__(self, run_dir: str | os.PathLike, max_bytes: int = MAX_LOG_BYTES):
        self.path = Path(run_dir) / OUTPUT_LOG
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        try:
            self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed by close()
            self._size = self._file.tell()
        except OSError:
            self._file, self._size = None, 0

    def write(self, data: str | bytes) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8", "replace")
        with self._lock:
            if self._file is None or not data:
                return
            try:
                if self._size + len(data) > self.max_bytes:
                    self._file.write(f"\n[keraslab: output.log reached {self.max_bytes} bytes; the rest is not kept]\n".encode())
                    self._file.close()
                    self._file = None
                    return
                self._file.write(data)
                self._size += len(data)
            except OSError:  # (a full disk): the log stops, the run does not
                self._file = None

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


@dataclass
class LogChunk:
    """Text read from a log: from byte ``start`` to ``end``; ``skipped`` bytes before it were left unread."""

    text: str
    start: int
    end: int
    skipped: int = 0


def read_output_log(run_dir: str | os.PathLike, offset: int | None = None, limit: int = READ_LIMIT) -> LogChunk:
    """A run's output.log: its last ``limit`` bytes (``offset`` None, from a line start), or
    what was appended from ``offset`` on (at most ``limit`` bytes, ending at a line end when it
    can: a line half read comes whole with the next read). A log that shrank is read again
    from its tail. A missing log reads as empty; OSError for one that cannot be read."""
    path = Path(run_dir) / OUTPUT_LOG
    try:
        f = open_regular(path)
    except FileNotFoundError:
        return LogChunk("", 0, 0)
    with f:
        size = os.fstat(f.fileno()).st_size
        if offset is None or offset > size:
            start = max(0, size - limit)
            f.seek(start)
            data = f.read(size - start)
            if start > 0:  # drop the partial first line
                cut = data.find(b"\n") + 1
                data, start = data[cut:], start + cut
            return LogChunk(_decode(data), start, start + len(data), skipped=start)
        f.seek(offset)
        data = f.read(min(limit, size - offset))
        if len(data) == limit and b"\n" in data:
            data = data[: data.rfind(b"\n") + 1]
        return LogChunk(_decode(data), offset, offset + len(data))


def _decode(data: bytes) -> str:
    return data.decode("utf-8", errors="replace")
