"""The ensemble screen: marked runs' predicted probabilities averaged, the ensemble's accuracy
beside each member's, and its confusion matrix."""

from __future__ import annotations

from pathlib import Path

from keraslab.core import KeraslabError, ensemble_runs
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from .. import insight_render as render
from ..fmt import visible
from ..widgets.footer import KeyFooter


class EnsembleScreen(Screen):
    """An ensemble of runs; the computation runs in a thread (a run without saved
    probabilities is evaluated from its checkpoint, which loads TensorFlow)."""

    BINDINGS = [Binding("escape", "back", "Back")]

    def __init__(self, run_dirs: list[Path]):
        super().__init__()
        self.run_dirs = [Path(p) for p in run_dirs]
        self.result = None

    def compose(self) -> ComposeResult:
        names = ", ".join(visible(p.name) for p in self.run_dirs)
        yield VerticalScroll(Static(Text(f"averaging the predictions of {names} ..."), id="ensemble-body"))
        yield KeyFooter()

    def on_mount(self) -> None:
        self._compute()

    @work(thread=True, exclusive=True)
    def _compute(self) -> None:
        try:
            result = ensemble_runs(self.run_dirs)
        except KeraslabError as exc:
            self.app.call_from_thread(self._show, Text(f"cannot ensemble these runs: {visible(exc)}"))
            return
        self.result = result
        self.app.call_from_thread(self._show, self._body(result))

    def _show(self, body) -> None:
        self.query_one("#ensemble-body", Static).update(body)

    @staticmethod
    def _body(result) -> Group:
        ev = result.evaluation
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title_justify="left",
                  title=f"ensemble of {len(result.members)} runs on {visible(result.predictions.config.dataset)}, "
                        f"{ev.samples:,} test samples")  # fmt: skip
        t.add_column("run")
        t.add_column("accuracy", justify="right")
        t.add_column("wrong", justify="right")
        for m in result.members:
            t.add_row(visible(m.run_dir.name), render.pct(m.accuracy, 2), f"{int((m.y_true != m.y_pred).sum()):,}")
        t.add_row(Text("ensemble", style="bold"), Text(render.pct(ev.accuracy, 2), style="bold"), f"{ev.errors:,}")
        pairs = Text("most confused:\n" + "\n".join(f"  {line}" for line in render.pair_lines(ev)))
        return Group(t, render.confusion_table(ev, "the ensemble's confusion matrix"), pairs)

    def action_back(self) -> None:
        self.app.pop_screen()
