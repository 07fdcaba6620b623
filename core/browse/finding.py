"""Finding run directories below a log directory, and a run's name in it."""

from __future__ import annotations

import os
from pathlib import Path

from ..rundir.kind import classify

MAX_DEPTH = 8


def find_run_dirs(
    root: str | os.PathLike, skip: set[str] | frozenset = frozenset(), max_depth: int = MAX_DEPTH
) -> list[tuple[Path, str]]:
    """Every run directory below ``root`` (or ``root`` itself) as ``(path, kind)``, sorted by path.

    A run directory is not searched further. Directories in ``skip`` (known runs, as
    strings) are neither classified nor searched; hidden directories are skipped.
    """
    found: list[tuple[Path, str]] = []

    def walk(folder: str, depth: int) -> None:
        if folder in skip:
            return
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        files, subdirs = [], []
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    subdirs.append(e)
                else:
                    files.append(e.name)
            except OSError:
                continue
        kind = classify(files, subdirs)
        if kind is not None:
            found.append((Path(folder), kind))
            return
        if depth >= max_depth:
            return
        for e in sorted(subdirs, key=lambda e: e.name):
            if not e.name.startswith("."):
                walk(e.path, depth + 1)

    walk(os.fspath(root), 0)
    found.sort(key=lambda item: str(item[0]))
    return found


def run_name(path: Path, root: Path) -> str:
    """A run's name: its path below the log directory ``root`` (the directory's own name
    when the log directory is the run)."""
    if path == root:
        return root.resolve().name or str(root)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
