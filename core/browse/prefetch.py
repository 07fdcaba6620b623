"""Fetching the files of runs about to be read, in threads: a cold disk serves many reads at once faster than one after another."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..safefile import open_regular_fd
from .keraslab_state import KeraslabRunState
from .runstate import RunState

THREADS = 8
_FIRST_BYTES = 1 << 16  # what a first read of a run's small files needs (metrics.jsonl: its head)


def _fetch(folder: str, names: tuple[str, ...]) -> None:
    """Read the first bytes of a run's files into the page cache; anything but a regular
    file is left alone."""
    for name in names:
        try:
            fd, _ = open_regular_fd(os.path.join(folder, name))
        except OSError:
            continue
        try:
            os.read(fd, _FIRST_BYTES)
        except OSError:
            pass
        finally:
            os.close(fd)


class Prefetcher:
    """A pool of threads that read ahead the files a keraslab run's first refresh reads.

    Only warms the operating system's cache: the bytes are dropped, the refresh reads
    the files as always (checked and parsed in one place). Used as a context manager;
    leaving it drops what is still queued.
    """

    def __init__(self, threads: int = THREADS):
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    def submit(self, states: Iterable[RunState]) -> None:
        for state in states:
            if isinstance(state, KeraslabRunState):
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(
                        self.threads, thread_name_prefix="keraslab-prefetch"
                    )
                self._pool.submit(_fetch, os.fspath(state.path), state.FILES)

    def __enter__(self) -> Prefetcher:
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
