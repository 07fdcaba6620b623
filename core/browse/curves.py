"""Full scalar curves of a run (every tag) and TensorBoard's debiased exponential smoothing."""

from __future__ import annotations

import bisect
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import KeraslabError, RunStoreError
from ..rundir.kind import run_kind
from ..rundir.layout import KERASLAB, METRICS_FILE, SUMMARY_FILE, SYSTEM_RECORD, TENSORBOARD
from ..rundir.metricstats import RECORD_FIELDS
from ..rundir.reader import read_metric_records
from ..safefile import read_text
from ..system.sampler import PREFIX as SYSTEM_PREFIX
from ..tfevents import RunScalars, read_run_scalars, read_runs_scalars
from .summary import unique_metric_name
from .tagmap import EPOCH_TAG

X_AXES = ("epoch", "step", "time")


@dataclass
class Curve:
    """One metric of one run: parallel lists of step, epoch, wall time and value."""

    name: str
    steps: list[int] = field(default_factory=list)
    epochs: list[float] = field(default_factory=list)
    wall_times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    tag: str = ""
    per_epoch: bool = True  # False: a TensorBoard tag not written per epoch (its "epochs" are steps)

    def __len__(self) -> int:
        return len(self.values)

    def xs(self, axis: str = "epoch") -> list[float]:
        """x values: ``epoch``, ``step``, or ``time`` (seconds since the curve's first point)."""
        if axis == "step":
            return list(self.steps)
        if axis == "time":
            t0 = self.wall_times[0] if self.wall_times else 0.0
            return [t - t0 for t in self.wall_times]
        if axis == "epoch":
            return list(self.epochs)
        raise ValueError(f"unknown x axis {axis!r} (use {', '.join(X_AXES)})")


@dataclass
class RunCurves:
    """Every scalar curve of a run keyed by metric name, plus reading warnings."""

    path: Path
    curves: dict[str, Curve]
    texts: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def load_curves(path: str | os.PathLike) -> RunCurves:
    """Read every scalar of a run directory (keraslab: metrics.jsonl; else its event files)."""
    path = Path(path)
    kind = run_kind(path)
    if kind is None:
        raise _not_a_run(path)
    if kind == KERASLAB:
        return _keraslab_curves(path)
    return _event_curves(path, read_run_scalars(path))


def load_many_curves(paths) -> list[RunCurves | KeraslabError]:
    """:func:`load_curves` of each path, or in its place the error that stopped it.

    The event files of plain TensorBoard runs are read together in one bulk pass
    (:func:`events.read_runs_scalars`) rather than one run after another.
    """
    out: list[RunCurves | KeraslabError | None] = [None] * len(paths)
    events: list[tuple[int, Path]] = []
    for i, p in enumerate(map(Path, paths)):
        kind = run_kind(p)
        if kind == TENSORBOARD:
            events.append((i, p))
        elif kind == KERASLAB:
            out[i] = _keraslab_curves(p)
        else:
            out[i] = _not_a_run(p)
    try:
        read = read_runs_scalars([p for _, p in events]) if events else []
    except KeraslabError:  # one of them is unreadable: read them one by one
        read = [None] * len(events)
    for (i, p), scalars in zip(events, read, strict=True):
        try:
            out[i] = _event_curves(p, read_run_scalars(p) if scalars is None else scalars)
        except KeraslabError as exc:
            out[i] = exc
    return out


def _not_a_run(path: Path) -> RunStoreError:
    return RunStoreError(f"{path}: not a run directory")


def _event_curves(path: Path, scalars: RunScalars) -> RunCurves:
    curves: dict[str, Curve] = {}
    for tag, s in scalars.scalars.items():
        name = unique_metric_name(tag, curves)
        epoch_tag = tag.rpartition("/")[2].startswith("epoch_")
        curves[name] = Curve(
            name,
            list(s.steps),
            [st + 1 for st in s.steps] if epoch_tag else list(s.steps),
            list(s.wall_times),
            list(s.values),
            tag,
            per_epoch=epoch_tag,
        )
    epoch = curves.get(EPOCH_TAG)
    if epoch is not None and not epoch.per_epoch:
        for curve in curves.values():
            if curve is not epoch and not curve.per_epoch:
                _epochs_from(curve, epoch)
    return RunCurves(path, curves, scalars.texts, list(scalars.warnings))


