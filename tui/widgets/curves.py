"""A metric's train and validation curves on textual-plotext; the x axis is in epochs."""

from __future__ import annotations

import time
from collections.abc import Sequence

from textual.geometry import Region
from textual.strip import Strip
from textual_plotext import PlotextPlot

Points = Sequence[tuple[float, float]]
MAX_POINTS = 300


def thin(points: Points, limit: int = MAX_POINTS) -> list[tuple[float, float]]:
    """At most ``limit`` points, evenly spaced, always keeping the last one."""
    n = len(points)
    if n <= limit:
        return list(points)
    step = n / limit
    out = [points[int(i * step)] for i in range(limit - 1)]
    out.append(points[-1])
    return out


class CurvePlot(PlotextPlot):
    """Train (within-epoch and epoch-end) and validation points of one metric.

    `set_data` only stores the points; the plot is drawn in `render`, which Textual calls
    at most once per refresh, so many updates between frames cost one drawing.
    `draw_seconds` is what the last drawing cost (plotext, then its text turned into
    screen lines), so a caller can keep redraws within a CPU budget.
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.train: list[tuple[float, float]] = []
        self.val: list[tuple[float, float]] = []
        self.epochs = 1
        self.points_drawn = 0
        self.draw_seconds = 0.0
        self._drawn = False

    def set_data(self, train: Points, val: Points, epochs: int) -> None:
        self.train = thin(train)
        self.val = list(val)
        self.epochs = max(1, epochs)
        self.refresh()

    def render(self):
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("epoch")
        right = max(1.0, max((x for x, _ in self.train[-1:] + self.val[-1:]), default=1.0))
        plt.xlim(0, max(right, min(self.epochs, right * 1.25)))
        if self.train:
            xs, ys = zip(*self.train, strict=True)
            plt.plot(xs, ys, label="train", marker="braille", color="cyan")
        if self.val:
            xs, ys = zip(*self.val, strict=True)
            plt.plot(xs, ys, label="val", marker="braille", color="orange")
            if len(self.val) < 3:
                plt.scatter(xs, ys, marker="dot", color="orange")
        self.points_drawn = len(self.train) + len(self.val)
        self._drawn = True
        return super().render()

    def render_lines(self, crop: Region) -> list[Strip]:
        self._drawn = False
        start = time.perf_counter()
        lines = super().render_lines(crop)
        if self._drawn:  # not a cached repaint: the plot was drawn anew
            self.draw_seconds = time.perf_counter() - start
        return lines
