"""A big buffer's records decoded on all cores: the bulk decoder's work (:mod:`.bulk`) split
into pieces for a thread pool, handed back in file order.

Records are independent once framed, and numpy and crc32c release the GIL, so threads
suffice: the pieces share the buffer (no copy), and the reader takes a decoded piece's
points (Python lists: the GIL's part) while the pool decodes the next pieces.
"""

from __future__ import annotations

import functools
import itertools
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import bulk

__all__ = ["PIECE_BYTES", "PIECE_RECORDS", "decode_pieces", "tail_index", "workers"]

PIECE_BYTES = 1 << 19  # a buffer is searched for records in pieces of at least this size
PIECE_RECORDS = 1 << 13  # a run is decoded in pieces of at least this many records
_MAX_WORKERS = 8
_PIECES_PER_WORKER = 4  # (more pieces than threads: the first is taken while others decode)


@functools.cache
def workers() -> int:
    """How many threads decode at once: the cores this process may use (at most 8)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (not on Linux)
        cores = os.cpu_count() or 1
    return max(1, min(cores, _MAX_WORKERS))


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(workers(), thread_name_prefix="keraslab-events")


if hasattr(os, "register_at_fork"):  # a forked child has none of the pool's threads: a new pool
    os.register_at_fork(after_in_child=_pool.cache_clear)


def _cuts(n: int, least: int, per_worker: int = 1) -> list[int]:
    """``[0, ..., n]``: ``n`` split into up to ``per_worker`` pieces per worker (when
    there are several), each of at least ``least``."""
    k = max(1, min(workers() * per_worker if workers() > 1 else 1, n // max(least, 1)))
    return np.linspace(0, n, k + 1).astype(np.int64).tolist()


def tail_index(v: bulk.Views) -> bulk.TailIndex:
    """:class:`.bulk.TailIndex` of ``v``, its record search split across the pool."""
    cuts = _cuts(v.n, PIECE_BYTES)
    if len(cuts) == 2:
        return bulk.TailIndex(v)
    pieces = list(_pool().map(lambda i: bulk.tail_ends(v, cuts[i], cuts[i + 1]), range(len(cuts) - 1)))
    ends = np.concatenate(pieces)
    if len(ends) > 1 and (ends[1:] <= ends[:-1]).any():  # (look-alikes across a cut)
        ends = np.unique(ends)
    return bulk.TailIndex(v, ends)


def decode_pieces(v: bulk.Views, starts, ends, resolve) -> Iterator[tuple]:
    """:func:`.bulk.decode_run` of a run in pieces, decoded across the pool: yields each
    piece's ``(run, starts, ends)`` in order, as soon as it is ready, so that the caller
    takes one piece's points while the pool decodes the next ones."""
    cuts = _cuts(len(starts), PIECE_RECORDS, _PIECES_PER_WORKER)
    if len(cuts) == 2:
        yield bulk.decode_run(v, starts, ends, resolve), starts, ends
        return
    pieces = [(starts[a:b], ends[a:b]) for a, b in itertools.pairwise(cuts)]
    futures = [_pool().submit(bulk.decode_run, v, a, b, resolve) for a, b in pieces]
    for future, (a, b) in zip(futures, pieces, strict=True):
        yield future.result(), a, b
