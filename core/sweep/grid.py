"""A sweep's grid: `train` options whose values are lists or ranges, and the points (RunConfigs) they make.

The grammar of one option's value: values separated by ``,`` (``1e-3,3e-4``), and for whole
number options inclusive ranges ``A..B`` or ``A..B:STEP`` (``0..2``, ``16..64:16``), mixed
freely (``0..2,10``). The layer-stack notation never holds a comma, nor does a preset name,
so ``,`` always separates models: ``cnn,"conv32k3-bn-relu-maxpool2 | gap-out-softmax"``.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from ..config import LOSSES, LR_SCHEDULES, NORMALIZATIONS, OPTIMIZERS, RunConfig
from ..errors import ConfigError

MAX_POINTS = 100_000  # a grid larger than this is sampled (--random), never listed
MAX_RANGE = 10_000  # values one range may make

# RunConfig fields a sweep may vary, and how their values are read
AXES: dict[str, str | tuple[str, ...]] = {
    "dataset": "text", "model": "text",
    "learning_rate": "float", "momentum": "float", "validation_split": "float", "l2": "float",
    "epochs": "int", "batch_size": "int", "seed": "int", "early_stopping": "int", "limit": "int",
    "optimizer": OPTIMIZERS, "lr_schedule": LR_SCHEDULES, "loss": LOSSES,
    "normalization": NORMALIZATIONS,
}  # fmt: skip


def parse_values(key: str, text: str) -> list[Any]:
    """The values one option's text names, in order, duplicates dropped; ConfigError (one
    line naming the option) on a bad value."""
    kind = AXES[key]
    flag = "--" + key.replace("_", "-")
    values: list[Any] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            raise ConfigError(f"{flag}: empty value in {text!r} (values are separated by ',')")
        if kind == "int":
            values += _int_values(flag, part)
        elif kind == "float":
            try:
                value = float(part)
            except ValueError:
                raise ConfigError(f"{flag}: {part!r} is not a number") from None
            if not math.isfinite(value):
                raise ConfigError(f"{flag}: {part!r} is not a finite number")
            values.append(value)
        elif isinstance(kind, tuple) and part not in kind:
            raise ConfigError(f"{flag}: {part!r} is not one of {', '.join(kind)}")
        else:
            values.append(part)
    return list(dict.fromkeys(values))


def _int_values(flag: str, part: str) -> list[int]:
    head, dots, tail = part.partition("..")
    try:
        if not dots:
            return [int(part)]
        stop_text, _, step_text = tail.partition(":")
        start, stop, step = int(head), int(stop_text), int(step_text or 1)
    except ValueError:
        raise ConfigError(f"{flag}: {part!r} is not a whole number or a range A..B[:STEP]") from None
    if step < 1 or stop < start:
        raise ConfigError(f"{flag}: range {part!r} must go up (A <= B) with a positive step")
    if (stop - start) // step + 1 > MAX_RANGE:
        raise ConfigError(f"{flag}: range {part!r} makes more than {MAX_RANGE:,} values")
    return list(range(start, stop + 1, step))


@dataclass(frozen=True)
class Grid:
    """The base config and the axes (field -> values, in the order given) of a sweep; point
    ``i`` is the ``i``-th of the axes' product, the first axis varying slowest."""

    base: dict[str, Any]
    axes: dict[str, list[Any]]

    @property
    def size(self) -> int:
        return math.prod(len(v) for v in self.axes.values())

    @property
    def varying(self) -> list[str]:
        """The fields that take more than one value."""
        return [k for k, v in self.axes.items() if len(v) > 1]

    def values(self, index: int) -> dict[str, Any]:
        """The axes' values at grid position ``index`` (mixed-radix digits, last axis fastest)."""
        out: dict[str, Any] = {}
        for key in reversed(list(self.axes)):
            index, digit = divmod(index, len(self.axes[key]))
            out[key] = self.axes[key][digit]
        return dict(reversed(out.items()))

    def positions(self, sample: int | None = None, seed: int = 0) -> list[int]:
        """Grid positions of the sweep's points: all of them, or ``sample`` drawn without
        replacement with ``seed`` (in grid order)."""
        if sample is None or sample >= self.size:
            if self.size > MAX_POINTS:
                raise ConfigError(f"the grid has {self.size:,} points; sample some with --random N")
            return list(range(self.size))
        return sorted(random.Random(seed).sample(range(self.size), sample))

    def config(self, values: dict[str, Any]) -> RunConfig:
        """The RunConfig of one point's values over the base (validated)."""
        data = {**self.base, **values}
        if "model" in values:
            data["layers"] = None
        return RunConfig.from_dict(data).validate()


def make_grid(base: RunConfig, options: dict[str, str]) -> Grid:
    """A grid from a base config and option texts (field -> text as typed), each parsed by
    :func:`parse_values`; a field with one value is set in the base, not an axis."""
    axes: dict[str, list[Any]] = {}
    data = base.to_dict()
    for key, text in options.items():
        if key not in AXES:
            raise ConfigError(f"--{key.replace('_', '-')} cannot be swept")
        values = parse_values(key, text)
        if len(values) == 1:
            data[key] = values[0]
            if key == "model":
                data["layers"] = None
        else:
            axes[key] = values
    return Grid(data, axes)


def describe(grid: Grid) -> str:
    """One line: ``3 x 2 x 3 = 18 points (learning_rate x model x seed)``."""
    if not grid.varying:
        return "1 point (nothing varies)"
    if len(grid.varying) == 1:
        return f"{grid.size:,} points ({grid.varying[0]})"
    sizes = " x ".join(str(len(grid.axes[k])) for k in grid.varying)
    return f"{sizes} = {grid.size:,} points ({' x '.join(grid.varying)})"

