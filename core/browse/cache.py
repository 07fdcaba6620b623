"""Per-log-directory summary cache: a small JSON of run states, next to the runs or in a user cache."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from ..rundir.fileio import Warn, no_warning, parse_json, read_file, write_text_atomic
from .tagmap import digest

CACHE_NAME = ".keraslab-cache.json"
CACHE_VERSION = 4  # a cache of another version is ignored (raise it when the entries change)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/keraslab`` (default ``~/.cache/keraslab``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "keraslab"


def cache_paths(logdir: Path) -> tuple[Path, Path]:
    """(in the log directory, in the user cache) paths of a log directory's summary cache."""
    key = hashlib.sha1(str(Path(logdir).resolve()).encode()).hexdigest()[:16]
    return Path(logdir) / CACHE_NAME, user_cache_dir() / f"summaries-{key}.json"


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
        data = parse_json(read_file(path, warn), path, no_warning, check_depth=False)
        if data.get("version") == CACHE_VERSION and data.get("metric_map") == digest() and isinstance(data.get("runs"), dict):
            best = (mtime, data["runs"])
    return best[1] if best else {}


def save_cache(logdir: Path, runs: dict[str, dict[str, Any]]) -> Path | None:
    """Write the cache atomically in the log directory, else in the user cache; None if neither works."""
    text = json.dumps({"version": CACHE_VERSION, "metric_map": digest(), "runs": runs}, separators=(",", ":"))
    for path in cache_paths(logdir):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, text, mode=0o644)
            return path
        except OSError:
            continue
    return None
