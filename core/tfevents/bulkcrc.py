"""CRC-32C of many TFRecords at once with numpy: record headers from a table, and the data
CRCs of records that differ only in a few bytes (CRC-32C is affine; see :func:`crcs_ok`)."""

from __future__ import annotations

import functools

import numpy as np

from .crc import MASK_DELTA, byte_table, crc32c_function, header_crc
from .fastpath import CLASS_TAIL, SCALAR_TAIL

__all__ = [
    "TABLE_LENGTHS",
    "apply",
    "crc_tables",
    "crcs_ok",
    "dense_ids",
    "header_crcs",
    "header_table",
    "masked",
    "value_width",
    "zero_run",
]

TABLE_LENGTHS = 1 << 16  # record lengths up to this: header CRCs from a table (5 bytes each)


def masked(crc):
    """TFRecord's masked form of uint32 CRCs (as :func:`.crc.mask`)."""
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(MASK_DELTA)


def value_width(suffix: int) -> int:
    """A value's width from its kind's suffix (each kind of :data:`.fastpath.KINDS` has its own)."""
    return 8 if suffix - 8 in (len(SCALAR_TAIL), len(CLASS_TAIL)) else 4


@functools.cache
def header_table():
    """The header CRC (as :func:`.crc.header_crc`) of every length below ``TABLE_LENGTHS``."""
    zero = np.uint32(crc32c_function()(bytes(8)))
    return masked(crc_tables(8, ((0, 2),))[0] ^ zero)


def header_crcs(lengths):
    """Each of ``lengths`` (ints >= 0, at least one) with its header CRC (as
    :func:`.crc.header_crc`), computed once per distinct length: a few among many records."""
    kinds, ids = dense_ids(lengths, int(lengths.max()))
    return np.array([header_crc(x) for x in kinds], dtype=np.uint32)[ids]


@functools.lru_cache(maxsize=256)
def crc_tables(length: int, spans: tuple[tuple[int, int], ...]) -> list:
    """Per varying span (position, 1 or 2 bytes): the CRC-32C contribution of each value.

    CRC-32C is affine: crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0), so a message's CRC is the
    CRC of its constant bytes XOR each varying byte's contribution, and a byte's
    contribution is the XOR of its set bits' contributions.
    """
    crc32c = crc32c_function()
    zero = crc32c(bytes(length))
    values = np.arange(256)
    tables = []
    for start, width in spans:
        per_byte = []
        for p in range(start, start + width):
            t = np.zeros(256, dtype=np.uint32)
            msg = bytearray(length)
            for bit in range(8):
                msg[p] = 1 << bit
                t[(values >> bit) & 1 == 1] ^= np.uint32(crc32c(bytes(msg)) ^ zero)
            per_byte.append(t)
        if width == 2:  # indexed by the little-endian u16 of the two bytes
            per_byte = [(per_byte[1][:, None] ^ per_byte[0][None, :]).ravel()]
        tables.append(per_byte[0])
    return tables


_ZERO_POWERS: list[np.ndarray] = []  # zero_run(2 ** i)
# zero_run(0): each byte of c, in its place, is c
_NO_ZEROS = np.arange(256, dtype=np.uint32)[None, :] << (np.arange(4, dtype=np.uint32)[:, None] * 8)


@functools.lru_cache(maxsize=1024)
def zero_run(k: int) -> np.ndarray:
    """What appending ``k`` zero bytes does to a CRC-32C's linear part: ``(4, 256)`` tables,
    the new value of ``c`` being the XOR of ``t[j][(c >> 8j) & 0xFF]`` over its four bytes.
    Composed from runs of 1, 2, 4, ... zero bytes (``k`` may be large: a record as long as
    its tag)."""
    if not _ZERO_POWERS:
        step = np.array(byte_table(), dtype=np.uint32)  # one zero byte: c -> (c >> 8) ^ T[c & 0xFF]
        c = _NO_ZEROS
        _ZERO_POWERS.append((c >> np.uint32(8)) ^ step[c & np.uint32(0xFF)])
    z = _NO_ZEROS
    for i in range(k.bit_length()):
        while len(_ZERO_POWERS) <= i:
            _ZERO_POWERS.append(apply(_ZERO_POWERS[-1], _ZERO_POWERS[-1]))
        if k >> i & 1:
            z = apply(_ZERO_POWERS[i], z)
    return z


def apply(z: np.ndarray, c: np.ndarray, base=0) -> np.ndarray:
    """``z`` (see :func:`zero_run`) applied to every value of ``c``. With the tables of
    several runs side by side (``z`` of shape ``(4, kinds * 256)``), ``base`` is where each
    value's own tables start."""
    out = z[0][base + (c & 0xFF)]
    for j in (1, 2, 3):
        out ^= z[j][base + ((c >> (8 * j)) & 0xFF)]
    return out


