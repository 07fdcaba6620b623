"""Bulk decoding of event-file bytes with numpy: runs of TF2 scalar records checked and decoded at once.

TF2 and Keras 3 write each scalar as one TFRecord whose Event ends with the "scalars"
plugin tail (see :mod:`.fastpath`). In a big file almost every record is such a
scalar, so instead of one Python step per record this module:

1. finds every record that ends with that tail (one numpy search over the bytes) and
   chains them by their CRC-checked length headers into *runs* of consecutive records;
   anything between runs is a *gap*, left to the reader's record-by-record loop;
2. groups a run's records by their key (the tag's bytes), checks every key byte against
   the group's first record, and verifies each record's data CRC at once: CRC-32C is
   affine, so for records that differ only in their wall time, step and value bytes the
   CRC is a constant XOR a table lookup per two varying bytes (see ``_crc_ok``);
3. decodes wall times, steps and values as numpy columns.

Nothing is trusted that a record-by-record read would reject: headers are checked,
every data CRC is verified, and records that do not fit the layout (or whose checksum
fails) are handed back to the caller, in file order.
"""

from __future__ import annotations

import functools
import itertools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator

import numpy as np

from .crc import MASK_DELTA, byte_table, crc32c_function, header_crc, masked_crc32c
from .fastpath import SCALAR_SUFFIX, SCALAR_TAIL
from .framing import FOOTER_LENGTH, HEADER, HEADER_LENGTH, RECORD_OVERHEAD

__all__ = ["Run", "TailIndex", "Views", "decode_run", "file_segments", "runs_and_gaps"]

_TAIL_HEAD = np.uint64(int.from_bytes(SCALAR_TAIL[:8], "little"))
_TAIL_END = np.uint64(int.from_bytes(SCALAR_TAIL[-8:], "little"))
_TAIL_LEN = len(SCALAR_TAIL)
_MIN_KEY = 15  # summary, value and tag headers, a 1-byte tag and the tensor header
_HASH = np.uint64(0x9E3779B97F4A7C15)
_TABLE_LENGTHS = 1 << 16  # record lengths up to this: header CRCs from a table (5 bytes each)


class Views:
    """``buf`` seen as bytes, and as little-endian u16 / u32 / u64 starting at every byte."""

    __slots__ = ("b", "buf", "n", "u16", "u32", "u64")

    def __init__(self, buf: bytes):
        n = self.n = len(buf)
        self.buf = buf
        self.b = np.frombuffer(buf, dtype=np.uint8)
        self.u64 = np.ndarray((max(n - 7, 0),), dtype="<u8", buffer=buf, strides=(1,))
        self.u16 = np.ndarray((max(n - 1, 0),), dtype="<u2", buffer=buf, strides=(1,))
        self.u32 = np.ndarray((max(n - 3, 0),), dtype="<u4", buffer=buf, strides=(1,))


def _masked(crc):
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(MASK_DELTA)


def _tail_ends(v: Views):
    """Sorted ends of every complete record that could end with the scalars tail."""
    n = v.n
    if n < HEADER_LENGTH + _TAIL_LEN + FOOTER_LENGTH:
        return np.zeros(0, dtype=np.int64)
    # the tail at t..t+12 and its data CRC after it: the record ends at t + 17 <= n;
    # look for its first byte (a plain byte compare is the fastest scan), then check it whole
    t = np.flatnonzero(v.b[HEADER_LENGTH : n - _TAIL_LEN - 3] == SCALAR_TAIL[0]) + HEADER_LENGTH
    t = t[(v.u64[t + (_TAIL_LEN - 8)] == _TAIL_END) & (v.u64[t] == _TAIL_HEAD)]
    return t + (_TAIL_LEN + FOOTER_LENGTH)


def _links_ok(v: Views, ends):
    """``ok[k]``: a record starting at ``ends[k-1]`` has a valid header and ends at ``ends[k]``."""
    ok = np.zeros(len(ends), dtype=bool)
    if len(ends) < 2:
        return ok
    starts = ends[:-1]
    lengths = v.u64[starts].astype(np.int64)  # (a garbage length is no fit: any sign will do)
    fits = lengths == ends[1:] - starts - RECORD_OVERHEAD
    lengths[~fits] = 0
    ok[1:] = fits & (v.u32[starts + 8] == _header_crcs(lengths))
    return ok


