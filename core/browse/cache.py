"""Per-log-directory summary cache: a small JSON of run states, next to the runs or in a user cache."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_NAME = ".keraslab-cache.json"
CACHE_VERSION = 4  # 2: files read have a head fingerprint (discovery._head); 3: TB hparams; 4: Keras compile settings


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/keraslab`` (default ``~/.cache/keraslab``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "keraslab"


def cache_paths(logdir: Path) -> tuple[Path, Path]:
    """(in the log directory, in the user cache) paths of a log directory's summary cache."""
    key = hashlib.sha1(str(Path(logdir).resolve()).encode()).hexdigest()[:16]
    return Path(logdir) / CACHE_NAME, user_cache_dir() / f"summaries-{key}.json"


def load_cache(logdir: Path) -> dict[str, dict[str, Any]]:
    """The cached run states of a log directory keyed by run path relative to it ({} when none).

    Of the two possible places the newer readable file wins; a damaged cache is ignored.
    """
    best: tuple[int, dict] | None = None
    for path in cache_paths(logdir):
        try:
            mtime = path.stat().st_mtime_ns
            if best is not None and mtime <= best[0]:
                continue
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        if (
            isinstance(data, dict)
            and data.get("version") == CACHE_VERSION
            and isinstance(data.get("runs"), dict)
        ):
            best = (mtime, data["runs"])
    return best[1] if best else {}


def save_cache(logdir: Path, runs: dict[str, dict[str, Any]]) -> Path | None:
    """Write the cache atomically in the log directory, else in the user cache; None if neither works."""
    text = json.dumps({"version": CACHE_VERSION, "runs": runs}, separators=(",", ":"))
    for path in cache_paths(logdir):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".keraslab-cache.", suffix=".tmp", dir=path.parent)
        except OSError:
            continue
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
            return path
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return None
