"""User annotations of a run kept in its directory (notes.md, tags.json), archive and delete."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from ..browse.discovery import ARCHIVE_DIR, NOTES_FILE, TAGS_FILE, run_kind
from ..errors import RunStoreError
from ..rundir.writer import write_text_atomic


def read_notes(run_dir: str | os.PathLike) -> str:
    try:
        return (Path(run_dir) / NOTES_FILE).read_text(encoding="utf-8", errors="replace")
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


def read_tags(run_dir: str | os.PathLike) -> list[str]:
    try:
        data = json.loads((Path(run_dir) / TAGS_FILE).read_text())
    except (OSError, ValueError):
        return []
    return [str(t) for t in data] if isinstance(data, list) else []


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


def _check_run(run_dir: Path) -> None:
    if not run_dir.is_dir() or run_kind(run_dir) is None:
        raise RunStoreError(f"{run_dir}: not a run directory; refusing to touch it")


def archive_run(run_dir: str | os.PathLike, logdir: str | os.PathLike | None = None) -> Path:
    """Move a run into ``<logdir>/.archive/`` (hidden from browsing, nothing deleted); return its new path."""
    run_dir = Path(run_dir)
    _check_run(run_dir)
    root = Path(logdir) if logdir else run_dir.parent
    if run_dir.resolve() == root.resolve():
        root = run_dir.parent
    target_parent = root / ARCHIVE_DIR
    try:
        rel = run_dir.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path(run_dir.name)
    target = target_parent / rel
    n = 1
    while target.exists():
        n += 1
        target = target_parent / f"{rel}.{n}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(run_dir), str(target))
    except OSError as exc:
        raise RunStoreError(f"cannot archive {run_dir}: {exc.strerror or exc}") from None
    return target


def delete_run(run_dir: str | os.PathLike) -> None:
    """Delete a run directory and everything in it (only a directory that is a run)."""
    run_dir = Path(run_dir)
    _check_run(run_dir)
    try:
        shutil.rmtree(run_dir)
    except OSError as exc:
        raise RunStoreError(f"cannot delete {run_dir}: {exc.strerror or exc}") from None
