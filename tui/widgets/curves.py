"""A metric's train and validation curves on plotext; the x axis is in epochs."""

from __future__ import annotations

from collections.abc import Sequence

from keraslab.core import downsample

from .plotext_lines import PlotextLines

Points = Sequence[tuple[float, float]]
MAX_POINTS = 300


class CurvePlot(PlotextLines):
    """Train (within-epoch and epoch-end) and validation points of one metric.

    `set_data` only stores the points; the figure is drawn when Textual next paints the
    widget, so many updates between frames cost one drawing. The train curve is thinned to
    what the plot can show (each point costs plotext time): braille draws two dots per cell,
    so at most twice the width, keeping each stretch's lowest and highest point.
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
        xs = [x for x, _ in self.train]
        ys = [y for _, y in self.train]
        xs, ys = downsample(xs, ys, min(MAX_POINTS, max(4, 2 * self.size.width)))
        right = max(1.0, max(xs[-1:] + [x for x, _ in self.val[-1:]], default=1.0))
        plt.xlim(0, max(right, min(self.epochs, right * 1.25)))
        if xs:
            plt.plot(xs, ys, label="train", marker="braille", color="cyan")
        if self.val:
            vx, vy = zip(*self.val, strict=True)
            plt.plot(vx, vy, label="val", marker="braille", color="orange")
            if len(self.val) < 3:
                plt.scatter(vx, vy, marker="dot", color="orange")
        self.points_drawn = len(xs) + len(self.val)
