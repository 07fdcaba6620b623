"""The run directory's layout: the name of every file keraslab keeps in it, and which paths are inside a log directory."""

from __future__ import annotations

import os
from pathlib import Path

# written by keraslab's run writer
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
RESULTS_FILE = "results.json"
SUMMARY_FILE = "summary.txt"
CHECKPOINT_FILE = "best_model.keras"
PREDICTIONS_FILE = "test_predictions.npz"
ERROR_FILE = "error.log"
# the user's annotations, in a run of either kind
NOTES_FILE = "notes.md"
TAGS_FILE = "tags.json"
# in a log directory: archived runs (hidden from browsing)
ARCHIVE_DIR = ".archive"
# Sub-directories Keras' TensorBoard callback (and similar writers) use for one run's splits.
SPLIT_DIRS = ("train", "validation", "eval", "evaluation", "test", "val")

KERASLAB = "keraslab"
TENSORBOARD = "tensorboard"


def is_inside(path: str | os.PathLike, root: str | os.PathLike) -> bool:
    """Whether ``path`` is ``root`` or below it once both have their symlinks resolved."""
    try:
        real, base = Path(path).resolve(), Path(root).resolve()
    except (OSError, RuntimeError):  # (RuntimeError: a symlink loop on older Pythons)
        return False
    return real == base or base in real.parents


def is_plain_relpath(rel: str) -> bool:
    """Whether ``rel`` (a path read from a file) names something below a directory:
    relative, without ``..``, not empty."""
    if not isinstance(rel, str) or not rel or "\0" in rel:
        return False
    p = Path(rel)
    return not p.is_absolute() and ".." not in p.parts and not rel.startswith(("/", "\\"))