def _ends_at(buf: bytes, pos: int, end: int) -> bool:
    """Whether the record at ``pos`` has a valid header and ends exactly at ``end``."""
    if pos + HEADER_LENGTH > end:
        return False
    length, hcrc = HEADER.unpack_from(buf, pos)
    return pos + RECORD_OVERHEAD + length == end and header_crc(length) == hcrc


class TailIndex:
    """What :func:`runs_and_gaps` needs of a whole buffer: the candidate record ends and
    the chain breaks among them (always including 0), as arrays and, on demand, lists."""

    def __init__(self, v: Views):
        self.ends = _tail_ends(v)
        self.breaks = np.flatnonzero(~_links_ok(v, self.ends))

    @functools.cached_property
    def ends_list(self) -> list[int]:
        return self.ends.tolist()

    @functools.cached_property
    def breaks_list(self) -> list[int]:
        return self.breaks.tolist()


def runs_and_gaps(v: Views, lo: int = 0, hi: int | None = None, index=None) -> Iterator[tuple]:
    """Split ``v.buf[lo:hi]`` (starting at a record boundary) into runs and gaps, in order.

    Yields ``("run", starts, ends)`` for consecutive records that end with the scalars
    tail (numpy arrays of byte offsets into ``v.buf``) and ``("gap", start, stop)`` for
    the bytes between runs, where ``stop`` is ``None`` when the gap reaches ``hi`` (it
    may end in an incomplete or damaged record: the caller's loop judges). ``index``
    is the :class:`TailIndex` of the whole buffer, when several regions share it.
    """
    buf = v.buf
    hi = v.n if hi is None else hi
    index = TailIndex(v) if index is None else index
    ends, ends_list, breaks = index.ends, index.ends_list, index.breaks_list
    last = bisect_right(ends_list, hi) - 1  # no run goes past hi
    pos = lo
    while pos < hi:
        j = bisect_right(ends_list, pos)
        if j <= last and _ends_at(buf, pos, ends_list[j]):
            b = bisect_right(breaks, j)
            k = min(breaks[b] - 1 if b < len(breaks) else last, last)
            starts = np.empty(k - j + 1, dtype=np.int64)
            starts[0] = pos
            starts[1:] = ends[j:k]
            yield "run", starts, ends[j : k + 1]
            pos = ends_list[k]
            continue
        # a gap: follow headers until a run starts, the region ends or a header is bad
        start = p = pos
        stop = None
        while p + HEADER_LENGTH <= hi:
            length, hcrc = HEADER.unpack_from(buf, p)
            if header_crc(length) != hcrc or p + RECORD_OVERHEAD + length > hi:
                break
            p += RECORD_OVERHEAD + length
            j = bisect_right(ends_list, p)
            if j <= last and _ends_at(buf, p, ends_list[j]):
                stop = p
                break
        yield "gap", start, stop
        if stop is None:
            return
        pos = stop


