"""EventFileReader: incremental reading of one event file's scalars, texts and hparams; read_together for many."""

from __future__ import annotations

import itertools
import sys
from pathlib import Path
from typing import Any

from .crc import MASK_DELTA, crc32c_function, header_crc
from .decode import (
    HPARAMS,
    SCALARS,
    TEXT,
    ScalarSeries,
    file_version_only,
    is_version_record,
    parse_event,
)
from .fastpath import (
    FAST_TAGS,
    KINDS,
    SCALAR_MIN,
    SCALAR_SUFFIX,
    SCALAR_TAIL,
    TF2_KIND,
    fast_columns,
    key_kind,
    known_tag,
    learn_tag,
    split_scalar,
    tag_in_key,
)
from .framing import (
    FOOTER,
    FOOTER_LENGTH,
    FRAME,
    HEADER,
    HEADER_LENGTH,
    RECORD_OVERHEAD,
    read_chunks,
    read_small,
)

__all__ = ["BULK_MIN", "LOOP_MAX", "EventFileReader", "read_together"]

BULK_MIN = 1 << 20  # chunks this big are decoded in bulk with numpy (see .bulk)
# read_together reads a block of fewer new bytes with the loop while numpy is not loaded:
# importing it costs more than the loop takes over so few records (a few runs' first table)
LOOP_MAX = 256 << 10
_BATCH_MAX = 4 << 20  # read_together reads files with more new bytes than this on their own
_BLOCK = 1 << 20  # read_together decodes files a block of about this many bytes at a time


def _no_sinks() -> list[dict]:
    """Per kind of fast-path record (see fastpath.KINDS), then the kind -1 of none."""
    return [{} for _ in range(len(KINDS) + 1)]