def crcs_ok(v, groups: list, ds, de, size, nvar, columns, suffix):
    """Per record (all of ``groups``' members): whether its data has the CRC the record stores.

    A record's data is ``09 <wall 8> <byte 9> <step...> KEY <value 4> TAIL``; only the wall
    time, step and value vary within a group, everything else was checked equal to the
    group's first record. CRC-32C is affine, so the CRC is the CRC of the record with
    those bytes zeroed (one per group and size) XOR the share of the bytes zeroed:
    the head (bytes 1..8 and 10..h-1, step varints and perhaps some key bytes) from
    tables for a message ending at ``h``, shifted by the ``size - h`` bytes after it
    (:func:`zero_run`), and the value from tables for its fixed distance to the end
    (``suffix``: a kind's, which also says the value's width, see :func:`_kinds`).
    ``columns`` are every record's bytes 1..8, 9..16 and value (u64).
    """
    m = len(ds)
    ok = np.zeros(m, dtype=bool)
    if not groups:
        return ok
    gid = np.full(m, -1, dtype=np.int64)
    for g, members in enumerate(groups):
        gid[members] = g
    idx = np.flatnonzero(gid >= 0)
    if len(idx) == m:  # (the usual case: every record is a scalar of a known tag)
        walls, head, values = (c.view(np.int64) for c in columns)
        d, e, suf = ds, de, suffix
    else:
        walls, head, values = (c[idx].view(np.int64) for c in columns)
        d, e, size, nvar, gid, suf = ds[idx], de[idx], size[idx], nvar[idx], gid[idx], suffix[idx]
    h = 10 + 2 * max(1, -(-int(nvar.max()) // 2))  # the step's bytes, in 2-byte spans
    spans = (1, 3, 5, 7, *range(10, h, 2))
    parts = [(walls >> (16 * j)) & 0xFFFF for j in range(4)]
    for p in spans[4:]:  # bytes 10..16 are in head (bytes 9..16); a 7-byte step is not
        parts.append((head >> (8 * (p - 9))) & 0xFFFF if p < 16 else v.u16[d + p].astype(np.int64))
    crc = np.zeros(len(idx), dtype=np.uint32)
    for part, table in zip(parts, crc_tables(h, tuple((p, 2) for p in spans)), strict=True):
        crc ^= table[part]
    # shift the head's share past the rest of its record: one table set per distinct size
    k = size - h
    kmin, kmax = int(k.min()), int(k.max())
    crc = crc.astype(np.int64)
    if kmin == kmax:
        kinds, kid, base = [kmin], 0, 0
        z = zero_run(kmin)
    else:
        kinds, kid = dense_ids(k, kmax)
        z = np.stack([zero_run(x) for x in kinds])  # [kid][j][byte] ...
        z = z.transpose(1, 0, 2).reshape(4, -1)  # ... as [j][kid * 256 + byte]
        base = kid * 256
    crc = apply(z, crc, base)
    lo, hi = int(suf.min()), int(suf.max())
    for sx in [lo] if lo == hi else np.unique(suf).tolist():  # (usually one kind)
        sel = slice(None) if lo == hi else suf == sx
        width = value_width(sx)
        spans = tuple((p, 2) for p in range(0, width, 2))
        vals = values[sel]
        for p, table in zip(range(0, width, 2), crc_tables(sx, spans), strict=True):
            crc[sel] ^= table[(vals >> (8 * p)) & 0xFFFF]
    # the zeroed record's CRC, per group and size (any member: their other bytes are equal)
    pair = gid * len(kinds) + kid
    rep = np.full(len(groups) * len(kinds), -1, dtype=np.int64)
    rep[pair] = idx
    const = np.zeros(len(rep), dtype=np.uint32)
    crc32c = crc32c_function()
    buf = v.buf
    for q in np.flatnonzero(rep >= 0).tolist():
        r = int(rep[q])
        rec = bytearray(buf[int(ds[r]) : int(de[r])])
        rec[1:9] = bytes(8)
        rec[10:h] = bytes(h - 10)
        sx = int(suffix[r])
        width = value_width(sx)
        rec[len(rec) - sx : len(rec) - sx + width] = bytes(width)
        const[q] = crc32c(bytes(rec))
    crc ^= const[pair]
    ok[idx] = masked(crc) == v.u32[e]
    return ok


def dense_ids(x, xmax: int) -> tuple[list[int], object]:
    """The distinct values of ``x`` (ints >= 0), ascending, and each one's index among them."""
    if xmax < TABLE_LENGTHS:
        seen = np.zeros(xmax + 1, dtype=bool)
        seen[x] = True
        ids = np.cumsum(seen) - 1
        return np.flatnonzero(seen).tolist(), ids[x]
    uniq, inv = np.unique(x, return_inverse=True)
    return uniq.tolist(), inv.reshape(-1)
