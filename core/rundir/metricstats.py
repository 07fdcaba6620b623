"""Per-metric first/last/best of a run, and how metrics.jsonl epoch records fold into them.

One place for both sides of a keraslab run: the run store's writer keeps these stats as it
appends epoch records (status.json carries them) and discovery computes them from the lines
it reads; both go through :func:`add_epoch_records`, so the two always agree.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from itertools import chain
from typing import Any

# fields of a metrics.jsonl record that are not metrics
RECORD_FIELDS = frozenset({"type", "epoch", "time", "partial", "step"})
_LOWER_BETTER = ("loss", "error", "mse", "mae", "perplexity", "time")


def lower_is_better(metric: str) -> bool:
    """Whether the best value of a metric is its minimum (losses, errors) rather than its maximum."""
    low = metric.lower()
    return any(word in low for word in _LOWER_BETTER)


@dataclass
class MetricStats:
    """First, last and best value of one metric, with the steps and wall times they span."""

    first: float | None = None
    last: float | None = None
    min: float | None = None
    max: float | None = None
    count: int = 0
    first_step: int | None = None
    last_step: int | None = None
    first_time: float | None = None
    last_time: float | None = None

    def add(self, step: int, wall: float | None, value: float) -> None:
        if value is None or not isinstance(value, (int, float)) or math.isnan(value):
            return
        value = float(value)
        if self.count == 0:
            self.first, self.first_step, self.first_time = value, step, wall
            self.min = self.max = value
        else:
            self.min = min(self.min, value)
            self.max = max(self.max, value)
        self.last, self.last_step, self.count = value, step, self.count + 1
        if wall is not None:
            self.last_time = wall
            if self.first_time is None:
                self.first_time = wall

    def copy(self) -> MetricStats:
        """A copy, made without dataclasses.replace's __init__ call (summaries copy every run's stats)."""
        new = MetricStats.__new__(MetricStats)
        new.__dict__.update(self.__dict__)
        return new

    def add_many(self, steps: list, walls: list, values: list) -> None:
        """Add parallel lists of points (NaN values are skipped)."""
        keep = [i for i, v in enumerate(values) if v == v]
        if len(keep) != len(values):
            steps = [steps[i] for i in keep]
            walls = [walls[i] for i in keep]
            values = [values[i] for i in keep]
        if values:
            self._add_numbers(steps, walls, values)

    def add_columns(self, steps, walls, values) -> None:
        """add_many() of numpy columns (a big event file's), reduced with numpy first: the
        first and last points and the extremes go through _add_numbers, the count after."""
        keep = values == values  # (NaN is not equal to itself)
        if not keep.all():
            steps, walls, values = steps[keep], walls[keep], values[keep]
        n = len(values)
        if n:
            ends = [0, n - 1]
            extremes = [values[0], values.min(), values.max(), values[-1]]
            self._add_numbers(steps[ends].tolist(), walls[ends].tolist(), [float(x) for x in extremes])
            self.count += n - len(extremes)

    def _add_numbers(self, steps: list, walls: list, values: list) -> None:
        """add_many() of at least one point, every value a number and none NaN."""
        if self.count == 0:
            self.first, self.first_step = float(values[0]), steps[0]
            self.min, self.max = float(min(values)), float(max(values))
        else:
            self.min = min(self.min, float(min(values)))
            self.max = max(self.max, float(max(values)))
        self.last, self.last_step = float(values[-1]), steps[-1]
        self.count += len(values)
        times = [w for w in walls if w is not None] if None in walls else walls
        if times:  # (as add(): a point without a wall time leaves the times alone)
            if self.first_time is None:
                self.first_time = times[0]
            self.last_time = times[-1]

    def best(self, name: str) -> float | None:
        return self.min if lower_is_better(name) else self.max

    @classmethod
    def from_dict(cls, data: Any) -> MetricStats:
        """Stats from ``vars()`` of one, checked (ValueError when it is not that)."""
        if type(data) is not dict or not data.keys() <= _FIELDS:
            raise ValueError("not metric stats")
        for key, value in data.items():
            if value is not None and type(value) not in (int, float):
                raise ValueError(f"metric stats field {key!r} is not a number")
        if type(data.get("count", 0)) is not int:
            raise ValueError("metric stats count is not an integer")
        new = cls.__new__(cls)  # (as copy(): every run's stats come through here on a cached start)
        new.__dict__.update(_DEFAULTS)
        new.__dict__.update(data)
        return new


_FIELDS = frozenset(MetricStats.__dataclass_fields__)
_DEFAULTS = vars(MetricStats())


def stats_json(stats: dict[str, MetricStats]) -> dict[str, dict[str, Any]]:
    """Per-metric stats as JSON-ready dicts (the summary cache's and status.json's form)."""
    return {k: vars(v).copy() for k, v in stats.items()}


def _int_ok(v: int) -> bool:
    return -_BIG < v < _BIG


_BIG = 2**1000  # (a bigger int has no float: float() raises OverflowError)


def _number_or(value: Any, default: Any) -> Any:
    """``value`` when it is a finite number (not a bool), else ``default``."""
    if type(value) is int and _int_ok(value):
        return value
    if type(value) is float and math.isfinite(value):
        return value
    return default


def add_epoch_records(stats: dict[str, MetricStats], records: list[dict], epochs_before: int = 0) -> int:
    """Fold the ``"epoch"`` records among metrics.jsonl ``records`` into ``stats`` (metric ->
    MetricStats; new metrics are added), numbering records without an ``epoch`` field on
    from ``epochs_before``; return how many epoch records there were.

    A metric is a field that holds a number (int or float as JSON decodes them; not a bool);
    NaN values, and integers too big for a float, are skipped; an ``epoch`` or ``time``
    that is not a number is taken as absent. Folded column by column rather than record by
    record: a first scan folds the records of hundreds of runs.
    """
    epochs = [r for r in records if r.get("type") == "epoch"]
    if not epochs:
        return 0
    steps = [_number_or(r.get("epoch"), n) for n, r in enumerate(epochs, epochs_before + 1)]
    walls = [_number_or(r.get("time"), None) for r in epochs]
    for key in dict.fromkeys(chain.from_iterable(epochs)):  # (first-seen order)
        if key in RECORD_FIELDS:
            continue
        values = [r.get(key) for r in epochs]
        # (one pass for both tests: NaN is the one float unequal to itself)
        keep = [i for i, v in enumerate(values) if (type(v) is float and v == v) or (type(v) is int and _int_ok(v))]
        if not keep:
            if key not in stats and any(type(v) is float for v in values):  # NaN only: known, empty
                stats[key] = MetricStats()
            continue
        if len(keep) == len(values):
            some_steps, some_walls = steps, walls
        else:
            some_steps = [steps[i] for i in keep]
            some_walls = [walls[i] for i in keep]
            values = [values[i] for i in keep]
        column = stats.get(key)
        if column is None:
            column = stats[key] = MetricStats()
        column._add_numbers(some_steps, some_walls, values)
    return len(epochs)


class MetricsTally:
    """What a writer has appended to metrics.jsonl: its bytes, its epoch records and their
    stats, as a reader of the file would compute them. The run store's writer keeps one
    and puts it in status.json, so discovery can take a finished run's stats from there
    instead of reading its metrics.jsonl (a first scan of hundreds of runs reads far less).
    """

    def __init__(self) -> None:
        self.bytes = 0
        self.epochs = 0
        self.stats: dict[str, MetricStats] = {}

    def add(self, line: str, epoch: bool) -> None:
        """Count one appended line (``epoch``: an epoch record; it is decoded, as a reader would)."""
        self.bytes += len(line.encode())
        if epoch:
            self.epochs += add_epoch_records(self.stats, [json.loads(line)], self.epochs)

    def to_json(self) -> dict[str, Any]:
        return {
            "bytes": self.bytes,
            "epochs": self.epochs,
            "stats": stats_json(self.stats),
        }

    @classmethod
    def from_json(cls, data: Any) -> MetricsTally:
        """A tally from :meth:`to_json`'s dict, checked (ValueError when it is not one)."""
        if not isinstance(data, dict) or not isinstance(data.get("stats"), dict):
            raise ValueError("not a metrics tally")
        self = cls()
        self.bytes, self.epochs = data.get("bytes"), data.get("epochs")
        if type(self.bytes) is not int or type(self.epochs) is not int or min(self.bytes, self.epochs) < 0:
            raise ValueError("metrics tally counts are not counts")
        self.stats = {str(k): MetricStats.from_dict(v) for k, v in data["stats"].items()}
        return self
