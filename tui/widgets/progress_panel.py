"""The run's progress: epoch, batch, ETA, samples per second, and a bar over the whole run."""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from .. import fmt


class ProgressPanel(Widget):
    """One status line and a bar; `show(state)` reads a QueuedRun.

    One widget that draws both lines itself: a progress event then costs a single repaint of
    a fixed-size region (no layout pass, no child widgets), which matters because it comes
    several times a second from the training thread.
    """

    COMPONENT_CLASSES = {"progress-panel--complete", "progress-panel--remaining"}
    DEFAULT_CSS = """
    ProgressPanel {
        height: 2;
    }
    ProgressPanel > .progress-panel--complete {
        color: $accent;
    }
    ProgressPanel > .progress-panel--remaining {
        color: $panel-lighten-2;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.line = ""
        self.completed = 0.0
        self.total: float | None = None

    def show(self, state) -> None:
        p = state.progress
        epochs = state.config.epochs
        if state.finished is not None:
            done = state.finished.epochs_done
            self.line = (
                f"{state.finished.status}: {done}/{epochs} epochs in "
                f"{fmt.duration(state.finished.elapsed)}"
            )
            self.total, self.completed = epochs, done
        elif p is None:
            self.line = state.phase or state.status
            self.total, self.completed = None, 0
        else:
            eta = state.eta()
            self.line = (
                f"epoch {p.epoch + 1}/{p.epochs}  batch {p.batch}/{p.batches}  "
                f"ETA {fmt.duration(eta)}  {p.samples_per_second:,.0f} samples/s"
                + (f"  - {state.phase}" if state.phase and state.status != "running" else "")
            )
            self.total, self.completed = p.epochs * p.batches, p.epoch * p.batches + p.batch
        self.refresh()

    @property
    def fraction(self) -> float | None:
        """Share of the run done (None while the length is not known yet)."""
        if not self.total:
            return None
        return min(1.0, max(0.0, self.completed / self.total))

    def render(self) -> Text:
        fraction = self.fraction
        width = max(4, self.content_size.width - 6)  # room for " 100%"
        filled = round(width * (fraction or 0.0))
        text = Text(self.line, no_wrap=True, overflow="ellipsis")
        text.append("\n")
        text.append("━" * filled, style=self.get_component_rich_style("progress-panel--complete"))
        text.append("━" * (width - filled),
                    style=self.get_component_rich_style("progress-panel--remaining"))
        text.append("   ---" if fraction is None else f" {fraction * 100:4.0f}%")
        return text