def file_segments(v: Views, los: list[int], his: list[int], index) -> list[list[tuple]]:
    """``list(runs_and_gaps(v, lo, hi, index))`` of each region (files joined in one buffer),
    for all regions of the usual shape at once: one record (the file version), then one
    run to the region's end. Other regions go through :func:`runs_and_gaps` itself."""
    ends, brk = index.ends, index.breaks
    lo = np.asarray(los, dtype=np.int64)
    hi = np.asarray(his, dtype=np.int64)
    usual = np.zeros(len(lo), dtype=bool)
    if len(ends) and len(lo):
        ne, n = len(ends), v.n
        room = (hi - lo >= HEADER_LENGTH) & (lo + HEADER_LENGTH <= n)
        length0, p1 = _next_record(v, np.where(room, lo, 0))  # the first record: [lo, p1)
        room &= (length0 >= 0) & (p1 + HEADER_LENGTH <= hi)
        j0 = np.minimum(np.searchsorted(ends, lo, side="right"), ne - 1)
        room &= ends[j0] != p1  # (a file starting with a scalar: a run right away)
        p1 = np.where(room, p1, 0)
        length1, e1 = _next_record(v, p1)  # the run's first record: [p1, e1)
        j1 = np.searchsorted(ends, p1, side="right")
        room &= (length1 >= 0) & (j1 < ne) & (ends[np.minimum(j1, ne - 1)] == e1) & (e1 <= hi)
        last = np.searchsorted(ends, hi, side="right") - 1
        b = np.searchsorted(brk, j1, side="right")
        k = np.minimum(np.where(b < len(brk), brk[np.minimum(b, len(brk) - 1)] - 1, last), last)
        usual = room & (k >= j1) & (ends[np.clip(k, 0, ne - 1)] == hi)
    out: list[list[tuple]] = []
    if usual.any():
        u = np.flatnonzero(usual)
        j1u, ku = j1[u], k[u]
        sizes = ku - j1u + 1
        at = np.zeros(len(u) + 1, dtype=np.int64)
        np.cumsum(sizes, out=at[1:])
        pick = np.repeat(j1u - at[:-1], sizes) + np.arange(int(at[-1]))
        e_all = ends[pick]
        s_all = np.empty_like(e_all)
        s_all[1:] = e_all[:-1]
        s_all[at[:-1]] = p1[u]
        where = dict(zip(u.tolist(), itertools.pairwise(at.tolist()), strict=True))
        p1s = p1.tolist()
    else:
        where = {}
    for i, (a, z) in enumerate(zip(los, his, strict=True)):
        span = where.get(i)
        if span is None:
            out.append(list(runs_and_gaps(v, a, z, index)))
        else:
            c0, c1 = span
            out.append([("gap", a, p1s[i]), ("run", s_all[c0:c1], e_all[c0:c1])])
    return out


def _next_record(v: Views, pos):
    """Per position: the length of the record starting there and where it ends, or
    ``(-1, -1)`` when its header is not valid (its whole header must be within the buffer)."""
    length = v.u64[pos]
    fine = length < np.uint64(v.n)
    length = np.where(fine, length, np.uint64(0)).astype(np.int64)
    fine &= v.u32[pos + 8] == _header_crcs(length)
    return np.where(fine, length, -1), np.where(fine, pos + RECORD_OVERHEAD + length, -1)


def _header_crcs(lengths):
    """Each of ``lengths`` (ints >= 0, at least one) with its header CRC (as
    :func:`.crc.header_crc`), computed once per distinct length: a few among many records."""
    kinds, ids = _dense_ids(lengths, int(lengths.max()))
    return np.array([header_crc(x) for x in kinds], dtype=np.uint32)[ids]


@functools.lru_cache(maxsize=256)
def _crc_tables(length: int, spans: tuple[tuple[int, int], ...]) -> list:
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


def _varint_steps(head, b, ds, has_step, n: int):
    """Steps (int64) and their varint sizes for records with a step field at ``ds + 9``;
    ``head`` holds each record's bytes 9..16 (a u64), the rest is read from ``b``."""
    steps = np.zeros(len(ds), dtype=np.uint64)
    size = np.zeros(len(ds), dtype=np.int64)
    going = has_step.copy()
    for i in range(10):
        if not going.any():
            break
        if i < 7:
            byte = (head >> np.uint64(8 * i + 8)) & np.uint64(0xFF)
        else:
            byte = b[np.minimum(ds + 10 + i, n - 1)].astype(np.uint64)
        steps |= np.where(going, (byte & np.uint64(0x7F)) << np.uint64(7 * i), np.uint64(0))
        size += going
        going &= byte >= 0x80
    return steps.view(np.int64), size, going  # going: no end within 10 bytes


