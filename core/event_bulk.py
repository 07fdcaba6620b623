"""Bulk reading of big event-file chunks with numpy (used by :class:`events.EventFileReader`).

TF2 and Keras 3 write each scalar as one TFRecord whose Event ends with the "scalars"
plugin tail (see ``events._fast_key``). In a big file almost every record is such a
scalar, so instead of one Python step per record this module:

1. finds every record that ends with that tail (one numpy search over the bytes) and
   chains them by their CRC-checked length headers into *runs* of consecutive records;
   anything between runs is a *gap*, left to the reader's record-by-record loop;
2. groups a run's records by their key (the tag's bytes), checks every key byte against
   the group's first record, and verifies each record's data CRC at once: CRC-32C is
   affine, so for records that differ only in their wall time, step and value bytes the
   CRC is a constant XOR one table lookup per varying byte;
3. decodes wall times, steps and values as numpy columns.

Nothing is trusted that a record-by-record read would reject: headers are checked,
every data CRC is verified, and records that do not fit the layout (or whose checksum
fails) are handed back to the caller, in file order.
"""

from __future__ import annotations

import struct
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator

import numpy as np

from .events import _FAST_SUFFIX, _FAST_TAIL, _MASK_DELTA, _crc, _header_crc, masked_crc32c

__all__ = ["Run", "Views", "decode_run", "runs_and_gaps", "tail_index"]

_TAIL_HEAD = np.uint64(int.from_bytes(_FAST_TAIL[:8], "little"))
_TAIL_END = np.uint64(int.from_bytes(_FAST_TAIL[-8:], "little"))
_TAIL_LEN = len(_FAST_TAIL)
_HEADER = struct.Struct("<QI")
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
    return ((crc >> np.uint32(15)) | (crc << np.uint32(17))) + np.uint32(_MASK_DELTA)


def _tail_ends(v: Views):
    """Sorted ends of every complete record that could end with the scalars tail."""
    n = v.n
    if n < 12 + _TAIL_LEN + 4:
        return np.zeros(0, dtype=np.int64)
    # the tail at t..t+12 and its data CRC after it: the record ends at t + 17 <= n;
    # look for its first byte (a plain byte compare is the fastest scan), then check it whole
    t = np.flatnonzero(v.b[12 : n - _TAIL_LEN - 3] == _FAST_TAIL[0]) + 12
    t = t[v.u64[t + (_TAIL_LEN - 8)] == _TAIL_END]
    t = t[v.u64[t] == _TAIL_HEAD]
    return t + (_TAIL_LEN + 4)


def _links_ok(v: Views, ends):
    """``ok[k]``: a record starting at ``ends[k-1]`` has a valid header and ends at ``ends[k]``."""
    ok = np.zeros(len(ends), dtype=bool)
    if len(ends) < 2:
        return ok
    starts = ends[:-1]
    lengths = v.u64[starts]
    fits = lengths == (ends[1:] - starts - 16).astype(np.uint64)
    idx = np.flatnonzero(fits)
    if len(idx):
        lens = lengths[idx]
        if int(lens.max()) < _TABLE_LENGTHS:
            # each length's header CRC from a table over the lengths (no sort: a few
            # distinct lengths among many records)
            seen = np.zeros(int(lens.max()) + 1, dtype=bool)
            seen[lens] = True
            table = np.zeros(len(seen), dtype=np.uint32)
            for x in np.flatnonzero(seen).tolist():
                table[x] = _header_crc(x)
            want = table[lens]
        else:  # a huge record: no table as big as it
            uniq, inv = np.unique(lens, return_inverse=True)
            want = np.array([_header_crc(int(x)) for x in uniq], dtype=np.uint32)[inv]
        good = v.u32[starts[idx] + 8] == want
        ok[idx[good] + 1] = True
    return ok


def _ends_at(buf: bytes, pos: int, end: int) -> bool:
    """Whether the record at ``pos`` has a valid header and ends exactly at ``end``."""
    if pos + 12 > end:
        return False
    length, hcrc = _HEADER.unpack_from(buf, pos)
    return pos + 16 + length == end and _header_crc(length) == hcrc


def tail_index(v: Views) -> tuple:
    """What :func:`runs_and_gaps` needs of a whole buffer: candidate ends and chain breaks."""
    ends = _tail_ends(v)
    ok = _links_ok(v, ends)
    return ends, ends.tolist(), np.flatnonzero(~ok).tolist()  # breaks always include 0


