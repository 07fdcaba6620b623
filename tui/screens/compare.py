"""The compare screen: one metric of several runs overlaid (smoothing, x axis, log y) and their hparam diff."""

from __future__ import annotations

from keraslab.core import (
    KeraslabError,
    RunCurves,
    RunSummary,
    axis_label,
    config_diff,
    config_of,
    find_parent,
    hparam_diff,
    load_many_curves,
    smooth,
)
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Select, Static

from ..fmt import hp_text, visible
from ..widgets.curves import CurvePlot
from ..widgets.footer import KeyFooter
from ..widgets.line_table import LineTable
from ..widgets.run_colours import run_colour
from ..widgets.tweak_diff import diff_text

X_AXES = ("epoch", "step", "time")
SMOOTHING_STEPS = (0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99)


class CompareCurvesLoaded(Message):
    def __init__(self, curves: dict[str, RunCurves]):
        super().__init__()
        self.curves = curves


class CompareScreen(Screen):
    """Marked runs side by side."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "next_metric", "Metric"),
        Binding("plus,equals_sign", "smoother", "Smooth+"),
        Binding("minus", "rougher", "Smooth-"),
        Binding("x", "next_x", "X axis"),
        Binding("l", "toggle_logy", "Log y"),
    ]

    def __init__(self, runs: list[RunSummary], metric: str | None = None, smoothing: float = 0.6):
        super().__init__()
        self.runs = list(runs)
        names = list(dict.fromkeys(m for r in self.runs for m in r.metrics))
        self.metrics = names
        self._select_values = set(names)
        self.metric = metric or next(
            (m for m in ("val_accuracy", "loss", "val_loss", "accuracy") if m in names),
            names[0] if names else "",
        )
        self.smoothing = smoothing
        self.x_axis = "epoch"
        self.logy = False
        self.curves: dict[str, RunCurves] = {}

    def compose(self) -> ComposeResult:
        yield Static(f"Compare {len(self.runs)} run(s)", id="compare-title")
        options = [(visible(m), m) for m in self.metrics]
        yield Select(options, value=self.metric if self.metric else Select.NULL, allow_blank=not options, id="metric-select")
        yield Static(Text(self._settings()), id="compare-settings")
        yield CurvePlot(id="compare-plot")
        yield Static("", id="compare-notes")
        if self.lineage_pair():  # parent vs child: the hyperparameter and the stack diff side by side
            with Horizontal(id="compare-diffs"):
                yield LineTable(id="hparam-diff", zebra_stripes=False)
                yield Static(self._stack_diff(), id="compare-stack-diff")
        else:
            yield LineTable(id="hparam-diff", zebra_stripes=False)
        yield KeyFooter()

    def lineage_pair(self) -> bool:
        """Two runs, the second made from the first (train --from, or e then t)."""
        return len(self.runs) == 2 and find_parent(self.runs[1], self.runs[:1]) is self.runs[0]

    def _stack_diff(self) -> Text:
        parent, child = self.runs
        title = f"{visible(child.name)} from {visible(parent.name)}"
        try:
            return diff_text(config_diff(config_of(parent), config_of(child)), title=title)
        except KeraslabError as exc:
            return diff_text(None, title=title, error=visible(exc))

    def _settings(self) -> str:
        return (
            f"metric {visible(self.metric or '-')}   smoothing {self.smoothing:g} (+/-)   "
            f"x {self.x_axis} (x)   {'log' if self.logy else 'linear'} y (l)"
        )

    def on_mount(self) -> None:
        table = self.query_one("#hparam-diff", LineTable)
        diff = hparam_diff(self.runs)
        table.add_column("hyperparameter", key="hp")
        for i, r in enumerate(self.runs):
            table.add_column(visible(r.name), key=f"run{i}")
        if diff:
            for key, values in diff:
                table.add_row(visible(key), *(hp_text(v) for v in values))
        else:
            table.add_row("(no differing hyperparameters)", *("" for _ in self.runs))
        self._load()

    @work(thread=True, exclusive=True, group="compare-load")
    def _load(self) -> None:
        loaded = load_many_curves([r.path for r in self.runs])
        curves = {
            str(r.path): c for r, c in zip(self.runs, loaded, strict=True)
            if not isinstance(c, KeraslabError)
        }
        self.post_message(CompareCurvesLoaded(curves))

    def on_compare_curves_loaded(self, message: CompareCurvesLoaded) -> None:
        self.curves = message.curves
        for rc in self.curves.values():
            for name in rc.curves:
                if name not in self.metrics:
                    self.metrics.append(name)
        self.replot()

    def series(self):
        """``[(run name, xs, smoothed ys)]`` of the chosen metric, notes on runs without it,
        and the x axis' title."""
        out, notes, curves = [], [], []
        for r in self.runs:
            rc = self.curves.get(str(r.path))
            c = rc.curves.get(self.metric) if rc else None
            if c is None or not len(c):
                notes.append(f"{visible(r.name)} has no {visible(self.metric)}")
                continue
            out.append((r.name, c.xs(self.x_axis), smooth(c.values, self.smoothing), run_colour(str(r.path))))
            curves.append(c)
        return out, notes, axis_label(curves, self.x_axis)

    def replot(self) -> None:
        series, notes, xlabel = self.series()
        self.query_one(CurvePlot).show(self.metric or "no metric", series, xlabel=xlabel, logy=self.logy)
        self.query_one("#compare-settings", Static).update(Text(self._settings()))
        self.query_one("#compare-notes", Static).update(Text("  ".join(notes)))

    @on(Select.Changed, "#metric-select")
    def _metric_chosen(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value != self.metric:
            self.metric = event.value
            self.replot()

    def action_next_metric(self) -> None:
        if self.metrics:
            i = self.metrics.index(self.metric) + 1 if self.metric in self.metrics else 0
            self.metric = self.metrics[i % len(self.metrics)]
            if self.metric in self._select_values:
                self.query_one("#metric-select", Select).value = self.metric
            self.replot()

    def action_smoother(self) -> None:
        bigger = [s for s in SMOOTHING_STEPS if s > self.smoothing]
        self.smoothing = bigger[0] if bigger else self.smoothing
        self.replot()

    def action_rougher(self) -> None:
        smaller = [s for s in SMOOTHING_STEPS if s < self.smoothing]
        self.smoothing = smaller[-1] if smaller else 0.0
        self.replot()

    def action_next_x(self) -> None:
        self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        self.replot()

    def action_toggle_logy(self) -> None:
        self.logy = not self.logy
        self.replot()

    def action_back(self) -> None:
        self.app.pop_screen()