class Run:
    """A decoded run of records: per record its columns and whether the caller must read
    it itself (``slow``) or it failed its checksum (``corrupt``); ``groups`` holds each
    tag's key and its decoded records (indices, file order)."""

    __slots__ = (
        "_columns", "_members", "_odd", "_pieces", "corrupt", "groups", "slow", "steps",
        "values", "walls",
    )

    def __init__(self, m: int):
        self.groups: list[tuple[str, bytes, object]] = []
        self.slow = np.ones(m, dtype=bool)
        self.corrupt = np.zeros(m, dtype=bool)
        self.steps = self.walls = self.values = None
        self._columns: list[tuple] | None = None
        self._members: list[tuple] | None = None  # per group: tag, members and columns, as lists
        self._pieces: dict[tuple[int, int], list[tuple]] = {}  # (lo, hi) -> points, see split
        self._odd: dict[str, list[int]] = {}

    def odd(self, which: str, lo: int, m: int) -> list[int]:
        """The records among ``lo...lo+m`` that are ``which`` ("slow" or "corrupt"), relative
        to ``lo`` (the whole run's are found once: many files share one run)."""
        found = self._odd.get(which)
        if found is None:
            found = self._odd[which] = np.flatnonzero(getattr(self, which)).tolist()
        if not found:  # (the usual case)
            return []
        a = bisect_left(found, lo)
        b = bisect_left(found, lo + m, a)
        return [i - lo for i in found[a:b]]

    def points(self, lo: int, hi: int) -> list[tuple]:
        """``(first, tag, steps, walls, values)``: lists of the decoded records in ``[lo, hi)``
        per tag, tags in the order their first record (``first``, an index) comes."""
        piece = self._pieces.pop((lo, hi), None)
        if piece is not None:
            return piece
        if self._members is None:  # (a file with odd records: many calls, each a few rows)
            self._members = [
                (tag, m.tolist(), *columns)
                for (tag, _, m), columns in zip(self.groups, self._lists(), strict=True)
            ]
        found = []
        for tag, members, steps, walls, values in self._members:
            a = bisect_left(members, lo)
            b = bisect_left(members, hi, a)
            if a < b:
                found.append((members[a], tag, steps[a:b], walls[a:b], values[a:b]))
        found.sort()  # (by first: no two alike)
        return found

    def split(self, bounds: list[int]) -> None:
        """Make :meth:`points` of each ``[bounds[i], bounds[i + 1])`` ready at once (many
        files share one run: one search per tag, not one per tag and file)."""
        cut = np.asarray(bounds)
        found: list[list] = [[] for _ in range(len(bounds) - 1)]
        for (tag, _, arr), (steps, walls, values) in zip(self.groups, self._lists(), strict=True):
            at = np.searchsorted(arr, cut)
            some = np.flatnonzero(at[1:] != at[:-1])  # the pieces holding this tag
            a = at[some]
            for i, x, y, first in zip(
                some.tolist(), a.tolist(), at[some + 1].tolist(), arr[a].tolist(), strict=True
            ):
                found[i].append((first, tag, steps[x:y], walls[x:y], values[x:y]))
        for i, got in enumerate(found):
            got.sort()  # (by first: no two alike)
            self._pieces[bounds[i], bounds[i + 1]] = got

    def _lists(self) -> list[tuple]:
        """Per group: its steps, wall times and values as lists (made once: many files may
        share one run)."""
        if self._columns is None:
            self._columns = [
                (self.steps[m].tolist(), self.walls[m].tolist(), self.values[m].tolist())
                for _, _, m in self.groups
            ]
        return self._columns


