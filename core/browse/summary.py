"""A run as a row of the runs table (RunSummary), and the Keras-style metric names of TensorBoard tags."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..rundir.metricstats import MetricStats
from .tagmap import mapped_name

# add_hparams of tensorboardX and PyTorch writes its metrics into a sub-run named str(time.time())
_HPARAMS_SUBRUN = re.compile(r"\d{9,}\.\d+/")


def metric_name(tag: str) -> str:
    """Keras-style metric name of a TensorBoard tag through the metric map (:mod:`.tagmap`):
    train/epoch_loss -> loss, Accuracy/val -> val_accuracy, train_loss -> loss (and
    1795454668.01/hparam/acc, an add_hparams metric, -> hparam/acc: the same name in every run)."""
    m = _HPARAMS_SUBRUN.match(tag)
    if m:
        return tag[m.end() :]
    return mapped_name(tag)


def unique_metric_name(tag: str, taken) -> str:
    """:func:`metric_name` of ``tag``, or when another tag of the run has that name, the
    raw tag (numbered if need be): two tags never share a name. Tags must come in
    :func:`events.merge_order` of their files for every reader to name them alike."""
    name = metric_name(tag)
    if name in taken:
        name, n = tag, 2
        while name in taken:
            name, n = f"{tag} ({n})", n + 1
    return name


@functools.lru_cache(maxsize=1 << 15)
def _local_iso(start_time: float) -> str:
    """A time stamp as local ISO text (a table of thousands of runs asks each one twice)."""
    return datetime.fromtimestamp(start_time).astimezone().isoformat(timespec="seconds")


@dataclass
class RunSummary:
    """One run as a row of the runs table, whatever wrote it (keraslab or a TensorBoard writer)."""

    name: str
    path: Path
    kind: str
    status: str
    dataset: str | None = None
    model: str | None = None
    params: int | None = None
    epochs: int | None = None
    epochs_planned: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    duration: float | None = None
    start_time: float | None = None
    hparams: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricStats] = field(default_factory=dict)
    metric_tags: dict[str, str] = field(default_factory=dict)  # metric name -> its original tag, where they differ
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    warnings: list[str] = field(default_factory=list)
    logdir: Path | None = None
    # lineage: the run it was made from (config.json's run.parent) and the change's one line
    parent: str | None = None
    change: str | None = None
    sweep: str | None = None  # the id of the sweep the run is a point of
    sweep_point: int | None = None  # and its point's index

    @property
    def started(self) -> str | None:
        """Start time as local ISO text (seconds)."""
        return None if self.start_time is None else _local_iso(self.start_time)

    def metric_key(self, name: str) -> str | None:
        """The run's metric that ``name`` means: itself, its Keras-style name (``val_acc``,
        ``Accuracy/val``), or the metric read from the tag ``name``; None when none."""
        if name in self.metrics:
            return name
        mapped = metric_name(name)
        if mapped in self.metrics:
            return mapped
        return next((k for k, tag in self.metric_tags.items() if tag == name), None)

    def metric(self, name: str, which: str = "best") -> float | None:
        """``which`` of first/last/best/min/max of a metric (None when the run has none)."""
        key = self.metric_key(name)
        stats = self.metrics.get(key) if key else None
        if stats is None:
            return None
        if which == "best":
            return stats.best(key)
        return getattr(stats, which, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every column, hparams and first/last/best of each metric."""
        return {
            "name": self.name,
            "path": str(self.path),
            "kind": self.kind,
            "status": self.status,
            "dataset": self.dataset,
            "model": self.model,
            "params": self.params,
            "epochs_done": self.epochs,
            "epochs_planned": self.epochs_planned,
            "best_val_accuracy": self.best_val_accuracy,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "duration": self.duration,
            "started": self.started,
            "hparams": self.hparams,
            "metrics": {
                k: {"first": s.first, "last": s.last, "best": s.best(k), "count": s.count}
                for k, s in self.metrics.items()
            },
            "metric_tags": self.metric_tags,
            "tags": self.tags,
            "notes": self.notes,
            "warnings": self.warnings,
            "parent": self.parent,
            "change": self.change,
            "sweep": self.sweep,
            "sweep_point": self.sweep_point,
        }
