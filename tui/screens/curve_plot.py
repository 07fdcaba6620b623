"""A plotext chart widget that draws prepared (label, xs, ys) series: cheap to refresh."""

from __future__ import annotations

import math

from keraslab.core import downsample

from ..widgets.plotext_lines import PlotextLines


class CurvePlot(PlotextLines):
    """Line chart of named series; ``show()`` replaces the data and repaints."""

    DEFAULT_CSS = """
    CurvePlot { height: 1fr; min-height: 8; }
    """

    def show(
        self,
        title: str,
        series,
        *,
        xlabel: str = "epoch",
        logy: bool = False,
        max_points: int = 1000,
    ) -> int:
        """Draw ``[(label, xs, ys), ...]``; returns the number of series drawn."""
        plt = self.plt
        plt.clear_figure()
        drawn = 0
        for label, xs, ys in series:
            pts = [(x, y) for x, y in zip(xs, ys, strict=False)
                   if y is not None and math.isfinite(y) and (y > 0 or not logy)]  # fmt: skip
            if not pts:
                continue
            px, py = downsample([p[0] for p in pts], [p[1] for p in pts], max_points)
            plt.plot(px, py, label=label, marker="braille")
            drawn += 1
        if logy and drawn:
            plt.yscale("log")
        plt.title(title if drawn else f"{title}: no data")
        plt.xlabel(xlabel)
        self.refresh()
        return drawn