def decode_run(
    v: Views, starts, ends, resolve: Callable[[bytes, bytes | None], str | None]
) -> Run:
    """Decode a run of records (offsets from :func:`runs_and_gaps`).

    ``resolve(key, data)`` names the tag of a group's key (the bytes between step and
    value; ``data`` is that group's first record, None if its checksum fails) or
    returns None to leave the group to the caller.
    """
    b, n, buf = v.b, v.n, v.buf
    m = len(starts)
    run = Run(m)
    ds = starts + HEADER_LENGTH
    de = ends - FOOTER_LENGTH
    size = de - ds
    # each record's bytes 0, 1..8 (wall time), 9..16 (step), value and CRC: one read each
    # (every record ends with the 13-byte tail and its CRC, so none reads past the buffer)
    walls = v.u64[ds + 1]
    head = v.u64[ds + 9]
    values = v.u32[de - SCALAR_SUFFIX]
    fits = (b[ds] == 0x09) & (size >= 9 + _MIN_KEY + SCALAR_SUFFIX)
    has_step = fits & ((head & np.uint64(0xFF)) == 0x10)
    steps, nvar, unended = _varint_steps(head, b, ds, has_step, n)
    ks = np.where(has_step, ds + 10 + nvar, ds + 9)
    ke = de - SCALAR_SUFFIX
    kl = ke - ks
    fits &= ~unended & (kl >= _MIN_KEY)
    idx = np.flatnonzero(fits)
    if not len(idx):
        return run
    groups = []
    # group by a fingerprint of the key (its length, first and last bytes), then check
    # every key byte against a group's first record; look-alikes form groups of their own
    # (the tag's last bytes: the word before the tensor header, or the key's first word)
    tagword = v.u64[np.clip(np.maximum(ke - 16, ks), 0, len(v.u64) - 1)]
    fp = tagword[idx] ^ (kl[idx].astype(np.uint64) * _HASH)
    for pending in _by_fingerprint(idx, fp):
        while len(pending):
            r = int(pending[0])
            key = buf[int(ks[r]) : int(ke[r])]
            same = _same_key(v, key, ks[pending], kl[pending], tagword[pending])
            members = pending[same]
            pending = pending[~same]
            data = buf[int(ds[r]) : int(de[r])]
            if masked_crc32c(data) != int(v.u32[int(de[r])]):
                data = None  # a damaged record does not name a tag
            tag = resolve(key, data)
            if tag is None:
                continue  # left to the caller
            groups.append((tag, key, members))
    fast = np.zeros(m, dtype=bool)
    for _, _, members in groups:
        fast[members] = True
    good = fast & _crc_ok(v, [g[2] for g in groups], ds, de, size, nvar, (walls, head, values))
    run.slow = ~fast
    run.corrupt = fast & ~good
    run.groups = [(tag, key, members[good[members]]) for tag, key, members in groups]
    # tags in the order their first good record comes, as a record-by-record read meets them
    run.groups.sort(key=lambda g: int(g[2][0]) if len(g[2]) else m)
    run.steps = steps
    run.walls = walls.view("<f8")
    with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN, quietly
        run.values = values.view("<f4").astype(np.float64)
    return run


def _by_fingerprint(idx, fp, peel: int = 16) -> Iterator:
    """``idx`` split into groups of equal ``fp``, each in index order. A log has a few
    tags: the first ``peel`` groups are taken off one at a time (one pass each), and only
    what is left after them is sorted (a sort costs more than a few passes)."""
    for _ in range(peel):
        if not len(idx):
            return
        same = fp == fp[0]
        yield idx[same]
        idx, fp = idx[~same], fp[~same]
    if len(idx):
        order = np.argsort(fp, kind="stable")
        cuts = np.flatnonzero(np.diff(fp[order])) + 1
        yield from np.split(idx[order], cuts)


def _same_key(v: Views, key: bytes, ks, kl, tagword):
    """Whether the records whose keys start at ``ks`` (``kl`` long) carry exactly ``key``;
    ``tagword`` is their key's word at ``max(kl - 16, 0)``, already read (for the records
    of one fingerprint it is equal by construction: the check costs no read)."""
    klen = len(key)
    same = kl == klen
    ks = np.where(same, ks, 0)  # (other lengths are not read past their end)
    known = max(klen - 16, 0)
    same &= tagword == np.uint64(int.from_bytes(key[known : known + 8], "little"))
    for off in {0, *range(klen - 8, 0, -8)} - {known}:  # (words from the end, and the first)
        word = np.uint64(int.from_bytes(key[off : off + 8], "little"))
        same &= v.u64[ks + off] == word
    return same


_ZERO_POWERS: list[np.ndarray] = []  # _zero_run(2 ** i)
# _zero_run(0): each byte of c, in its place, is c
_NO_ZEROS = np.arange(256, dtype=np.uint32)[None, :] << (np.arange(4, dtype=np.uint32)[:, None] * 8)


@functools.lru_cache(maxsize=1024)
def _zero_run(k: int) -> np.ndarray:
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
            _ZERO_POWERS.append(_apply(_ZERO_POWERS[-1], _ZERO_POWERS[-1]))
        if k >> i & 1:
            z = _apply(_ZERO_POWERS[i], z)
    return z


