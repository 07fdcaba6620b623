"""A sweep read as one experiment: each point's state and result, ranked by a metric."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..browse.discovery import load_summary
from ..browse.summary import RunSummary
from ..errors import KeraslabError
from ..rundir.fileio import no_warning, read_json
from ..rundir.layout import CONFIG_FILE
from ..rundir.metricstats import lower_is_better
from .slurm import task_states
from .store import Sweep, SweepPoint, point_run

DEFAULT_METRICS = ("val_accuracy", "accuracy", "val_loss", "loss")
STATES = ("pending", "running", "done", "stopped", "failed")
_RUN_STATES = {"completed": "done", "running": "running", "stopped": "stopped"}
_QUEUED = ("PENDING", "REQUEUED", "CONFIGURING", "REQUEUE_HOLD", "REQUEUE_FED", "SUSPENDED")


@dataclass
class PointRow:
    """One point of a sweep as `sweep show` lists it."""

    point: SweepPoint
    state: str  # one of STATES
    run: RunSummary | None
    value: float | None  # the ranking metric's best value
    reproduce: str | None  # the run's `keraslab train` command line


def point_rows(sweep: Sweep, metric: str | None = None) -> tuple[list[PointRow], str]:
    """Every point with its state and best ``metric`` (default: the first of
    :data:`DEFAULT_METRICS` a run has), best first, points without a value last; and the
    metric used. A SLURM sweep's states come from squeue/sacct where SLURM answers,
    else (and for every run that started) from the run directories."""
    job = sweep.launcher.get("job_id") if sweep.launcher.get("kind") == "slurm" else None
    queue = task_states(job) if isinstance(job, str) else None
    rows = []
    for point in sweep.points:
        path = point_run(sweep, point)
        summary = _summary(path)
        queued = None if queue is None else queue.get(point.index)
        state = _state(summary, queued, queue is not None)
        if state == "pending" and job and queue is None and sweep.log_file(point.index).exists():
            state = "failed"  # SLURM no longer knows the job: its task ran (it has a log) but made no run
        rows.append(PointRow(point, state, summary, None, _reproduce(path)))
    if metric is None:
        have = {m for r in rows if r.run for m in r.run.metrics}
        metric = next((m for m in DEFAULT_METRICS if m in have), DEFAULT_METRICS[0])
    for row in rows:
        row.value = row.run.metric(metric, "best") if row.run else None
    sign = 1 if lower_is_better(metric) else -1
    rows.sort(key=lambda r: (r.value is None, 0 if r.value is None else sign * r.value, r.point.index))
    return rows, metric


def _summary(path: Path | None) -> RunSummary | None:
    if path is None:
        return None
    try:
        return load_summary(path)
    except KeraslabError:
        return None


def _state(run: RunSummary | None, queued: str | None, slurm_answered: bool) -> str:
    if queued in _QUEUED:
        return "pending"
    if queued == "RUNNING":
        return "running"
    if run is not None:
        return _RUN_STATES.get(run.status, "failed")
    # a task that left SLURM's queue without making a run never trained
    return "failed" if slurm_answered else "pending"


def _reproduce(path: Path | None) -> str | None:
    if path is None:
        return None
    command = read_json(path / CONFIG_FILE, no_warning).get("reproduce")
    return command if isinstance(command, str) else None