def _epochs_from(curve: Curve, epoch: Curve) -> None:
    """Count ``curve`` in epochs by a step-indexed ``epoch`` metric (Lightning's, 0-based):
    a point at a step is in the epoch last logged at or before it, and ends it (+1)."""
    at = sorted(zip(epoch.steps, epoch.values, strict=True))
    steps = [s for s, _ in at]
    out = []
    for step in curve.steps:
        i = bisect.bisect_right(steps, step) - 1
        if i < 0 or not math.isfinite(at[i][1]):
            return
        out.append(at[i][1] + 1)
    curve.epochs, curve.per_epoch = out, True


def _keraslab_curves(path: Path) -> RunCurves:
    curves: dict[str, Curve] = {}
    warnings: list[str] = []
    for rec in read_metric_records(path / METRICS_FILE, warnings):
        kind = rec.get("type")
        epoch, wall = rec.get("epoch", 0), rec.get("time", 0.0)
        if not (_is_number(epoch) and _is_number(wall)):
            continue  # (a damaged record: no x to draw it at)
        if kind == "epoch":
            step, prefix = epoch - 1, ""
        elif kind == "batch":
            step, prefix = rec.get("step", 0), "batch/"
            if not _is_number(step):
                continue
        elif kind == SYSTEM_RECORD:  # time-indexed: step = seconds into training, keys "system/..."
            step, prefix = rec.get("step", 0), ""
            if not _is_number(step):
                continue
            epoch = step
        else:
            continue
        for key, value in rec.items():
            if key in RECORD_FIELDS or not _is_number(value):
                continue
            if (kind == SYSTEM_RECORD) != key.startswith(SYSTEM_PREFIX):
                continue  # (system values only from system samples, and only those)
            name = prefix + key
            c = curves.get(name)
            if c is None:
                c = curves[name] = Curve(name, tag=name, per_epoch=kind != SYSTEM_RECORD)
            c.steps.append(step)
            c.epochs.append(epoch)
            c.wall_times.append(wall)
            c.values.append(float(value))

    try:
        summary = read_text(path / SUMMARY_FILE)
    except OSError:
        summary = ""
    texts = {"summary": [(0, summary)]} if summary else {}
    return RunCurves(path, curves, texts, warnings)


def _is_number(value) -> bool:
    """A JSON number that has a float (NaN included; not a bool, not a 1000-digit int)."""
    return type(value) is float or (type(value) is int and -(2**1000) < value < 2**1000)


def axis_label(curves, axis: str) -> str:
    """The x-axis title for ``curves`` drawn against ``Curve.xs(axis)``: "seconds" for
    time, and for epoch "step" when none of them is counted in epochs ("epoch / step"
    when only some are)."""
    if axis == "time":
        return "seconds"
    if axis == "epoch":
        kinds = {c.per_epoch for c in curves}
        if kinds == {False}:
            return "step"
        if kinds == {True, False}:
            return "epoch / step"
    return axis


def smooth(values: list[float], weight: float) -> list[float]:
    """TensorBoard's exponential moving average with debiasing (its scalar chart's "Smoothing").

    ``weight`` in [0, 1); 0 returns the values unchanged. Non-finite values pass through
    unsmoothed, and a constant series is returned as is, exactly as TensorBoard does.
    """
    if not 0 <= weight <= 1:
        raise ValueError("smoothing weight must be between 0 and 1")
    values = list(values)
    if not values or weight == 0:
        return values
    if all(v == values[0] for v in values):
        return values
    last = 0.0
    num_accum = 0
    out = []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        num_accum += 1
        debias = 1.0 - weight**num_accum if weight != 1 else 1.0
        out.append(last / debias)
    return out


def downsample(xs: list[float], ys: list[float], limit: int = 2000) -> tuple[list, list]:
    """At most ``limit`` points, for cheap plotting: the first and the last, and of each of
    ``(limit - 2) // 2`` equal runs of the points between them the lowest and the highest
    (in their order), so that a spike or a dip stays on the chart whatever the thinning."""
    n = len(xs)
    if n <= limit:
        return xs, ys
    runs = max(1, (limit - 2) // 2)
    inner = n - 2
    keep = [0]
    at = ys.__getitem__
    for r in range(runs):
        lo, hi = 1 + r * inner // runs, 1 + (r + 1) * inner // runs
        if lo < hi:
            low, high = min(range(lo, hi), key=at), max(range(lo, hi), key=at)
            keep.extend((low, high) if low < high else (high, low) if high < low else (low,))
    keep.append(n - 1)
    return [xs[i] for i in keep], [ys[i] for i in keep]