class EventFileReader:
    """Incremental reader of one event file: scalars per tag, texts per tag, hparams.

    ``read_new()`` parses only the bytes appended since the previous call and returns
    the new scalar points; ``.scalars``, ``.texts``, ``.hparams`` and ``.warnings`` accumulate;
    ``.offset`` is the byte offset where the next call resumes.
    """

    def __init__(self, path: str | Path, *, plugins: dict[str, str] | None = None):
        self._spath = str(path)
        self.offset = 0
        self.last_read_bytes = 0
        self.head: bytes | None = None  # the file's first bytes, when a read started there
        self.scalars: dict[str, ScalarSeries] = {}
        self.texts: dict[str, list[tuple[int, str]]] = {}
        self.hparams: dict[str, Any] = {}  # HParams plugin values (the last record's win)
        self.compiled: dict[str, Any] = {}  # optimizer, learning_rate, loss of a Keras model graph
        self.warnings: list[str] = []
        self._plugins: dict[str, str] = {} if plugins is None else plugins
        self._warned: set[str] = set()
        self._misses = 0  # big chunks read without a periodic block (see _scan_bulk)
        # state of one read_new() call
        self._new: dict[str, ScalarSeries] = {}
        self._sinks: list[dict[bytes, object]] = _no_sinks()  # per kind: key -> pending[tag].append
        self._pending: dict[str, list[bytes]] = {}  # tag -> fast-path records not decoded yet
        self._key_of: dict[str, tuple[bytes, int]] = {}  # tag -> its fast-path key and kind
        self._call_warnings: list[str] = []

    @property
    def path(self) -> Path:
        return Path(self._spath)

    def read_new(self) -> dict[str, ScalarSeries]:
        """Read what was appended since the last call; return only the new scalar points."""
        return self._read(True)

    def read(self) -> None:
        """Read what was appended since the last call (into ``.scalars``, ``.texts``, ...)."""
        self._read(False)

    def _read(self, return_new: bool) -> dict[str, ScalarSeries]:
        self._begin()
        start = self.offset
        head: list[bytes] = []
        self.offset = read_chunks(self._spath, start, self._scan_events, self._call_warnings, head)
        if head:
            self.head = head[0]
        return self._end(start, return_new)

    def _begin(self) -> None:
        """Fresh state for one read (see :meth:`_end`)."""
        self._new = {}
        self._sinks = _no_sinks()
        self._pending = {}
        self._call_warnings = []

    def _end(self, start: int, return_new: bool) -> dict[str, ScalarSeries]:
        """Merge what the read from ``start`` to ``self.offset`` found; return the new points."""
        new = self._new
        self.last_read_bytes = self.offset - start
        scalars = self.scalars
        for tag, s in new.items():
            acc = scalars.get(tag)
            if acc is None:
                scalars[tag] = s.copy() if return_new else s
            else:
                acc.extend(s)
        for w in self._call_warnings:
            # A damaged header is met again by every later call: report it once.
            if w not in self._warned:
                self._warned.add(w)
                self.warnings.append(w)
        self._new = {}
        self._sinks = _no_sinks()
        self._pending = {}
        return new if return_new else {}

    def _scan_events(self, buf, base) -> tuple[int, bool, int]:
        """Decode the records of ``buf``: ``(consumed, damaged, need)`` for :func:`.framing.read_chunks`."""
        if len(buf) >= BULK_MIN:
            return self._scan_bulk(buf, base)
        return self._scan_loop(buf, base)

    def _scan_bulk(self, buf, base) -> tuple[int, bool, int]:
        """Big chunks: periodic blocks first (see :mod:`.periodic`), then runs of scalar
        records decoded with numpy on all cores (see :mod:`.bulk`, :mod:`.parallel`)."""
        from . import bulk, periodic  # (numpy loads with them: on the first read, not on import)

        views = bulk.Views(buf)
        pos = _version_end(buf) if base == 0 else 0  # (a file's first record: nothing to read)
        found = False
        while self._misses < 3 and (blk := periodic.find(views, pos, known_tag)) is not None:
            found = True
            if blk.start > pos:  # (records before the block: checked whole, for the loop)
                self._scan_loop(buf[pos : blk.start], base + pos)
            for tag, steps, walls, values in blk.columns:
                got = ScalarSeries.from_columns(steps, walls, values)
                s = self._new.get(tag)
                if s is not None and len(s):
                    s.extend(got)
                else:
                    self._new[tag] = got
                self._plugins[tag] = SCALARS
            pos = blk.end
        if not found:
            self._misses += 1  # (chunks without a block: after a few, the file has none)
            return self._scan_runs(views, base)
        if pos == len(buf):
            return pos, False, 0
        rest = buf[pos:]  # (periodic.find has just found no block at its start: no second search)
        if len(rest) >= BULK_MIN:
            consumed, damaged, need = self._scan_runs(bulk.Views(rest), base + pos)
        else:
            consumed, damaged, need = self._scan_loop(rest, base + pos)
        return pos + consumed, damaged, need

    def _scan_runs(self, views, base) -> tuple[int, bool, int]:
        """:meth:`_scan_bulk` without periodic blocks."""
        from . import bulk, parallel

        buf = views.buf
        segments = bulk.runs_and_gaps(views, 0, len(buf), parallel.tail_index(views))
        return self._scan_segments(views, segments, 0, len(buf), base)

    def _scan_segments(self, views, segments, lo, hi, base, run=None) -> tuple[int, bool, int]:
        """Read ``views.buf[lo:hi]`` (file offset ``base`` at ``lo``), split into runs and
        gaps by :func:`.bulk.runs_and_gaps`. A run is decoded here, or comes decoded in
        ``run`` (several files decoded at once) with its first record's index there."""
        buf = views.buf
        for kind, a, b, *first in segments:
            if kind == "run":
                if run is None:
                    from . import parallel

                    for decoded, pa, pb in parallel.decode_pieces(views, a, b, known_tag):
                        self._take_run(views, decoded, 0, pa, pb, base - lo, arrays=True)
                else:
                    self._take_run(views, run, first[0], a, b, base - lo)
            elif b is None:  # the rest of the region: the loop judges its end
                consumed, damaged, need = self._scan_loop(buf[a:hi], base + a - lo)
                return a - lo + consumed, damaged, need
            elif not is_version_record(buf, a, b):  # (every file starts with one)
                self._scan_loop(buf[a:b], base + a - lo)
        return hi - lo, False, 0

    def _take_run(self, views, run, i0: int, starts, ends, shift: int, arrays=False) -> None:
        """Add the points of a decoded run (records ``i0...`` of ``run``) in file order;
        the records it left alone go through the loop, between them. ``shift`` turns
        positions in ``views.buf`` into file offsets; ``arrays``: the points stay numpy
        columns (see :class:`.series.ScalarSeries`), for big runs of one file."""
        m = len(starts)
        slow = run.odd("slow", i0, m)
        if len(slow) > m // 4:  # not worth it: one pass of the loop
            a, b = int(starts[0]), int(ends[-1])
            self._scan_loop(views.buf[a:b], shift + a)
            return
        corrupt = run.odd("corrupt", i0, m)
        lo = 0
        for i in sorted([*slow, *corrupt, m]) if slow or corrupt else (m,):
            found = run.columns(i0 + lo, i0 + i) if arrays else run.points(i0 + lo, i0 + i)
            for _, tag, steps, walls, values in found:
                got = ScalarSeries.from_columns(steps, walls, values) if arrays else None
                s = self._new.get(tag)
                if s is not None and len(s):
                    s.extend(got or ScalarSeries(steps, walls, values))
                else:  # (points() made these lists for us: no copy; a key keeps its place)
                    self._new[tag] = got or ScalarSeries(steps, walls, values)
                self._plugins[tag] = SCALARS  # (the loop finds later records' tag by key itself)
            lo = i + 1
            if i == m:
                break
            a, b = int(starts[i]), int(ends[i])
            if run.slow[i0 + i]:
                self._scan_loop(views.buf[a:b], shift + a)
            else:
                self._call_warnings.append(
                    f"{self._spath}: corrupt record at byte {shift + a} "
                    "(data checksum mismatch); skipped"
                )

    def _scan_loop(self, buf, base) -> tuple[int, bool, int]:
        """Check and decode the records of ``buf`` (file offset ``base``) one by one:
        ``(consumed, damaged, need)`` as :func:`.framing.read_chunks` wants them. The hot
        loop of small reads: keep it flat."""
        pos = 0
        n = len(buf)
        unpack_header = HEADER.unpack_from
        unpack_u32 = FOOTER.unpack_from
        unpack_frame = FRAME.unpack_from
        crc = crc32c_function()
        delta = MASK_DELTA
        tail = SCALAR_TAIL
        suffix = SCALAR_SUFFIX
        fast_tags = FAST_TAGS
        sinks = self._sinks
        warnings = self._call_warnings
        verified: dict[int, int] = {}  # length -> header CRC checked here (quicker than header_crc)
        if n < HEADER_LENGTH:
            return 0, False, 0
        length, hcrc = unpack_header(buf, 0)
        try:
            while length >= 0:
                if verified.get(length) != hcrc:
                    if header_crc(length) != hcrc:
                        warnings.append(
                            f"{self._spath}: damaged record header at byte {base + pos}; "
                            "the rest of the file is ignored"
                        )
                        return pos, True, 0
                    verified[length] = hcrc
                end = pos + RECORD_OVERHEAD + length
                if end > n:
                    return pos, False, end - pos
                data = buf[pos + HEADER_LENGTH : end - FOOTER_LENGTH]
                pos = end
                # this record's data CRC and the next record's header in one unpack
                if end + HEADER_LENGTH <= n:
                    dcrc, length, hcrc = unpack_frame(buf, end - FOOTER_LENGTH)
                else:
                    dcrc = unpack_u32(buf, end - FOOTER_LENGTH)[0]
                    length = -1
                c = crc(data)
                if (((c >> 15) | (c << 17)) + delta) & 0xFFFFFFFF != dcrc:  # (crc.mask, inline)
                    warnings.append(
                        f"{self._spath}: corrupt record at byte {base + pos - len(data) - RECORD_OVERHEAD} "
                        "(data checksum mismatch); skipped"
                    )
                    continue
                # ---- fast path: a scalar of a known layout (see fast_key), decoded later in bulk
                if len(data) > SCALAR_MIN and data[0] == 0x09:
                    # TF2's layout inline (the most common); a float64 has 0x08 where it has 0x01
                    if data.endswith(tail) and data[len(data) - 22] != 0x08:  # (index >= -1)
                        if data[9] != 0x10:
                            key = data[9:-suffix]  # no step field: step 0
                        elif data[10] < 0x80:
                            key = data[11:-suffix]
                        elif data[11] < 0x80:
                            key = data[12:-suffix]
                        elif data[12] < 0x80:  # steps up to 2**21: long runs and batch logs
                            key = data[13:-suffix]
                        else:
                            key = split_scalar(data)[0]
                        kind = TF2_KIND
                    else:
                        split = split_scalar(data)
                        key, kind = split if split is not None else (b"", -1)
                    sink = sinks[kind].get(key)
                    if sink is None and kind >= 0:
                        tag = fast_tags.get(key)
                        if tag is None:  # first sight of a tag: from the key itself
                            tag = tag_in_key(key)
                            if tag is not None:
                                learn_tag(key, tag)
                        if tag is not None and key_kind(key) == kind:
                            sink = self._new_sink(tag, key, kind)
                    if sink is not None:
                        sink(data)
                        continue
                # ---- general path (and first sight of a tag)
                self._slow(data, base + pos - len(data) - RECORD_OVERHEAD)
            return pos, False, 0
        finally:
            self._flush_pending()

    def _new_sink(self, tag: str, key: bytes, kind: int):
        """Where this read's fast-path records of ``tag`` wait to be decoded in bulk; None
        when this read already keeps records of ``tag`` with another key (one tag written
        two ways: the others go through protobuf, in order)."""
        known = self._key_of.get(tag)
        if known is not None and known != (key, kind) and self._pending.get(tag):
            return None
        self._plugins[tag] = SCALARS
        self._key_of[tag] = (key, kind)
        self._new_series(tag)  # the tag takes its place in file order now, not when decoded
        pending = self._pending.get(tag)
        if pending is None:
            pending = self._pending[tag] = []
        if known is not None and known != (key, kind):  # (its pending list now decodes as this key)
            self._sinks[known[1]].pop(known[0], None)
        sink = self._sinks[kind][key] = pending.append
        return sink

    def _flush_pending(self, only: str | None = None) -> None:
        """Decode the fast-path records kept aside into this call's new series."""
        for tag, datas in self._pending.items():
            if not datas or (only is not None and tag != only):
                continue
            key, kind = self._key_of[tag]
            steps, walls, values = fast_columns(datas, len(key), kind)
            datas.clear()  # in place: the sink (its bound append) stays valid
            self._new_series(tag).extend(ScalarSeries(steps, walls, values))

    def _new_series(self, tag: str) -> ScalarSeries:
        """This call's series of new points of ``tag``."""
        s = self._new.get(tag)
        if s is None:
            s = self._new[tag] = ScalarSeries()
        return s

    def _slow(self, data: bytes, offset: int) -> None:
        if file_version_only(data):
            return
        try:
            wall, step, items = parse_event(data, self._plugins)
        except Exception as exc:  # DecodeError, or garbage in a valid record
            self._call_warnings.append(
                f"{self._spath}: undecodable event at byte {offset} "
                f"({exc.__class__.__name__}); skipped"
            )
            return
        for kind, tag, val in items:
            if kind == SCALARS:
                if self._pending.get(tag):
                    self._flush_pending(tag)  # keep the file order within a tag
                s = self._new_series(tag)
                s.steps.append(step)
                s.wall_times.append(wall)
                s.values.append(val)
                split = split_scalar(data) if len(items) == 1 else None
                # Later records of this tag laid out like this one take the fast path.
                if split is not None and key_kind(split[0]) == split[1]:
                    if tag_in_key(split[0]) == tag:
                        learn_tag(split[0], tag)
                        self._new_sink(tag, *split)
            elif kind == TEXT:
                self.texts.setdefault(tag, []).append((step, val))
            elif kind == HPARAMS:
                self.hparams.update(val)
            else:
                self.compiled.update(val)

    def __repr__(self) -> str:
        return f"EventFileReader({self._spath!r}, offset={self.offset})"


