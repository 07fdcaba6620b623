"""The ensemble screen: marked runs' predicted probabilities averaged, the ensemble's accuracy
beside each member's, and its confusion matrix."""

from __future__ import annotations

from pathlib import Path

from keraslab.core import KeraslabError, ensemble_runs
from rich.console import Group
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
        pairs = Text(render.pairs_text(ev))
        return Group(Text(render.ensemble_title(result)), render.ensemble_table(result),
                     render.confusion_table(ev, "the ensemble's confusion matrix"), pairs)  # fmt: skip

    def action_back(self) -> None:
        self.app.pop_screen()
