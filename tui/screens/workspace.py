"""The metrics workspace: every metric of the marked runs as small multiples, paged, with a cursor, a pinned run and a run overview."""

from __future__ import annotations

import bisect
import math

from keraslab.core import KeraslabError, RunCurves, RunSummary, axis_label, load_many_curves, smooth
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from .. import fmt
from ..fmt import hp_text, visible
from ..widgets.footer import KeyFooter
from ..widgets.metric_grid import MetricChart, MetricGrid
from ..widgets.run_colours import rich_colour, run_colour
from .compare import SMOOTHING_STEPS, X_AXES

GRIDS = ((1, 1), (2, 1), (2, 2), (3, 2), (3, 3), (4, 3))  # (columns, rows), fewer to more charts a page
CURSOR_STEPS = 40  # a cursor key moves it 1/40 of each chart's x range


def metric_order(name: str) -> tuple:
    """Charts in reading order: loss, accuracy, other metrics by name, each with its val_ next; batch/ last."""
    batch = name.startswith("batch/")
    base = name.removeprefix("batch/").removeprefix("val_")
    return (batch, base != "loss", base != "accuracy", base, name.startswith("val_"), name)


def value_at(xs: list[float], ys: list[float], x: float) -> float | None:
    """The value of the last point at or before ``x`` (None before the first): what the run had then."""
    i = bisect.bisect_right(xs, x) - 1
    return ys[i] if i >= 0 else None


class WorkspaceCurvesLoaded(Message):
    def __init__(self, curves: dict[str, RunCurves]):
        super().__init__()
        self.curves = curves


