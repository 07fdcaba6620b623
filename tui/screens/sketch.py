"""The architecture sketch as a dialog (k in the launch screen and the run detail): the block diagram of a stack."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..fmt import visible


class SketchScreen(ModalScreen[None]):
    """Shows ``core.sketch_stack`` lines (or a one-line reason there is none); escape or k closes."""

    DEFAULT_CSS = """
    SketchScreen { align: center middle; }
    #sketch-box { width: auto; max-width: 95%; height: 90%; border: round $accent; background: $surface; padding: 0 1; }
    #sketch-title { text-style: bold; }
    #sketch-scroll { width: auto; height: 1fr; }
    #sketch-text { width: auto; }
    """
    BINDINGS = [Binding("escape,k,q", "close", "Close")]

    def __init__(self, title: str, lines: Sequence[str]) -> None:
        super().__init__()
        self.title_text = visible(title)
        self.lines = [visible(line) for line in lines]

    def compose(self) -> ComposeResult:
        with Vertical(id="sketch-box"):
            yield Static(Text(f"{self.title_text}  (escape closes)"), id="sketch-title")
            with VerticalScroll(id="sketch-scroll"):
                yield Static(Text("\n".join(self.lines), no_wrap=True), id="sketch-text")

    def action_close(self) -> None:
        self.dismiss(None)