def _apply(z: np.ndarray, c: np.ndarray, base=0) -> np.ndarray:
    """``z`` (see :func:`_zero_run`) applied to every value of ``c``. With the tables of
    several runs side by side (``z`` of shape ``(4, kinds * 256)``), ``base`` is where each
    value's own tables start."""
    out = z[0][base + (c & 0xFF)]
    for j in (1, 2, 3):
        out ^= z[j][base + ((c >> (8 * j)) & 0xFF)]
    return out


def _crc_ok(v: Views, groups: list, ds, de, size, nvar, columns):
    """Per record (all of ``groups``' members): whether its data has the CRC the record stores.

    A record's data is ``09 <wall 8> <byte 9> <step...> KEY <value 4> TAIL``; only the wall
    time, step and value vary within a group, everything else was checked equal to the
    group's first record. CRC-32C is affine, so the CRC is the CRC of the record with
    those bytes zeroed (one per group and size) XOR the share of the bytes zeroed:
    the head (bytes 1..8 and 10..h-1, step varints and perhaps some key bytes) from
    tables for a message ending at ``h``, shifted by the ``size - h`` bytes after it
    (:func:`_zero_run`), and the value from tables for its fixed distance to the end.
    ``columns`` are every record's bytes 1..8, 9..16 (u64) and value (u32).
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
        walls, head, values = columns[0].view(np.int64), columns[1].view(np.int64), columns[2]
        values = values.astype(np.int64)
        d, e = ds, de
    else:
        walls, head, values = (c[idx].astype(np.int64) for c in columns)
        d, e, size, nvar, gid = ds[idx], de[idx], size[idx], nvar[idx], gid[idx]
    h = 10 + 2 * max(1, -(-int(nvar.max()) // 2))  # the step's bytes, in 2-byte spans
    spans = (1, 3, 5, 7, *range(10, h, 2))
    parts = [(walls >> (16 * j)) & 0xFFFF for j in range(4)]
    for p in spans[4:]:  # bytes 10..16 are in head (bytes 9..16); a 7-byte step is not
        parts.append((head >> (8 * (p - 9))) & 0xFFFF if p < 16 else v.u16[d + p].astype(np.int64))
    crc = np.zeros(len(idx), dtype=np.uint32)
    for part, table in zip(parts, _crc_tables(h, tuple((p, 2) for p in spans)), strict=True):
        crc ^= table[part]
    # shift the head's share past the rest of its record: one table set per distinct size
    k = size - h
    kmin, kmax = int(k.min()), int(k.max())
    crc = crc.astype(np.int64)
    if kmin == kmax:
        kinds, kid, base = [kmin], 0, 0
        z = _zero_run(kmin)
    else:
        kinds, kid = _dense_ids(k, kmax)
        z = np.stack([_zero_run(x) for x in kinds])  # [kid][j][byte] ...
        z = z.transpose(1, 0, 2).reshape(4, -1)  # ... as [j][kid * 256 + byte]
        base = kid * 256
    crc = _apply(z, crc, base)
    value = _crc_tables(SCALAR_SUFFIX, ((0, 2), (2, 2)))  # (at a fixed distance to the end)
    for part, table in zip((values & 0xFFFF, values >> 16), value, strict=True):
        crc ^= table[part]
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
        rec[-SCALAR_SUFFIX : 4 - SCALAR_SUFFIX] = bytes(4)
        const[q] = crc32c(bytes(rec))
    crc ^= const[pair]
    ok[idx] = _masked(crc) == v.u32[e]
    return ok


def _dense_ids(x, xmax: int) -> tuple[list[int], object]:
    """The distinct values of ``x`` (ints >= 0), ascending, and each one's index among them."""
    if xmax < _TABLE_LENGTHS:
        seen = np.zeros(xmax + 1, dtype=bool)
        seen[x] = True
        ids = np.cumsum(seen) - 1
        return np.flatnonzero(seen).tolist(), ids[x]
    uniq, inv = np.unique(x, return_inverse=True)
    return uniq.tolist(), inv.reshape(-1)
