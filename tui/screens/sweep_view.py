"""The sweep screen: a sweep's points ranked by a metric, with a strip chart of the metric against each varying option."""

from __future__ import annotations

from pathlib import Path

from keraslab.core import (
    SWEEP_STATES,
    KeraslabError,
    describe_grid,
    find_sweep,
    load_sweep,
    point_rows,
)
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from ..fmt import visible
from ..sweepview import sweep_strips, sweep_table
from ..widgets.footer import KeyFooter
from ..widgets.line_table import LineTable

METRICS = ("val_accuracy", "accuracy", "val_loss", "loss")


class SweepLoaded(Message):
    """The worker's reading of the sweep (rows ranked), or the one-line reason it failed."""

    def __init__(self, sweep=None, rows=None, metric: str = "", error: str | None = None):
        super().__init__()
        self.sweep, self.rows, self.metric, self.error = sweep, rows or [], metric, error


class SweepScreen(Screen):
    """One sweep as an experiment; pushed by the runs browser (``S``)."""

    DEFAULT_CSS = """
    SweepScreen #sweep-title { height: auto; padding: 0 1; text-style: bold; }
    SweepScreen #sweep-table { height: 1fr; }
    SweepScreen #sweep-strips-box { height: auto; max-height: 50%; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("m", "next_metric", "Metric"),
        Binding("ctrl+r,g", "reload", "Reload"),
    ]

    def __init__(self, logdir: str | Path, sweep_id: str | None = None):
        super().__init__()
        self.logdir = Path(logdir)
        self.sweep_id = sweep_id
        self.metric: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("Sweep: reading ...", id="sweep-title")
        yield LineTable(id="sweep-table", zebra_stripes=False)
        with VerticalScroll(id="sweep-strips-box"):
            yield Static("", id="sweep-strips")
        yield KeyFooter()

    def on_mount(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="sweep-load")
    def _load(self) -> None:
        try:
            sweep_id = self.sweep_id or find_sweep(self.logdir, None)
            sweep = load_sweep(self.logdir, sweep_id)
            rows, metric = point_rows(sweep, self.metric)  # (squeue/sacct may take a moment)
        except KeraslabError as exc:
            self.post_message(SweepLoaded(error=str(exc)))
            return
        self.post_message(SweepLoaded(sweep, rows, metric))

    def on_sweep_loaded(self, message: SweepLoaded) -> None:
        title = self.query_one("#sweep-title", Static)
        if message.error:
            title.update(Text(f"Sweep: {visible(message.error)}"))
            return
        sweep, rows = message.sweep, message.rows
        self.sweep_id, self.metric = sweep.id, message.metric
        counts = ", ".join(f"{n} {s}" for s in SWEEP_STATES if (n := sum(r.state == s for r in rows)))
        title.update(Text(f"Sweep {visible(sweep.id)}   {visible(describe_grid(sweep.grid))}   {counts}   "
                          f"ranked by {visible(message.metric)} (m)"))  # fmt: skip
        headers, cells = sweep_table(rows, sweep.grid.varying, message.metric)
        table = self.query_one(LineTable)
        table.clear(columns=True)
        numeric = {0, 1, len(sweep.grid.varying) + 3, len(sweep.grid.varying) + 4}
        for i, header in enumerate(headers):
            table.add_column(header, justify="right" if i in numeric else "left")
        table.add_rows(cells, [str(r.point.index) for r in rows])
        best = rows[0] if rows and rows[0].value is not None else None
        lines = sweep_strips(sweep, rows, message.metric, width=50)
        if best is not None and best.reproduce:
            lines += ["", f"best: point {best.point.index}", f"  {visible(best.reproduce)}"]
        self.query_one("#sweep-strips", Static).update(Text("\n".join(lines).lstrip("\n")))

    def action_next_metric(self) -> None:
        i = METRICS.index(self.metric) + 1 if self.metric in METRICS else 0
        self.metric = METRICS[i % len(METRICS)]
        self._load()

    def action_reload(self) -> None:
        self._load()

    def action_back(self) -> None:
        self.app.pop_screen()
