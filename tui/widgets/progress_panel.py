"""The run's progress: epoch, batch, ETA, samples per second, and a bar over the whole run."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from .. import fmt


class ProgressPanel(Vertical):
    """One status line and a bar; `show(state)` reads a RunState."""

    def compose(self) -> ComposeResult:
        yield Static("", id="progress-line")
        yield ProgressBar(total=1, show_eta=False, show_percentage=True, id="progress-bar")

    def show(self, state) -> None:
        line = self.query_one("#progress-line", Static)
        bar = self.query_one("#progress-bar", ProgressBar)
        p = state.progress
        epochs = state.config.epochs
        if state.finished is not None:
            done = state.finished.epochs_done
            line.update(
                f"{state.finished.status}: {done}/{epochs} epochs in "
                f"{fmt.duration(state.finished.elapsed)}"
            )
            bar.update(total=epochs, progress=done if state.finished.status == "completed" else done)
            return
        if p is None:
            line.update(state.phase or state.status)
            bar.update(total=None)
            return
        eta = state.eta()
        line.update(
            f"epoch {p.epoch + 1}/{p.epochs}  batch {p.batch}/{p.batches}  "
            f"ETA {fmt.duration(eta)}  {p.samples_per_second:,.0f} samples/s"
            + (f"  - {state.phase}" if state.phase and state.status != "running" else ""),
            layout=False,  # one line of fixed height: no layout pass per progress event
        )
        bar.update(total=p.epochs * p.batches, progress=p.epoch * p.batches + p.batch)
