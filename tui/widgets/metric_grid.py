"""The metrics workspace's grid: small multiples, one CurvePlot per metric, with a cursor line at one x."""

from __future__ import annotations

from textual import events
from textual.containers import Grid
from textual.message import Message

from .curves import CurvePlot

CURSOR_COLOUR = 245  # grey


class MetricChart(CurvePlot):
    """A CurvePlot that draws a vertical cursor at ``cursor_x`` and tells the grid when clicked."""

    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 6; border: round $panel; }
    MetricChart.-selected { border: round $accent; }
    """

    class Clicked(Message):
        def __init__(self, chart: MetricChart):
            super().__init__()
            self.chart = chart

    def __init__(self, index: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.index = index
        self.metric = ""
        self.cursor_x: float | None = None

    def prepare(self) -> None:
        super().prepare()
        if self.cursor_x is not None and self.series:
            self.plt.vline(self.cursor_x, color=CURSOR_COLOUR)

    def on_click(self, event: events.Click) -> None:
        self.post_message(self.Clicked(self))


class MetricGrid(Grid):
    """``columns`` x ``rows`` charts; :meth:`layout_charts` makes that many (re-using those there)."""

    DEFAULT_CSS = "MetricGrid { grid-gutter: 0 1; height: 1fr; }"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.charts: list[MetricChart] = []

    def layout_charts(self, columns: int, rows: int) -> list[MetricChart]:
        self.styles.grid_size_columns = columns
        self.styles.grid_size_rows = rows
        want = columns * rows
        while len(self.charts) > want:
            self.charts.pop().remove()
        while len(self.charts) < want:
            chart = MetricChart(len(self.charts))
            self.charts.append(chart)
            self.mount(chart)
        return self.charts
