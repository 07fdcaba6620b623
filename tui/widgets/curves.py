"""CurvePlot: named curves on plotext (the training view, a run's detail, compare)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from keraslab.core import downsample

from ..fmt import visible
from .plotext_lines import PlotextLines

Points = Sequence[tuple[float, float]]
MAX_POINTS = 1000  # per curve, whatever the width


class CurvePlot(PlotextLines):
    """A line chart of named series.

    ``show`` (a whole chart) and ``set_data`` (a run's train and validation curves) only store
    what to draw; the figure is drawn when Textual next paints the widget, so many updates
    between frames cost one drawing. Each curve is thinned to what the plot can show (each
    point costs plotext time): braille draws two dots per cell, so at most twice the width,
    keeping each stretch's lowest and highest point. Labels and titles come from files and
    are shown through ``fmt.visible``.
    """

    DEFAULT_CSS = """
    CurvePlot { height: 1fr; min-height: 8; }
    """

    def __init__(self, title: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.xlabel = "epoch"
        self.logy = False
        self.xlim: tuple[float, float] | None = None
        self.series: list[tuple[str, list[float], list[float], str | None]] = []
        self.points_drawn = 0

    def show(self, title: str, series, *, xlabel: str = "epoch", logy: bool = False,
             xlim: tuple[float, float] | None = None) -> int:  # fmt: skip
        """Draw ``[(label, xs, ys), ...]`` or ``(label, xs, ys, colour)``; None, non-finite (and
        on a log axis, non-positive) values are left out. Returns the number of curves drawn."""
        kept = []
        for label, xs, ys, *colour in series:
            pts = [(x, y) for x, y in zip(xs, ys, strict=False)
                   if y is not None and math.isfinite(y) and (y > 0 or not logy)]  # fmt: skip
            if pts:
                kept.append((visible(label), [p[0] for p in pts], [p[1] for p in pts], colour[0] if colour else None))
        self.title, self.xlabel, self.logy, self.xlim, self.series = visible(title), visible(xlabel), logy, xlim, kept
        self.refresh()
        return len(kept)

    def set_data(self, train: Points, val: Points, epochs: int) -> None:
        """A run's train points (within epochs and at their ends) and validation points; the x
        axis reaches the planned ``epochs`` once the curves are near it."""
        right = max(1.0, max([x for x, _ in train[-1:]] + [x for x, _ in val[-1:]], default=1.0))
        xlim = (0, max(right, min(max(1, epochs), right * 1.25)))
        series = [("train", [x for x, _ in train], [y for _, y in train], "cyan"),
                  ("val", [x for x, _ in val], [y for _, y in val], "orange")]  # fmt: skip
        self.show(self.title, series, xlim=xlim)

    def prepare(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        limit = min(MAX_POINTS, max(4, 2 * self.size.width))
        drawn = 0
        for label, xs, ys, colour in self.series:
            if len(xs) > limit:
                xs, ys = downsample(xs, ys, limit)
            plt.plot(xs, ys, label=label, marker="braille", color=colour)
            if len(xs) < 3:  # (a line of one or two points is hard to see)
                plt.scatter(xs, ys, marker="dot", color=colour)
            drawn += len(xs)
        self.points_drawn = drawn
        if self.logy and self.series:
            plt.yscale("log")
        if self.xlim is not None:
            plt.xlim(*self.xlim)
        plt.title(self.title if self.series or self.xlim is not None else f"{self.title}: no data")
        plt.xlabel(self.xlabel)
