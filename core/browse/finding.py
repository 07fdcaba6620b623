"""Finding run directories below a log directory, and a run's name in it."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from ..rundir.kind import classify

MAX_DEPTH = 8


def iter_run_dirs(
    root: str | os.PathLike,
    skip: set[str] | frozenset = frozenset(),
    max_depth: int = MAX_DEPTH,
    known: Mapping[str, str] | None = None,
) -> Iterator[tuple[Path, str]]:
    """Every run directory below ``root`` (or ``root`` itself) as ``(path, kind)``, in walk
    order (a folder's sub-directories by name), each as soon as it is found.

    A run directory is not searched further. Directories in ``skip`` (known runs, as
    strings) are neither classified nor searched; hidden directories are skipped. A
    directory the walk reaches that is in ``known`` (path -> kind, a summary cache's runs)
    is taken as that kind without listing it: whoever reads it checks its files anyway.
    """
    known = known or {}

    def walk(folder: str, depth: int) -> Iterator[tuple[Path, str]]:
        if folder in skip:
            return
        if folder in known:
            yield Path(folder), known[folder]
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
            yield Path(folder), kind
            return
        if depth >= max_depth:
            return
        for e in sorted(subdirs, key=lambda e: e.name):
            if not e.name.startswith("."):
                yield from walk(e.path, depth + 1)

    yield from walk(os.fspath(root), 0)


def find_run_dirs(
    root: str | os.PathLike, skip: set[str] | frozenset = frozenset(), max_depth: int = MAX_DEPTH
) -> list[tuple[Path, str]]:
    """Every run directory below ``root`` (or ``root`` itself) as ``(path, kind)``, sorted by
    path (see :func:`iter_run_dirs`)."""
    return sorted(iter_run_dirs(root, skip, max_depth), key=lambda item: str(item[0]))


def run_name(path: Path, root: Path) -> str:
    """A run's name: its path below the log directory ``root`` (the directory's own name
    when the log directory is the run)."""
    top, below = str(root), str(path)
    if below.startswith(top) and below[len(top) : len(top) + 1] == "/" and not top.endswith("/"):
        return below[len(top) + 1 :]  # (the common case, without pathlib's parsing or comparing)
    if path == root:
        return root.resolve().name or str(root)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name
