"""What kind of run a directory is: a keraslab run, a TensorBoard run, or none."""

from __future__ import annotations

import os

from ..tfevents import is_event_file
from .layout import CONFIG_FILE, KERASLAB, SPLIT_DIRS, STATUS_FILE, TENSORBOARD


def classify(files: list[str], subdirs: list[os.DirEntry]) -> str | None:
    """The kind of run a directory holding ``files`` and ``subdirs`` is (None: not a run).

    A keraslab run has config.json or status.json; a TensorBoard run has event files
    of its own or in a split sub-directory (train/, validation/, ...).
    """
    if CONFIG_FILE in files or STATUS_FILE in files:
        return KERASLAB
    if any(is_event_file(n) for n in files):
        return TENSORBOARD
    for entry in subdirs:
        if entry.name in SPLIT_DIRS:
            try:
                if any(is_event_file(e.name) for e in os.scandir(entry.path)):
                    return TENSORBOARD
            except OSError:
                continue
    return None


def run_kind(path: str | os.PathLike) -> str | None:
    """``'keraslab'``, ``'tensorboard'`` or None: what kind of run a directory is."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return None
    files, subdirs = [], []
    for e in entries:
        try:
            is_dir = e.is_dir()
        except OSError:
            continue
        if is_dir:
            subdirs.append(e)
        else:
            files.append(e.name)
    return classify(files, subdirs)
