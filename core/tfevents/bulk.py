"""Bulk decoding of event-file bytes with numpy: runs of scalar records checked and decoded at once.

Every common writer writes each scalar as one TFRecord laid out as one of the layouts of
:mod:`.fastpath`. In a big file almost every record is such a scalar, so instead of one
Python step per record this module:

1. finds every record with a valid header whose Event starts with a wall time and ends
   like a scalar of some layout (one numpy search over the bytes) and chains them by
   their CRC-checked length headers into *runs* of consecutive records;
   anything between runs is a *gap*, left to the reader's record-by-record loop;
2. groups a run's records by their key (the tag's bytes), checks every key byte against
   the group's first record, and verifies each record's data CRC at once: CRC-32C is
   affine, so for records that differ only in their wall time, step and value bytes the
   CRC is a constant XOR a table lookup per two varying bytes (see :func:`.bulkcrc.crcs_ok`); a key
   belongs to one layout, checked against the record's kind (``fastpath.key_kind``);
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

from .bulkcrc import crcs_ok, header_crcs, header_table
from .crc import header_crc, masked_crc32c
from .fastpath import CLASS_TAIL, KINDS, SCALAR_MIN, SCALAR_TAIL, key_kind
from .framing import FOOTER_LENGTH, HEADER, HEADER_LENGTH, RECORD_OVERHEAD

__all__ = [
    "Run",
    "TailIndex",
    "Views",
    "decode_run",
    "file_segments",
    "runs_and_gaps",
    "tail_ends",
]

_TAIL_HEAD = np.uint64(int.from_bytes(SCALAR_TAIL[:8], "little"))
_TAIL_END = np.uint64(int.from_bytes(SCALAR_TAIL[-8:], "little"))
_CLASS_HEAD = np.uint64(int.from_bytes(CLASS_TAIL[:8], "little"))
_CLASS_END = np.uint64(int.from_bytes(CLASS_TAIL[-8:], "little"))
_SIMPLE = KINDS.index((b"", 4))
_MIN_DATA = SCALAR_MIN + 1  # the shortest scalar record's data
_MIN_KEY = 15  # summary, value and tag headers, a 1-byte tag and the tensor header
_MIN_SIMPLE_KEY = 8  # the same with simple_value's header
_HASH = np.uint64(0x9E3779B97F4A7C15)


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


def tail_ends(v: Views, lo: int = 0, hi: int | None = None):
    """Sorted ends of every complete record starting in ``[lo, hi)`` with a valid header
    (shorter than 64 KiB) that could be a scalar: its Event starts with a wall time and
    ends as a kind of :data:`.fastpath.KINDS` does (see :func:`_kinds`)."""
    n = v.n
    last = n - RECORD_OVERHEAD - _MIN_DATA + 1  # (no record starting here or later fits)
    hi = last if hi is None else min(hi, last)
    if hi <= lo:
        return np.zeros(0, dtype=np.int64)
    # look for the data's first byte (a plain byte compare is the fastest scan), then check
    # the header before it: s is where the record starts
    s = np.flatnonzero(v.b[lo + HEADER_LENGTH : hi + HEADER_LENGTH] == 0x09) + lo
    table = header_table()
    length = v.u64[s]
    fine = length < np.uint64(len(table))
    s, length = s[fine], length[fine].astype(np.int64)
    e = s + (RECORD_OVERHEAD + length)
    e = e[(e <= n) & (length >= _MIN_DATA) & (v.u32[s + 8] == table[length])]
    e = e[_shaped(v, e - FOOTER_LENGTH)]
    if len(e) > 1 and (e[1:] <= e[:-1]).any():  # (overlapping look-alikes)
        e = np.unique(e)
    return e


def _shaped(v: Views, de):
    """Per record whose data ends at ``de``: whether it ends as some kind does (the test of
    :func:`_kinds`, without telling which)."""
    end8 = v.u64[de - 8]
    ok = (end8 == _TAIL_END) & (v.u64[de - len(SCALAR_TAIL)] == _TAIL_HEAD)
    ok |= (end8 == _CLASS_END) & (v.u64[de - len(CLASS_TAIL)] == _CLASS_HEAD)
    ok |= v.b[de - 5] == 0x15
    return ok


def _kinds(v: Views, de):
    """Per record whose data ends at ``de``: its kind (index in :data:`.fastpath.KINDS`,
    -1 for none; see :func:`.fastpath.split_scalar`), its value's width and ``suffix``
    (the bytes from its value to ``de``)."""
    end8 = v.u64[de - 8]
    tail = np.where(
        (end8 == _TAIL_END) & (v.u64[de - len(SCALAR_TAIL)] == _TAIL_HEAD),
        len(SCALAR_TAIL),
        np.where(
            (end8 == _CLASS_END) & (v.u64[de - len(CLASS_TAIL)] == _CLASS_HEAD), len(CLASS_TAIL), 0
        ),
    )
    wide = (tail > 0) & (v.b[de - tail - 9] == 0x08)  # a float64's dtype (a float32 has 0x01)
    kind = np.where(tail == len(SCALAR_TAIL), 0, np.where(tail > 0, 2, _SIMPLE)) + wide
    kind[(tail == 0) & (v.b[de - 5] != 0x15)] = -1
    return kind, wide, tail + 4 + 4 * wide


def _links_ok(v: Views, ends):
    """``ok[k]``: a record starting at ``ends[k-1]`` has a valid header and ends at ``ends[k]``."""
    ok = np.zeros(len(ends), dtype=bool)
    if len(ends) < 2:
        return ok
    starts = ends[:-1]
    lengths = v.u64[starts].astype(np.int64)  # (a garbage length is no fit: any sign will do)
    fits = lengths == ends[1:] - starts - RECORD_OVERHEAD
    lengths[~fits] = 0
    ok[1:] = fits & (v.u32[starts + 8] == header_crcs(lengths))
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

    def __init__(self, v: Views, ends=None):
        self.ends = tail_ends(v) if ends is None else ends
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
    fine &= v.u32[pos + 8] == header_crcs(length)
    return np.where(fine, length, -1), np.where(fine, pos + RECORD_OVERHEAD + length, -1)


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

    def columns(self, lo: int, hi: int) -> list[tuple]:
        """As :meth:`points`, each tag's columns numpy arrays (one big file's run: its
        points never become Python objects here)."""
        found = []
        for tag, _, members in self.groups:
            whole = lo == 0 and hi >= self.slow.size
            a, b = (0, len(members)) if whole else np.searchsorted(members, (lo, hi)).tolist()
            if a < b:
                m = members[a:b]
                found.append((int(m[0]), tag, self.steps[m], self.walls[m], self.values[m]))
        found.sort(key=lambda f: f[0])  # (by first: no two alike)
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
    kind, wide, suffix = _kinds(v, de)
    ke = de - suffix
    values = v.u64[ke]  # (a float32's bits are the low half; 8 bytes are there: its tail, CRC)
    values = np.where(wide, values, values & np.uint64(0xFFFFFFFF))
    min_key = np.where(kind == _SIMPLE, _MIN_SIMPLE_KEY, _MIN_KEY)
    fits = (b[ds] == 0x09) & (kind >= 0) & (size >= 9 + min_key + suffix)
    has_step = fits & ((head & np.uint64(0xFF)) == 0x10)
    steps, nvar, unended = _varint_steps(head, b, ds, has_step, n)
    ks = np.where(has_step, ds + 10 + nvar, ds + 9)
    kl = ke - ks
    fits &= ~unended & (kl >= min_key)
    idx = np.flatnonzero(fits)
    if not len(idx):
        return run
    groups = []
    # group by a fingerprint of the key (its length, first and last bytes), then check
    # every key byte against a group's first record; look-alikes form groups of their own
    # (the tag's last bytes: the word before the tensor header, or the key's first word)
    tagword = v.u64[np.clip(np.maximum(ke - 16, ks), 0, len(v.u64) - 1)]
    fp = tagword[idx] ^ ((kl[idx] * 8 + kind[idx]).astype(np.uint64) * _HASH)
    for pending in _by_fingerprint(idx, fp):
        while len(pending):
            r = int(pending[0])
            key = buf[int(ks[r]) : int(ke[r])]
            same = _same_key(v, key, ks[pending], kl[pending], tagword[pending])
            same &= kind[pending] == kind[r]  # (a key's layout is one kind: see below)
            members = pending[same]
            pending = pending[~same]
            data = buf[int(ds[r]) : int(de[r])]
            if masked_crc32c(data) != int(v.u32[int(de[r])]):
                data = None  # a damaged record does not name a tag
            tag = resolve(key, data)
            if tag is None or key_kind(key) != kind[r]:
                continue  # left to the caller
            groups.append((tag, key, members))
    fast = np.zeros(m, dtype=bool)
    for _, _, members in groups:
        fast[members] = True
    columns = (walls, head, values)
    good = fast & crcs_ok(v, [g[2] for g in groups], ds, de, size, nvar, columns, suffix)
    run.slow = ~fast
    run.corrupt = fast & ~good
    run.groups = _one_per_tag([(tag, key, members[good[members]]) for tag, key, members in groups])
    # tags in the order their first good record comes, as a record-by-record read meets them
    run.groups.sort(key=lambda g: int(g[2][0]) if len(g[2]) else m)
    run.steps = steps
    run.walls = walls.view("<f8")
    with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN, quietly
        narrow = values.astype(np.uint32).view("<f4").astype(np.float64)
        run.values = np.where(wide, values.view("<f8"), narrow) if wide.any() else narrow
    return run


def _one_per_tag(groups: list[tuple]) -> list[tuple]:
    """``groups`` with the groups of one tag (one tag written in two layouts) merged into
    the first, their records in file order."""
    tags = [g[0] for g in groups]
    if len(set(tags)) == len(tags):  # (the usual case)
        return groups
    merged: dict[str, tuple] = {}
    for tag, key, members in groups:
        got = merged.get(tag)
        if got is not None:
            members = np.sort(np.concatenate((got[2], members)))
        merged[tag] = (tag, key, members)
    return list(merged.values())


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
