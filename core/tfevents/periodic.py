"""Periodic blocks: scalar records repeating with a fixed period, checked and decoded as rows.

A writer that logs the same tags in the same order at every step (PyTorch, tensorboardX,
Keras) writes a stretch of records whose bytes repeat period after period, except for
each record's wall time, step, value and data CRC. :func:`block` finds one period by
reading its records one by one (headers, data CRCs and layouts checked as the loop checks
them), then takes the following periods as rows of a 2-D array: a row belongs to the
block when its bytes equal the first row's everywhere but those fields (each step's
varint continuation bits included, so every row parses as the first one does) and every
record's data CRC holds (:func:`.bulkcrc.crcs_ok`). No record search, no grouping: the
columns are read at fixed offsets. Anything else is left to :mod:`.bulk` and the loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .bulkcrc import crcs_ok
from .crc import header_crc, masked_crc32c
from .fastpath import KINDS, key_kind, split_scalar
from .framing import FOOTER, FOOTER_LENGTH, HEADER, HEADER_LENGTH, RECORD_OVERHEAD

__all__ = ["MIN_ROWS", "Block", "block", "find"]

MIN_ROWS = 8  # fewer periods than this are not worth a block
_MAX_PERIOD = 1024  # records in one period at most
_MAX_STEP_BYTES = 7  # a step's varint within the record's bytes 10..16 (steps below 2**49)
_TRIES = 8  # find() tries a block at this many record boundaries


class Block:
    """``[start, end)`` of a buffer: ``columns`` holds per record of the period its tag,
    steps (int64), wall times and values (float64), in the period's (file) order."""

    __slots__ = ("columns", "end", "start")

    def __init__(self, start: int, end: int, columns: list[tuple]):
        self.start, self.end, self.columns = start, end, columns


def _period(buf: bytes, pos: int, resolve) -> list[tuple] | None:
    """The records of one period from ``pos``: ``(offset, end, data, kind, tag)`` each,
    read until the first record's key comes again; None when a record is no fast-path
    scalar of a known tag, fails a check, or a tag comes twice before the first again."""
    n = len(buf)
    recs: list[tuple] = []
    tags: set[str] = set()
    first = None
    p = pos
    while len(recs) <= _MAX_PERIOD:
        if p + HEADER_LENGTH > n:
            return None
        length, hcrc = HEADER.unpack_from(buf, p)
        end = p + RECORD_OVERHEAD + length
        if end > n or header_crc(length) != hcrc:
            return None
        data = buf[p + HEADER_LENGTH : end - FOOTER_LENGTH]
        split = split_scalar(data)
        if split is None:
            return None
        key, kind = split
        if key == first:
            return recs
        if masked_crc32c(data) != FOOTER.unpack_from(buf, end - FOOTER_LENGTH)[0]:
            return None
        tag = resolve(key, data)
        if tag is None or tag in tags or key_kind(key) != kind:
            return None
        if first is None:
            first = key
        tags.add(tag)
        recs.append((p - pos, end - pos, data, kind, tag))
        p = end
    return None


def find(v, pos: int, resolve, tries: int = _TRIES) -> Block | None:
    """The first :func:`block` starting within the next ``tries`` records or periods
    from ``pos`` (a log's first step often differs: a text, a graph, step 0 written
    without a step field); the records before it are the caller's."""
    buf, n = v.buf, v.n
    for _ in range(tries):
        recs = _period(buf, pos, resolve)
        found = block(v, pos, resolve, recs)
        if found is not None:
            return found
        if recs:  # (one period that the next does not repeat: try from the next)
            pos += recs[-1][1]
            if (n - pos) // recs[-1][1] < MIN_ROWS:
                return None  # (too little left for a block of such periods)
            continue
        if pos + HEADER_LENGTH > n:
            return None
        length, hcrc = HEADER.unpack_from(buf, pos)
        pos += RECORD_OVERHEAD + length
        if pos > n or header_crc(length) != hcrc:
            return None
    return None


