"""A metric's train and validation curves on plotext; the x axis is in epochs."""

from __future__ import annotations

from collections.abc import Sequence

from .plotext_lines import PlotextLines

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


class CurvePlot(PlotextLines):
    """Train (within-epoch and epoch-end) and validation points of one metric.

    `set_data` only stores the points; the figure is drawn when Textual next paints the
    widget, so many updates between frames cost one drawing. The train curve is thinned to
    what the plot can show: braille draws two dots per cell, so more points than twice the
    width only overlap (and each costs plotext time).
    """

    def __init__(self, title: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.train: list[tuple[float, float]] = []
        self.val: list[tuple[float, float]] = []
        self.epochs = 1
        self.points_drawn = 0

    def set_data(self, train: Points, val: Points, epochs: int) -> None:
        self.train = list(train)
        self.val = list(val)
        self.epochs = max(1, epochs)
        self.refresh()

    def prepare(self) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(self.title)
        plt.xlabel("epoch")
        train = thin(self.train, min(MAX_POINTS, 2 * max(1, self.size.width)))
        right = max(1.0, max((x for x, _ in train[-1:] + self.val[-1:]), default=1.0))
        plt.xlim(0, max(right, min(self.epochs, right * 1.25)))
        if train:
            xs, ys = zip(*train, strict=True)
            plt.plot(xs, ys, label="train", marker="braille", color="cyan")
        if self.val:
            xs, ys = zip(*self.val, strict=True)
            plt.plot(xs, ys, label="val", marker="braille", color="orange")
            if len(self.val) < 3:
                plt.scatter(xs, ys, marker="dot", color="orange")
        self.points_drawn = len(train) + len(self.val)
