"""Where a stopped or interrupted keraslab run resumes: its config, last checkpoint and epoch, checked.

Nothing here imports Keras: the checks read the run's JSON files and look inside
last.keras as a zip archive only (the session loads it with Keras' safe mode).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import KeraslabError, RunStoreError
from ..rundir.kind import run_kind
from ..rundir.layout import KERASLAB, LAST_CHECKPOINT_FILE
from ..rundir.reader import load_run, pid_alive
from ..safefile import is_regular

RESUMABLE = ("stopped", "interrupted")


@dataclass(frozen=True)
class ResumePoint:
    """A run as it resumes: ``epoch`` complete epochs are in its last checkpoint; ``best_epoch``
    and ``best_value`` (None when unknown) are what best_model.keras holds."""

    run_dir: Path
    config: RunConfig
    record: dict[str, Any]  # config.json as read
    status: dict[str, Any]  # status.json as read
    epoch: int
    best_epoch: int | None
    best_value: float | None

    @property
    def checkpoint(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT_FILE


def resume_point(run_dir: str | os.PathLike) -> ResumePoint:
    """The point ``run_dir`` resumes from; RunStoreError (one line) when it cannot resume:
    not a keraslab run, not stopped or interrupted, no last checkpoint or one that is not a
    Keras archive, a config that no longer validates, nothing left to train."""
    path = Path(run_dir)
    name = path.name
    if run_kind(path) != KERASLAB:
        raise RunStoreError(f"{name}: not a keraslab run (only keraslab runs can be resumed)")
    run = load_run(path)
    if run.status not in RESUMABLE:
        raise RunStoreError(f"{name} is {run.status}: only a stopped or interrupted run can be resumed")
    pid = run.local_pid
    if run.status_info.get("status") == "running" and pid is not None and pid_alive(pid):
        raise RunStoreError(f"{name}: its process {pid} is still alive (suspended?); stop it first")
    checkpoint = path / LAST_CHECKPOINT_FILE
    if not os.path.lexists(checkpoint):
        raise RunStoreError(f"{name} has no last checkpoint ({LAST_CHECKPOINT_FILE}) to resume from")
    if not _is_keras_archive(checkpoint):
        raise RunStoreError(f"{name}: {LAST_CHECKPOINT_FILE} is not a Keras model file")
    epoch = run.status_info.get("last_checkpoint_epoch")
    if type(epoch) is not int or epoch < 0:
        raise RunStoreError(f"{name}: status.json does not say which epoch {LAST_CHECKPOINT_FILE} holds")
    try:
        config = RunConfig.from_dict(run.run_config).validate()
    except KeraslabError as exc:
        raise RunStoreError(f"{name}: config.json: {exc}") from None
    if epoch >= config.epochs:
        raise RunStoreError(f"{name}: all {config.epochs} epochs are trained; nothing to resume")
    best_epoch, best_value = _best_so_far(run, epoch)
    return ResumePoint(path, config, dict(run.config), dict(run.status_info), epoch, best_epoch, best_value)


def has_last_checkpoint(run_dir: str | os.PathLike) -> bool:
    """Whether ``run_dir`` holds a last checkpoint: a cheap test for offering a resume
    (:func:`resume_point` checks the rest)."""
    return is_regular(Path(run_dir) / LAST_CHECKPOINT_FILE)


def _is_keras_archive(path: Path) -> bool:
    """A regular file that is a zip archive with a Keras model's config.json (read as a zip
    only: nothing in it is loaded here)."""
    if not is_regular(path):
        return False
    try:
        with zipfile.ZipFile(path) as archive:
            return "config.json" in archive.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


def _best_so_far(run, epoch: int) -> tuple[int | None, float | None]:
    """The best epoch best_model.keras holds, and its monitored value, when that epoch is
    one the resumed run keeps (at most ``epoch``); else (None, None)."""
    best = run.status_info.get("checkpoint_epoch")
    monitor = (run.config.get("model_info") or {}).get("monitor", "val_loss")
    if type(best) is not int or not 0 < best <= epoch or not isinstance(monitor, str):
        return None, None
    values = [r.get(monitor) for r in run.epochs if r.get("epoch") == best]
    value = values[-1] if values else None
    if type(value) not in (int, float):
        return None, None
    return best, float(value)

