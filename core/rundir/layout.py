"""The run directory's layout: the name of every file keraslab keeps in it, and which paths are inside a log directory."""

from __future__ import annotations

import os

from ..safefile import inside

# written by keraslab's run writer
CONFIG_FILE = "config.json"
STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
RESULTS_FILE = "results.json"
SUMMARY_FILE = "summary.txt"
CHECKPOINT_FILE = "best_model.keras"
LAST_CHECKPOINT_FILE = "last.keras"  # the last state (optimizer included) a stopped run resumes from
PREDICTIONS_FILE = "test_predictions.npz"
ERROR_FILE = "error.log"
OUTPUT_LOG = "output.log"  # what the run printed (stdout and stderr): its console
# metrics.jsonl's record marking a resume: {"type": "resume", "resumed_at_epoch": N, "time": ...}
RESUME_RECORD = "resume"
# metrics.jsonl's record of a system sample: {"type": "system", "step": <whole seconds into
# training>, "time": ..., "system/...": value, ...}; TensorBoard scalars of the same tags in train/
SYSTEM_RECORD = "system"
# created by anyone to ask the process training the run to stop it (consumed when it stops)
STOP_FILE = "stop"
# the user's annotations, in a run of either kind
NOTES_FILE = "notes.md"
TAGS_FILE = "tags.json"
# in a log directory: archived runs (hidden from browsing)
ARCHIVE_DIR = ".archive"
# Sub-directories Keras' TensorBoard callback (and similar writers) use for one run's splits.
SPLIT_DIRS = ("train", "validation", "eval", "evaluation", "test", "val")

KERASLAB = "keraslab"
TENSORBOARD = "tensorboard"


def is_plain_relpath(rel: str) -> bool:
    """Whether ``rel`` (a path read from a file) names something below a directory:
    relative, without ``..``, ``.`` or empty parts, no NUL or backslash."""
    if not isinstance(rel, str) or not rel or rel[0] in "/\\" or "\0" in rel or "\\" in rel:
        return False
    return not any(part in ("", ".", "..") for part in rel.split("/"))


def rel_stays_inside(root: str | os.PathLike, rel: str) -> bool:
    """Whether ``root/rel``, ``rel`` read from a file, is below ``root`` once symlinks are
    resolved: ``rel`` is plain (:func:`is_plain_relpath`) and any symlink on the way
    resolves inside ``root``. (Only the parts below ``root`` are checked for links: one
    lstat each, not a full resolve of every path.)"""
    if not is_plain_relpath(rel):
        return False
    at = os.fspath(root)
    for part in rel.split("/"):
        at = os.path.join(at, part)
        if os.path.islink(at):
            return inside(os.path.join(root, rel), root) is not None
    return True