def block(
    v, pos: int, resolve: Callable[[bytes, bytes | None], str | None], recs=None
) -> Block | None:
    """The periodic block of ``v`` (a :class:`.bulk.Views`) starting at ``pos`` (a record
    boundary), or None when there is none of at least :data:`MIN_ROWS` periods.
    ``resolve(key, data)`` names a key's tag, as for :func:`.bulk.decode_run`; ``recs``
    is the period at ``pos`` when already read."""
    buf, n = v.buf, v.n
    if recs is None:
        recs = _period(buf, pos, resolve)
    if not recs:
        return None
    period = recs[-1][1]
    rows = (n - pos) // period
    if rows < MIN_ROWS or period < 8:
        return None
    # which bits of a period must equal the first row's: all but the varying fields
    mask = np.full(period, 0xFF, dtype=np.uint8)
    spans = []  # per record: data start, data end, step bytes, suffix, width
    for off, end, data, kind, _ in recs:
        ds, de = off + HEADER_LENGTH, end - FOOTER_LENGTH
        tail, width = KINDS[kind]
        suffix = width + len(tail)
        mask[ds + 1 : ds + 9] = 0  # wall time
        nvar = 0
        if data[9] == 0x10:  # a step field: its varint's bytes, their continuation bits kept
            while data[10 + nvar] >= 0x80:
                nvar += 1
            nvar += 1
            if nvar > _MAX_STEP_BYTES:
                return None
            mask[ds + 10 : ds + 10 + nvar] = 0x80
        mask[de - suffix : de - suffix + width] = 0  # value
        mask[de:end] = 0  # data CRC
        spans.append((ds, de, nvar, suffix, width))
    if _equal_rows(buf, pos, period, 2, mask) < 2:  # (a quick look at one period first)
        return None
    rows = _equal_rows(buf, pos, period, rows, mask)
    if rows < MIN_ROWS:
        return None
    # every record's data CRC, all at once (records of one period position form a group)
    p = len(recs)
    base = pos + period * np.arange(rows, dtype=np.int64)[:, None]
    ds = (base + np.array([s[0] for s in spans], dtype=np.int64)).ravel()
    de = (base + np.array([s[1] for s in spans], dtype=np.int64)).ravel()
    suffix = np.tile(np.array([s[3] for s in spans], dtype=np.int64), rows)
    nvar = np.tile(np.array([s[2] for s in spans], dtype=np.int64), rows)
    walls = v.u64[ds + 1]
    head = v.u64[ds + 9]
    values = v.u64[de - suffix]  # (a float32's bits are the low half: crcs_ok reads no more)
    groups = [np.arange(j, rows * p, p) for j in range(p)]
    ok = crcs_ok(v, groups, ds, de, de - ds, nvar, (walls, head, values), suffix)
    if not ok.all():
        rows = int(np.argmin(ok)) // p
        if rows < MIN_ROWS:
            return None
    columns = []
    with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN, quietly
        for j, (rec, (_, _, nv, _, width)) in enumerate(zip(recs, spans, strict=True)):
            tag = rec[4]
            h = head[j : rows * p : p]
            steps = np.zeros(rows, dtype=np.uint64)
            for i in range(nv):
                steps |= ((h >> np.uint64(8 * i + 8)) & np.uint64(0x7F)) << np.uint64(7 * i)
            x = values[j : rows * p : p]
            x = x.view("<f8") if width == 8 else x.astype(np.uint32).view("<f4").astype(np.float64)
            columns.append((tag, steps.view(np.int64), walls[j : rows * p : p].view("<f8"), x))
    return Block(pos, pos + rows * period, columns)


def _equal_rows(buf: bytes, pos: int, period: int, rows: int, mask) -> int:
    """How many rows of ``period`` bytes from ``pos`` equal the first under ``mask``
    (compared 8 bytes at a time, the row's last 8 bytes as one more word)."""
    q = period // 8
    words = np.ndarray((rows, q), dtype="<u8", buffer=buf, offset=pos, strides=(period, 8))
    last = np.ndarray((rows,), dtype="<u8", buffer=buf, offset=pos + period - 8, strides=(period,))
    m64 = np.frombuffer(mask[: q * 8].tobytes(), dtype="<u8")
    mlast = np.frombuffer(mask[period - 8 :].tobytes(), dtype="<u8")[0]
    diff = words ^ words[0]
    diff &= m64
    bad = diff.any(axis=1)
    bad |= ((last ^ last[0]) & mlast) != 0
    return int(np.argmax(bad)) if bad.any() else rows