def runs_and_gaps(v: Views, lo: int = 0, hi: int | None = None, index=None) -> Iterator[tuple]:
    """Split ``v.buf[lo:hi]`` (starting at a record boundary) into runs and gaps, in order.

    Yields ``("run", starts, ends)`` for consecutive records that end with the scalars
    tail (numpy arrays of byte offsets into ``v.buf``) and ``("gap", start, stop)`` for
    the bytes between runs, where ``stop`` is ``None`` when the gap reaches ``hi`` (it
    may end in an incomplete or damaged record: the caller's loop judges). ``index``
    is :func:`tail_index` of the whole buffer, when several regions share it.
    """
    buf = v.buf
    hi = v.n if hi is None else hi
    ends, ends_list, breaks = tail_index(v) if index is None else index
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
        while p + 12 <= hi:
            length, hcrc = _HEADER.unpack_from(buf, p)
            if _header_crc(length) != hcrc or p + 16 + length > hi:
                break
            p += 16 + length
            j = bisect_right(ends_list, p)
            if j <= last and _ends_at(buf, p, ends_list[j]):
                stop = p
                break
        yield "gap", start, stop
        if stop is None:
            return
        pos = stop


_CRC_TABLES: dict[tuple, list] = {}


def _crc_tables(length: int, spans: tuple[tuple[int, int], ...]) -> list:
    """Per varying span (position, 1 or 2 bytes): the CRC-32C contribution of each value.

    CRC-32C is affine: crc(a ^ b) = crc(a) ^ crc(b) ^ crc(0), so a message's CRC is the
    CRC of its constant bytes XOR each varying byte's contribution, and a byte's
    contribution is the XOR of its set bits' contributions.
    """
    key = (length, spans)
    tables = _CRC_TABLES.get(key)
    if tables is None:
        _crc32c = _crc()
        zero = _crc32c(bytes(length))
        values = np.arange(256)
        tables = []
        for start, width in spans:
            per_byte = []
            for p in range(start, start + width):
                t = np.zeros(256, dtype=np.uint32)
                msg = bytearray(length)
                for bit in range(8):
                    msg[p] = 1 << bit
                    t[(values >> bit) & 1 == 1] ^= np.uint32(_crc32c(bytes(msg)) ^ zero)
                per_byte.append(t)
            if width == 2:  # indexed by the little-endian u16 of the two bytes
                per_byte = [(per_byte[1][:, None] ^ per_byte[0][None, :]).ravel()]
            tables.append(per_byte[0])
        if len(_CRC_TABLES) < 256:
            _CRC_TABLES[key] = tables
    return tables


def _spans(positions: list[int]) -> tuple[tuple[int, int], ...]:
    """Consecutive positions paired into (start, 2) spans, an odd one left as (p, 1)."""
    spans = []
    i = 0
    while i < len(positions):
        if i + 1 < len(positions) and positions[i + 1] == positions[i] + 1:
            spans.append((positions[i], 2))
            i += 2
        else:
            spans.append((positions[i], 1))
            i += 1
    return tuple(spans)


def _varint_steps(b, ds, has_step, n: int):
    """Steps (int64) and their varint sizes for records with a step field at ``ds + 9``."""
    steps = np.zeros(len(ds), dtype=np.uint64)
    size = np.zeros(len(ds), dtype=np.int64)
    going = has_step.copy()
    for i in range(10):
        if not going.any():
            break
        byte = b[np.minimum(ds + 10 + i, n - 1)].astype(np.uint64)
        steps |= np.where(going, (byte & np.uint64(0x7F)) << np.uint64(7 * i), np.uint64(0))
        size += going
        going &= byte >= 0x80
    return steps.view(np.int64), size, going  # going: no end within 10 bytes


