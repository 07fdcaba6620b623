"""User annotations of a run kept in its directory (notes.md, tags.json), archive and delete."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..errors import RunStoreError
from ..safefile import inside, read_text
from .fileio import Warn, no_warning, parse_json, read_file, write_text_atomic
from .kind import run_kind
from .layout import ARCHIVE_DIR, KERASLAB, NOTES_FILE, TAGS_FILE
from .reader import load_run


def read_notes(run_dir: str | os.PathLike) -> str:
    """A run's notes ("" when it has none, or notes.md is unreadable or no regular file)."""
    try:
        return read_text(Path(run_dir) / NOTES_FILE)
    except OSError:
        return ""


def write_notes(run_dir: str | os.PathLike, text: str) -> None:
    """Store a run's notes (an empty text removes the file)."""
    path = Path(run_dir) / NOTES_FILE
    try:
        if text.strip():
            write_text_atomic(path, text if text.endswith("\n") else text + "\n")
        elif path.exists():
            path.unlink()
    except OSError as exc:
        raise RunStoreError(f"cannot write notes in {run_dir}: {exc.strerror or exc}") from None


def parse_tags_file(data: bytes | None, path: str | os.PathLike, warn: Warn) -> list[str]:
    """The tags in a tags.json's bytes: a JSON list of texts (anything else dropped, with ``warn``)."""
    items = parse_json(data, path, warn, want=list)
    tags = [t for t in items if isinstance(t, str)]
    if len(tags) != len(items):
        warn(f"{path}: tags that are not text ignored")
    return tags


def read_tags(run_dir: str | os.PathLike) -> list[str]:
    path = Path(run_dir) / TAGS_FILE
    return parse_tags_file(read_file(path, no_warning), path, no_warning)


def parse_tags(text: str) -> list[str]:
    """Tags from user text: separated by commas or blanks, duplicates dropped, order kept."""
    words = [w.strip() for w in text.replace(",", " ").split()]
    return list(dict.fromkeys(w for w in words if w))


def write_tags(run_dir: str | os.PathLike, tags: list[str]) -> None:
    path = Path(run_dir) / TAGS_FILE
    try:
        if tags:
            write_text_atomic(path, json.dumps(list(tags)) + "\n")
        elif path.exists():
            path.unlink()
    except OSError as exc:
        raise RunStoreError(f"cannot write tags in {run_dir}: {exc.strerror or exc}") from None


def _check_run(run_dir: Path, logdir: str | os.PathLike | None) -> Path:
    """``logdir`` resolved, when ``run_dir`` is a run directory inside it (symlinks resolved);
    RunStoreError otherwise: whatever a caller passes, nothing else is moved or deleted."""
    if logdir is None:
        raise RunStoreError(f"{run_dir}: no log directory given; refusing to touch it")
    root = Path(logdir)
    if run_dir.is_symlink() or inside(run_dir, root) is None:
        raise RunStoreError(f"{run_dir}: not inside the log directory {root}; refusing to touch it")
    kind = run_kind(run_dir) if run_dir.is_dir() else None
    if kind is None:
        raise RunStoreError(f"{run_dir}: not a run directory; refusing to touch it")
    if kind == KERASLAB and load_run(run_dir).status == "running":
        raise RunStoreError(f"{run_dir}: the run is training; stop it first")
    return root.resolve()


def archive_run(run_dir: str | os.PathLike, logdir: str | os.PathLike) -> Path:
    """Move a run into ``<logdir>/.archive/`` (hidden from browsing, nothing deleted); return its new path.

    Raises RunStoreError unless ``run_dir`` is a run directory inside ``logdir``.
    """
    run_dir = Path(run_dir)
    real_root = _check_run(run_dir, logdir)
    real, root = run_dir.resolve(), Path(logdir)
    if real == real_root:  # the log directory is itself the run: archive it beside itself
        root, real_root = root.parent, real_root.parent
    target_parent = root / ARCHIVE_DIR
    rel = real.relative_to(real_root)
    target = target_parent / rel
    n = 1
    while target.exists():
        n += 1
        target = target_parent / f"{rel}.{n}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target_parent.is_symlink() or inside(target.parent, root) is None:
            raise RunStoreError(f"{target_parent}: leads outside the log directory; not archiving")
        shutil.move(str(real), str(target))
    except OSError as exc:
        raise RunStoreError(f"cannot archive {run_dir}: {exc.strerror or exc}") from None
    return target


def delete_run(run_dir: str | os.PathLike, logdir: str | os.PathLike) -> None:
    """Delete a run directory and everything in it.

    Raises RunStoreError unless ``run_dir`` is a run directory inside ``logdir``.
    """
    run_dir = Path(run_dir)
    _check_run(run_dir, logdir)
    try:
        shutil.rmtree(run_dir.resolve())
    except OSError as exc:
        raise RunStoreError(f"cannot delete {run_dir}: {exc.strerror or exc}") from None