def _version_end(buf: bytes) -> int:
    """The end of ``buf``'s first record when it holds only a file version, else 0."""
    if len(buf) < HEADER_LENGTH:
        return 0
    end = RECORD_OVERHEAD + HEADER.unpack_from(buf, 0)[0]
    return end if end <= len(buf) and is_version_record(buf, 0, end) else 0


def read_together(
    files: list[EventFileReader], return_new: bool = False
) -> list[dict[str, ScalarSeries]]:
    """:meth:`EventFileReader.read_new` of each of ``files``, in order, their small new
    parts decoded together, a block of files at a time; the new points of each file
    when ``return_new``."""
    news: list[dict[str, ScalarSeries]] = []
    if not files:
        return news
    block: list[tuple[EventFileReader, bytes]] = []
    size = 0
    for f in files:
        head: list[bytes] = []
        data = read_small(f._spath, f.offset, _BATCH_MAX, head)
        if head:
            f.head = head[0]
        if data is None or size + len(data) > _BLOCK:
            news += _read_block(block, return_new)
            block, size = [], 0
        if data is None:  # big, unchanged or unreadable: on its own (and its warnings)
            news.append(f._read(return_new))
        else:
            block.append((f, data))
            size += len(data)
    news += _read_block(block, return_new)
    return news


