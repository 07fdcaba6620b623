"""Per-log-directory summary cache: a small JSON of run states, next to the runs or in a user cache."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ..rundir.fileio import Warn, no_warning, parse_json, read_file, write_text_atomic
from ..rundir.layout import is_plain_relpath
from .columns import from_columns, to_columns
from .tagmap import digest

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: saves are not serialized (a lost entry is read again)
    fcntl = None  # type: ignore[assignment]

CACHE_NAME = ".keraslab-cache.json"
CACHE_VERSION = 7  # a cache of another version is ignored (raise it when the entries change)
BLOCK = 1000  # keraslab runs a block of columns holds (one short decode each)
LOCK_WAIT = 5.0  # seconds a save waits for another process's save to end before giving up


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/keraslab`` (default ``~/.cache/keraslab``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "keraslab"


def cache_paths(logdir: Path) -> tuple[Path, Path]:
    """(in the log directory, in the user cache) paths of a log directory's summary cache."""
    key = hashlib.sha1(str(Path(logdir).resolve()).encode()).hexdigest()[:16]
    return Path(logdir) / CACHE_NAME, user_cache_dir() / f"summaries-{key}.json"


def cache_size(logdir: Path) -> int:
    """The size in bytes of the bigger of a log directory's cache files (0: none)."""
    sizes = [0]
    for path in cache_paths(logdir):
        with contextlib.suppress(OSError):
            sizes.append(path.stat().st_size)
    return max(sizes)


def load_cache(logdir: Path, warn: Warn = no_warning) -> dict[str, dict[str, Any]]:
    """The cached run states of a log directory keyed by run path relative to it ({} when none).

    Of the two possible places the newer readable file wins; a damaged cache is ignored.
    A cache saved under other metric-map rules (its runs' metric names) is ignored too.
    The keys and entries are as untrusted as any file: the watcher checks each. A cache
    that cannot be read (a FIFO under its name, say) is skipped with ``warn``.
    """
    best: tuple[int, dict] | None = None
    for path in cache_paths(logdir):
        try:
            mtime = path.stat().st_mtime_ns
        except OSError:
            continue
        if best is not None and mtime <= best[0]:
            continue
        runs = _runs_of(path, warn)
        if runs is not None:
            best = (mtime, runs)
    return best[1] if best else {}


def _runs_of(path: Path, warn: Warn = no_warning) -> dict[str, Any] | None:
    """The entries of one cache file (None: absent, damaged or of another version)."""
    raw = read_file(path, warn)
    runs = _decode_entries(raw) if raw else None
    if runs is not None:
        return runs
    data = parse_json(raw, path, no_warning, check_depth=False)
    blocks, entries = data.get("keraslab"), data.get("runs")
    if data.get("version") != CACHE_VERSION or data.get("metric_map") != digest():
        return None
    if type(blocks) is not list or type(entries) is not dict:
        return None
    runs = {}
    for block in blocks:
        rows = from_columns(block)
        if rows is None:
            return None
        runs.update(rows)
    return {**runs, **entries}


def _head() -> str:
    """What save_cache writes before the first block of columns: the version and the
    metric-map rules' digest (a cache saved under other rules named its runs' metrics
    otherwise: stale)."""
    return f'{{"version":{CACHE_VERSION},"metric_map":{json.dumps(digest())},"keraslab":['


_RUNS = '],"runs":{'  # between the blocks and the entries kept whole
_decode = json.JSONDecoder().raw_decode


def _decode_entries(raw: bytes) -> dict[str, Any] | None:
    """The entries of a cache as :func:`save_cache` writes it, decoded a block of columns,
    then an entry, at a time (each a short call: a big cache does not hold other threads,
    the browser's UI, for the whole decode); None when the text is in any other form or a
    block is spoilt (the caller parses it whole, and refuses it too)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    head = _head()
    if not text.startswith(head):
        return None
    runs: dict[str, Any] = {}
    at = len(head)
    try:
        more = text[at] != "]"
        while more:
            block, at = _decode(text, at)
            rows = from_columns(block)
            if rows is None or text[at] not in ",]":
                return None
            runs.update(rows)
            more = text[at] == ","
            at += more
        if not text.startswith(_RUNS, at):
            return None
        at += len(_RUNS)
        if text[at] == "}":
            return runs if text[at:] == "}}" else None
        while True:
            key, at = _decode(text, at)
            if type(key) is not str or text[at] != ":":
                return None
            runs[key], at = _decode(text, at + 1)
            if text[at] == ",":
                at += 1
            else:
                return runs if text[at:] == "}}" else None
    except (ValueError, IndexError, RecursionError):
        return None


def save_cache(logdir: Path, runs: dict[str, dict[str, Any]], gone: Iterable[str] = ()) -> Path | None:
    """Write the cache atomically in the log directory, else in the user cache; None if neither works.

    Several processes may save one log directory's cache at once (a browser, `keraslab
    runs`, sweeps' runs): each save holds an advisory lock beside the cache while it reads
    the cache as it is now and keeps the entries of runs ``runs`` lacks (another process
    read them; those of directories gone, or in ``gone``, are dropped), then replaces the
    file. So no process's entries are lost, and a reader never sees a torn file. An entry
    is only as good as its file signatures: a reader reads again any run whose files
    differ from them. A save that waits LOCK_WAIT for the lock gives up (returns None).
    """
    gone = set(gone)
    for path in cache_paths(logdir):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with _locked(path) as locked:
                if not locked:
                    return None
                entries = dict(runs)
                for rel, entry in (_runs_of(path) or {}).items():
                    if rel not in entries and rel not in gone and _still_there(logdir, rel):
                        entries[rel] = entry
                write_text_atomic(path, _encode(entries), mode=0o644)
            return path
        except OSError:
            continue
    return None


def _encode(entries: dict[str, Any]) -> str:
    """The cache's text: one JSON object, its keraslab runs in blocks of BLOCK runs' columns
    (:mod:`.columns`), then the other entries one at a time (see _decode_entries)."""
    blocks, rest = to_columns(entries, BLOCK)
    columns = ",".join(json.dumps(block, separators=(",", ":")) for block in blocks)
    body = ",".join(f"{json.dumps(rel)}:{json.dumps(entry, separators=(',', ':'))}" for rel, entry in rest.items())
    return f"{_head()}{columns}{_RUNS}{body}}}}}"


def _still_there(logdir: Path, rel: Any) -> bool:
    """Whether a cache entry's key (untrusted) names a directory below the log directory now."""
    return rel == "." or (is_plain_relpath(rel) and os.path.isdir(os.path.join(logdir, rel)))


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    """Hold an exclusive advisory lock on ``<cache>.lock`` (yields False when another process
    held it for LOCK_WAIT). Where locks are unavailable (no fcntl, a file system without
    them) the save goes on unlocked: the cache is a cache."""
    if fcntl is None:
        yield True
        return
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(f"{path}.lock", flags, 0o644)
    except OSError:
        yield True
        return
    try:
        deadline = time.monotonic() + LOCK_WAIT
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.01)
            except OSError:  # (no locks on this file system)
                break
        yield True
    finally:
        os.close(fd)  # (releases the lock)