class Run:
    """A decoded run of records: per record its columns and whether the caller must read
    it itself (``slow``) or it failed its checksum (``corrupt``); ``groups`` holds each
    tag's key and its decoded records (indices, file order)."""

    __slots__ = ("_lists", "_odd", "corrupt", "groups", "slow", "steps", "values", "walls")

    def __init__(self, m: int):
        self.groups: list[tuple[str, bytes, object]] = []
        self.slow = np.ones(m, dtype=bool)
        self.corrupt = np.zeros(m, dtype=bool)
        self.steps = self.walls = self.values = None
        self._lists: list[tuple] | None = None
        self._odd: dict[str, list[int]] = {}

    def odd(self, which: str, lo: int, m: int) -> list[int]:
        """The records among ``lo...lo+m`` that are ``which`` ("slow" or "corrupt"), relative
        to ``lo`` (the whole run's are found once: many files share one run)."""
        found = self._odd.get(which)
        if found is None:
            found = self._odd[which] = np.flatnonzero(getattr(self, which)).tolist()
        a = bisect_left(found, lo)
        b = bisect_left(found, lo + m, a)
        return [i - lo for i in found[a:b]]

    def points(self, lo: int, hi: int) -> Iterator[tuple]:
        """``(tag, steps, walls, values)``, lists of the decoded records in ``[lo, hi)``."""
        if self._lists is None:  # once: many files may share one run (read_runs_scalars)
            self._lists = [
                (
                    tag,
                    members.tolist(),
                    self.steps[members].tolist(),
                    self.walls[members].tolist(),
                    self.values[members].tolist(),
                )
                for tag, _, members in self.groups
            ]
        for tag, members, steps, walls, values in self._lists:
            a = bisect_left(members, lo)
            b = bisect_left(members, hi, a)
            if a < b:
                yield tag, steps[a:b], walls[a:b], values[a:b]


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
    ds = starts + 12
    de = ends - 4
    size = de - ds
    fits = (b[ds] == 0x09) & (size >= 9 + _MIN_KEY + _FAST_SUFFIX)
    has_step = fits & (b[np.minimum(ds + 9, n - 1)] == 0x10)
    steps, nvar, unended = _varint_steps(b, ds, has_step, n)
    ks = np.where(has_step, ds + 10 + nvar, ds + 9)
    ke = de - _FAST_SUFFIX
    kl = ke - ks
    fits &= ~unended & (kl >= _MIN_KEY)
    idx = np.flatnonzero(fits)
    if not len(idx):
        return run
    # One layout (the positions of wall time, step and value) per size and step size;
    # the CRC of a record is its (tag, layout)'s constant XOR its varying bytes' share.
    layout = size * 16 + nvar
    const = np.zeros(m, dtype=np.uint32)
    groups = []
    # group by a fingerprint of the key (its length, first and last bytes), then check
    # every key byte against a group's first record; look-alikes form groups of their own
    fp = v.u64[np.maximum(ke[idx] - 16, ks[idx])] ^ (kl[idx].astype(np.uint64) * _HASH)
    fp ^= v.u64[ks[idx]] << np.uint64(1)
    for pending in _by_fingerprint(idx, fp):
        while len(pending):
            r = int(pending[0])
            key = buf[int(ks[r]) : int(ke[r])]
            same = _same_key(v, key, ks[pending], kl[pending])
            members = pending[same]
            pending = pending[~same]
            data = buf[int(ds[r]) : int(de[r])]
            if masked_crc32c(data) != int(v.u32[int(de[r])]):
                data = None  # a damaged record does not name a tag
            tag = resolve(key, data)
            if tag is None:
                continue  # left to the caller
            lays = layout[members]
            for lay in np.unique(lays).tolist():
                r = int(members[np.argmax(lays == lay)])
                first = bytearray(buf[int(ds[r]) : int(de[r])])
                for p in _positions(int(size[r]), int(nvar[r])):
                    first[p] = 0
                const[members[lays == lay]] = _crc()(bytes(first))
            groups.append((tag, key, members))
    fast = np.zeros(m, dtype=bool)
    for _, _, members in groups:
        fast[members] = True
    good = fast & _crc_ok(v, np.flatnonzero(fast), ds, de, layout, const)
    run.slow = ~fast
    run.corrupt = fast & ~good
    run.groups = [(tag, key, members[good[members]]) for tag, key, members in groups]
    # tags in the order their first good record comes, as a record-by-record read meets them
    run.groups.sort(key=lambda g: int(g[2][0]) if len(g[2]) else m)
    run.steps = steps
    run.walls = v.u64[ds + 1].view("<f8")
    with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN, quietly
        run.values = v.u32[de - _FAST_SUFFIX].view("<f4").astype(np.float64)
    return run


def _by_fingerprint(idx, fp, peel: int = 16) -> Iterator:
    """``idx`` split into groups of equal ``fp``, each in index order. A log has a few
    tags: the first ``peel`` groups are taken off one at a time (one pass each), and only
    what is left after them is sorted (sorting 100k fingerprints costs ~8 ms)."""
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


def _same_key(v: Views, key: bytes, ks, kl):
    """Whether the records whose keys start at ``ks`` (``kl`` long) carry exactly ``key``."""
    klen = len(key)
    same = kl == klen
    ks = np.where(same, ks, 0)  # (other lengths are not read past their end)
    for off in (*range(0, klen - 8, 8), klen - 8):
        word = np.uint64(int.from_bytes(key[off : off + 8], "little"))
        same &= v.u64[ks + off] == word
    return same


def _positions(size: int, nvar: int) -> list[int]:
    """The varying bytes of a fast record: wall time, step (``nvar`` bytes), value."""
    positions = list(range(1, 9))
    positions += range(10, 10 + nvar)
    positions += range(size - _FAST_SUFFIX, size - _FAST_SUFFIX + 4)
    return positions


def _crc_ok(v: Views, idx, ds, de, layout, const):
    """Per record (all of ``idx``): whether its data has the CRC the record stores."""
    ok = np.zeros(len(ds), dtype=bool)
    lays = layout[idx]
    for lay in np.unique(lays).tolist():
        sub = idx[lays == lay]
        size, nvar = divmod(lay, 16)
        spans = _spans(_positions(size, nvar))
        crc = const[sub]
        dstart = ds[sub]
        for (p, width), table in zip(spans, _crc_tables(size, spans), strict=True):
            crc ^= table[(v.u16 if width == 2 else v.b)[dstart + p]]
        ok[sub] = _masked(crc) == v.u32[de[sub]]
    return ok
