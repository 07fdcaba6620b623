"""A run's state as discovery keeps it: the files it has read, up to where, and what they said."""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Container
from pathlib import Path
from typing import Any

from ..rundir.fileio import read_file
from ..rundir.layout import NOTES_FILE, TAGS_FILE
from ..rundir.meta import parse_tags_file
from ..rundir.metricstats import MetricStats
from ..safefile import open_regular
from ..tfevents import HEAD_BYTES
from .summary import RunSummary


def file_sig(st: os.stat_result | None) -> list[int] | None:
    """What tells a file changed: ``[size, mtime_ns]`` (None: no file)."""
    return None if st is None else [st.st_size, st.st_mtime_ns]


def stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


HEAD = HEAD_BYTES  # a metrics line's or an event file's first record holds a wall time


def file_head(path: str, first: bytes | None = None) -> list[int] | None:
    """``[n, crc32]`` of a file's first n (<= HEAD) bytes (``first`` when the read that
    just ended started there): the file under that name later is the same one grown if
    its first n bytes still match, and another (a run deleted and trained again under
    its name; inodes are reused) if not."""
    if first is None or len(first) < HEAD:
        try:
            with open_regular(path) as f:
                first = f.read(HEAD)
        except OSError:
            return None
    return [len(first), zlib.crc32(first)]


def head_matches(first: bytes, head: list[int] | None) -> bool:
    """Whether a file whose first bytes are ``first`` (at least head's n) is the one ``head`` was taken of."""
    return not head or (len(first) >= head[0] and zlib.crc32(first[: head[0]]) == head[1])


def same_file(path: str, head: list[int] | None) -> bool:
    if not head:
        return True
    try:
        with open_regular(path) as f:
            data = f.read(head[0])
    except OSError:
        return True  # (the read that follows reports it)
    return head_matches(data, head)


def is_head(value: Any) -> bool:
    """Whether a value read from the summary cache is a :func:`file_head` (or None)."""
    if value is None:
        return True
    if type(value) is not list or len(value) != 2:
        return False
    a, b = value
    return type(a) is int and type(b) is int and a >= 0 and b >= 0


def is_sig(value: Any) -> bool:
    """Whether a value read from the summary cache is a :func:`file_sig` (or None)."""
    return is_head(value)


_STAT_FIELDS = tuple(MetricStats.__dataclass_fields__)
STAT_VALUES = len(_STAT_FIELDS)  # values in a metric's packed stats; the 5th is the count, an int
NUMBER_OR_NONE = frozenset((int, float, type(None)))


def pack_stats(stats: dict[str, MetricStats]) -> dict[str, list]:
    """Per-metric stats as the summary cache keeps them: a list of the fields' values each."""
    return {k: [getattr(v, f) for f in _STAT_FIELDS] for k, v in stats.items()}


def unpack_stats(data: Any) -> dict[str, MetricStats]:
    """:func:`pack_stats`' output read back from the cache, checked (ValueError when it is not that)."""
    if type(data) is not dict:
        raise ValueError("not metric stats")
    rows = list(data.values())
    if not all(type(row) is list and len(row) == STAT_VALUES and type(row[4]) is int for row in rows):
        raise ValueError("not metric stats")
    if not {type(v) for row in rows for v in row} <= NUMBER_OR_NONE:  # (every run's values in one set)
        raise ValueError("metric stats hold something other than numbers")
    return stats_of(data)


def stats_of(data: dict[str, list]) -> dict[str, MetricStats]:
    """:func:`pack_stats`' output made stats again, unchecked (the caller checked it); a row
    of another length is a ValueError. Every cached run's stats come through here: the fields
    are set by one unpacking each (tests/test_cache_columns.py checks they are _STAT_FIELDS)."""
    out = {}
    new = MetricStats.__new__
    for key, row in data.items():
        s = out[key] = new(MetricStats)
        s.first, s.last, s.min, s.max, s.count, s.first_step, s.last_step, s.first_time, s.last_time = row
    return out


class Checked(dict):
    """A summary cache entry known to be good: a state's own (``to_cache``) or checked in
    bulk by :func:`.columns.from_columns`. JSON decoding makes plain dicts, so no file
    makes one; ``from_cache`` checks any other entry field by field."""


def flatten(key: str, value: Any, out: dict[str, Any]) -> None:
    """Nested dicts as dotted keys in ``out``; a list as its JSON text."""
    if isinstance(value, dict):
        for k, v in value.items():
            flatten(f"{key}.{k}" if key else str(k), v, out)
    else:
        out[key] = json.dumps(value) if isinstance(value, list) else value


class RunState:
    """What keraslab knows of one run; ``refresh()`` stats its files and reads only what changed."""

    kind = ""

    def __init__(self, path: Path, name: str, logdir: Path | None = None):
        self.path = path if isinstance(path, Path) else Path(path)
        self.name = name
        self.logdir = logdir
        self.warnings: list[str] = []
        self.tags: list[str] = []
        self.notes = ""
        self._summary: RunSummary | None = None
        self.bytes_read = 0  # total bytes read by refresh() calls (for tests and benchmarks)

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def _read(self, name: str) -> bytes | None:
        """A file of the run directory (None: absent or unreadable, with a warning), counted in bytes_read."""
        data = read_file(os.path.join(self.path, name), self._warn)  # (a str: no Path made per file)
        self.bytes_read += len(data or b"")
        return data

    def _read_side_files(self, changed: list[str], absent: Container[str] = ()) -> None:
        """Notes and tags (both kinds of runs keep them in the run directory); those in
        ``absent`` (their stat found none) are not opened."""
        if NOTES_FILE in changed:
            self.notes = "" if NOTES_FILE in absent else (self._read(NOTES_FILE) or b"").decode("utf-8", "replace")
        if TAGS_FILE in changed:
            data = None if TAGS_FILE in absent else self._read(TAGS_FILE)
            self.tags = parse_tags_file(data, os.path.join(self.path, TAGS_FILE), self._warn)

    def refresh(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self) -> RunSummary:
        if self._summary is None:
            self._summary = self._make_summary()
        else:
            self._summary.status = self._status()  # staleness moves with the clock
        return self._summary

    def _status(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_summary(self) -> RunSummary:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_cache(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_common(self, data: dict) -> None:
        """Warnings, tags and notes from a summary cache entry (TypeError/ValueError when mistyped)."""
        warnings, tags, notes = data["warnings"], data["tags"], data["notes"]
        if not (isinstance(warnings, list) and isinstance(tags, list) and isinstance(notes, str)):
            raise TypeError("mistyped cache entry")
        if not all(isinstance(t, str) for t in [*warnings, *tags]):
            raise TypeError("mistyped cache entry")
        self.warnings, self.tags, self.notes = list(warnings), list(tags), notes
