"""A big buffer's records decoded on all cores: the bulk decoder's work (:mod:`.bulk`) split
into pieces for a thread pool and merged back, in file order.

Records are independent once framed, and numpy and crc32c release the GIL, so threads
suffice: the pieces share the buffer (no copy), and what they return is merged as if one
call had decoded the whole.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from . import bulk

__all__ = ["PIECE_BYTES", "PIECE_RECORDS", "decode", "tail_index", "workers"]

PIECE_BYTES = 1 << 19  # a buffer is searched for records in pieces of at least this size
PIECE_RECORDS = 1 << 13  # a run is decoded in pieces of at least this many records
_MAX_WORKERS = 8


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


def _cuts(n: int, least: int) -> list[int]:
    """``[0, ..., n]``: ``n`` split into up to :func:`workers` pieces of at least ``least``."""
    k = max(1, min(workers(), n // max(least, 1)))
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


def decode(v: bulk.Views, starts, ends, resolve) -> bulk.Run:
    """:func:`.bulk.decode_run` of a run, its records decoded in pieces across the pool."""
    cuts = _cuts(len(starts), PIECE_RECORDS)
    if len(cuts) == 2:
        return bulk.decode_run(v, starts, ends, resolve)
    parts = list(
        _pool().map(
            lambda i: bulk.decode_run(v, starts[cuts[i] : cuts[i + 1]], ends[cuts[i] : cuts[i + 1]], resolve),
            range(len(cuts) - 1),
        )
    )
    return bulk.merge_runs(parts)