def _bulk_pays(size: int) -> bool:
    """Whether ``size`` new bytes of small files are read in bulk rather than by the loop."""
    return size >= LOOP_MAX or "numpy" in sys.modules


def _read_loop(f: EventFileReader, data: bytes, return_new: bool) -> dict[str, ScalarSeries]:
    """One small file's new bytes (from ``f.offset``) read by the record loop."""
    f._begin()
    start = f.offset
    consumed, _, _ = f._scan_loop(data, start)
    f.offset = start + consumed
    return f._end(start, return_new)


def _read_block(
    block: list[tuple[EventFileReader, bytes]], return_new: bool
) -> list[dict[str, ScalarSeries]]:
    """Read ``(reader, its new bytes)`` of a few files at once: their bytes joined in one
    buffer (small enough to stay in a core's cache), its runs of scalar records decoded
    in one pass, and each file then takes its part, in order."""
    if not block:
        return []
    if not _bulk_pays(sum(len(data) for _, data in block)):
        return [_read_loop(f, data, return_new) for f, data in block]
    import numpy as np

    from . import bulk

    views = bulk.Views(b"".join(data for _, data in block))
    index = bulk.TailIndex(views)
    his = list(itertools.accumulate(len(data) for _, data in block))
    los = [0, *his[:-1]]
    plans = []
    starts, ends = [], []
    bounds: list[int] = []  # the first record of each file's runs, in the joined run
    count = 0
    for found in bulk.file_segments(views, los, his, index):
        segments = []
        for kind, a, b in found:
            if kind == "run":
                segments.append((kind, a, b, count))
                bounds.append(count)
                starts.append(a)
                ends.append(b)
                count += len(a)
            else:
                segments.append((kind, a, b))
        plans.append(segments)
    run = None
    if starts:
        run = bulk.decode_run(views, np.concatenate(starts), np.concatenate(ends), known_tag)
        run.split(bounds + [count])
    news = []
    for (f, _), lo, hi, segments in zip(block, los, his, plans, strict=True):
        f._begin()
        start = f.offset
        consumed, _, _ = f._scan_segments(views, segments, lo, hi, start, run)
        f.offset = start + consumed
        news.append(f._end(start, return_new))
    return news