class WorkspaceScreen(Screen):
    """Marked runs, every metric at once."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("pagedown,right_square_bracket", "page(1)", "Page+", key_display="PgDn"),
        Binding("pageup,left_square_bracket", "page(-1)", "Page-", key_display="PgUp", show=False),
        Binding("plus,equals_sign", "grid(1)", "Grid+"),
        Binding("minus", "grid(-1)", "Grid-"),
        Binding("o", "toggle_overview", "Overview"),
        Binding("p", "pin", "Pin"),
        Binding("r", "next_run(1)", "Run"),
        Binding("R", "next_run(-1)", "Prev run", show=False),
        Binding("s", "smoothing(1)", "Smooth+"),
        Binding("S", "smoothing(-1)", "Smooth-", show=False),
        Binding("x", "next_x", "X axis"),
        Binding("l", "toggle_logy", "Log y"),
        Binding("left", "cursor(-1)", "Cursor", key_display="←→"),
        Binding("right", "cursor(1)", "Cursor", show=False),
        Binding("c", "clear_cursor", "No cursor", show=False),
        Binding("down", "select_chart(1)", "Chart", key_display="↑↓"),
        Binding("up", "select_chart(-1)", "Chart", show=False),
    ]

    DEFAULT_CSS = """
    WorkspaceScreen #ws-main { height: 1fr; }
    WorkspaceScreen #ws-charts { width: 1fr; }
    WorkspaceScreen #ws-overview { width: 40; border-left: solid $panel; padding: 0 1; }
    WorkspaceScreen #ws-overview.-hidden { display: none; }
    WorkspaceScreen #ws-status, WorkspaceScreen #ws-legend, WorkspaceScreen #ws-readout { height: auto; }
    """

    def __init__(self, runs: list[RunSummary], *, smoothing: float = 0.0, grid: int = 2):
        super().__init__()
        self.runs = list(runs)
        for r in self.runs:
            run_colour(str(r.path))  # (colours in the order the runs are listed)
        self.curves: dict[str, RunCurves] = {}
        self.metrics: list[str] = sorted({m for r in self.runs for m in r.metrics}, key=metric_order)
        self.page = 0
        self.grid = grid
        self.smoothing = smoothing
        self.x_axis = "epoch"
        self.logy = False
        self.cursor: int | None = None  # in CURSOR_STEPS of each chart's x range
        self.selected = 0  # chart on the page the readout reads
        self.current = 0  # the run the overview shows (and 'p' pins)
        self.pinned: str | None = None  # a run's path: drawn last (on top), starred

    def compose(self) -> ComposeResult:
        yield Static("", id="ws-status")
        yield Static("", id="ws-legend")
        with Horizontal(id="ws-main"):
            with Vertical(id="ws-charts"):
                yield MetricGrid(id="ws-grid")
                yield Static("", id="ws-readout")
            yield VerticalScroll(Static("", id="ws-overview-text"), id="ws-overview")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()
        self.redraw()

    @work(thread=True, exclusive=True, group="workspace-load")
    def _load(self) -> None:
        loaded = load_many_curves([r.path for r in self.runs])
        curves = {str(r.path): c for r, c in zip(self.runs, loaded, strict=True) if not isinstance(c, KeraslabError)}
        self.post_message(WorkspaceCurvesLoaded(curves))

    def on_workspace_curves_loaded(self, message: WorkspaceCurvesLoaded) -> None:
        self.curves = message.curves
        names = {m for rc in self.curves.values() for m in rc.curves} | set(self.metrics)
        self.metrics = sorted(names, key=metric_order)
        self.redraw()

    # -- what is drawn
    @property
    def per_page(self) -> int:
        columns, rows = GRIDS[self.grid]
        return columns * rows

    @property
    def pages(self) -> int:
        return max(1, math.ceil(len(self.metrics) / self.per_page))

    def page_metrics(self) -> list[str]:
        return self.metrics[self.page * self.per_page : (self.page + 1) * self.per_page]

    def drawing_order(self) -> list[RunSummary]:
        """The runs, the pinned one last: drawn over the others."""
        return sorted(self.runs, key=lambda r: str(r.path) == self.pinned)

    def series(self, metric: str) -> tuple[list, list]:
        """``[(label, xs, ys, colour)]`` of one metric for every run that has it, and its curves."""
        out, curves = [], []
        for r in self.drawing_order():
            rc = self.curves.get(str(r.path))
            c = rc.curves.get(metric) if rc else None
            if c is None or not len(c):
                continue
            label = ("* " if str(r.path) == self.pinned else "") + r.name
            out.append((label, c.xs(self.x_axis), smooth(c.values, self.smoothing), run_colour(str(r.path))))
            curves.append(c)
        return out, curves

    def cursor_x(self, series) -> float | None:
        xs = [x for _, sx, _, _ in series for x in sx]
        if self.cursor is None or not xs:
            return None
        lo, hi = min(xs), max(xs)
        return lo + (hi - lo) * self.cursor / CURSOR_STEPS

    def redraw(self) -> None:
        self.page = min(self.page, self.pages - 1)
        charts = self.query_one(MetricGrid).layout_charts(*GRIDS[self.grid])
        metrics = self.page_metrics()
        self.selected = min(self.selected, max(0, len(metrics) - 1))
        for i, chart in enumerate(charts):
            metric = metrics[i] if i < len(metrics) else ""
            series, curves = self.series(metric) if metric else ([], [])
            chart.metric = metric
            chart.cursor_x = self.cursor_x(series)
            chart.set_class(i == self.selected and bool(metric), "-selected")
            chart.show(metric or " ", series, xlabel=axis_label(curves, self.x_axis) if curves else self.x_axis,
                       logy=self.logy)  # fmt: skip
        self._update_text()

    def _update_text(self) -> None:
        columns, rows = GRIDS[self.grid]
        pinned = next((r.name for r in self.runs if str(r.path) == self.pinned), None)
        status = (
            f"Workspace: {len(self.runs)} run(s), {len(self.metrics)} metric(s)   page {self.page + 1}/{self.pages}   "
            f"grid {columns}x{rows}   smoothing {self.smoothing:g}   x {self.x_axis}   {'log' if self.logy else 'linear'} y"
            + (f"   pinned {visible(pinned)}" if pinned else "")
        )
        self.query_one("#ws-status", Static).update(Text(status))
        legend = Text()
        for i, r in enumerate(self.runs):
            name = ("* " if str(r.path) == self.pinned else "") + visible(r.name)
            legend.append("■ ", style=rich_colour(str(r.path)))
            legend.append(name, style="bold underline" if i == self.current else "")
            legend.append("   ")
        self.query_one("#ws-legend", Static).update(legend)
        self.query_one("#ws-readout", Static).update(self._readout())
        self.query_one("#ws-overview-text", Static).update(self._overview())

    def _readout(self) -> Text:
        """Every run's value of the selected chart's metric at the cursor."""
        metrics = self.page_metrics()
        if self.cursor is None or not metrics:
            return Text("←/→ puts a cursor on the charts: every run's value at one x", style="dim")
        metric = metrics[self.selected]
        series, _ = self.series(metric)
        x = self.cursor_x(series)
        text = Text(f"{visible(metric)} at {self.x_axis} {x:.4g}:" if x is not None else f"{visible(metric)}: no data")
        for label, xs, ys, colour in series:
            value = value_at(xs, ys, x)
            text.append("   ")
            text.append(f"{visible(label)} ", style=f"color({colour})")
            text.append(fmt.metric(value) if value is not None else "-")
        return text

    def _overview(self) -> Text:
        if not self.runs:
            return Text("no runs")
        r = self.runs[self.current]
        text = Text()
        text.append("■ ", style=rich_colour(str(r.path)))
        text.append(visible(r.name) + "\n", style="bold")
        rows = [("kind", r.kind), ("status", r.status), ("dataset", r.dataset), ("model", r.model),
                ("params", fmt.count(r.params) if r.params else None), ("epochs", r.epochs),
                ("best val acc", fmt.metric(r.best_val_accuracy) if r.best_val_accuracy is not None else None),
                ("test acc", fmt.metric(r.test_accuracy) if r.test_accuracy is not None else None),
                ("duration", fmt.duration(r.duration) if r.duration is not None else None)]  # fmt: skip
        for key, value in rows:
            if value is not None:
                text.append(f"{key:<13}{visible(value)}\n")
        if r.hparams:
            text.append("\nHyperparameters\n", style="bold")
            for key, value in sorted(r.hparams.items()):
                text.append(f"{visible(key)}  {hp_text(value)}\n")
        if r.metrics:
            text.append("\nSummary (last / best)\n", style="bold")
            for name in sorted(r.metrics, key=metric_order):
                s = r.metrics[name]
                text.append(f"{visible(name)}  {fmt.metric(s.last)} / {fmt.metric(s.best(name))}\n")
        return text

    # -- keys and mouse
    def action_page(self, delta: int) -> None:
        self.page = (self.page + delta) % self.pages
        self.redraw()

    def action_grid(self, delta: int) -> None:
        first = self.page * self.per_page  # (the first chart shown stays on the page)
        self.grid = min(len(GRIDS) - 1, max(0, self.grid + delta))
        self.page = first // self.per_page
        self.redraw()

    def action_toggle_overview(self) -> None:
        self.query_one("#ws-overview").toggle_class("-hidden")

    def action_pin(self) -> None:
        if self.runs:
            path = str(self.runs[self.current].path)
            self.pinned = None if self.pinned == path else path
            self.redraw()

    def action_next_run(self, delta: int) -> None:
        if self.runs:
            self.current = (self.current + delta) % len(self.runs)
            self._update_text()

    def action_smoothing(self, delta: int) -> None:
        steps = [s for s in SMOOTHING_STEPS if (s > self.smoothing if delta > 0 else s < self.smoothing)]
        if steps:
            self.smoothing = steps[0] if delta > 0 else steps[-1]
        self.redraw()

    def action_next_x(self) -> None:
        self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        self.redraw()

    def action_toggle_logy(self) -> None:
        self.logy = not self.logy
        self.redraw()

    def action_cursor(self, delta: int) -> None:
        start = CURSOR_STEPS if delta < 0 else 0
        self.cursor = start if self.cursor is None else min(CURSOR_STEPS, max(0, self.cursor + delta))
        self.redraw()

    def action_clear_cursor(self) -> None:
        self.cursor = None
        self.redraw()

    def action_select_chart(self, delta: int) -> None:
        shown = len(self.page_metrics())
        if shown:
            self.selected = (self.selected + delta) % shown
            self.redraw()

    @on(MetricChart.Clicked)
    def _chart_clicked(self, message: MetricChart.Clicked) -> None:
        if message.chart.metric:
            self.selected = message.chart.index
            self.redraw()

    def action_back(self) -> None:
        self.app.pop_screen()
