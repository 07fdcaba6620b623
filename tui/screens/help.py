"""The help screen: keys, notation and workflow, from help.md beside the app."""

from __future__ import annotations

from pathlib import Path

from keraslab import core
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from ..widgets.footer import KeyFooter

HELP_FILE = Path(__file__).resolve().parent.parent / "help.md"


def help_text() -> str:
    text = HELP_FILE.read_text(encoding="utf-8")
    presets = "\n".join(f"- `{p.name}`: {p.description}" for p in core.PRESETS.values())
    return text.replace("{presets}", presets).replace("{version}", core.__version__)


class HelpScreen(ModalScreen[None]):
    """Scrollable help; escape, q, ? or F1 closes it."""

    DEFAULT_CSS = """
    HelpScreen {
        align: center middle;
        & > #help-body {
            width: 90%;
            max-width: 100;
            height: 90%;
            border: thick $accent;
            background: $surface;
            padding: 0 1;
        }
    }
    """

    BINDINGS = [
        Binding("escape,q,question_mark,f1", "app.pop_screen", "Close", priority=True),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(help_text(), id="help-text")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()


def show_help(app) -> None:
    """Open the help over the current screen (once: not over itself)."""
    if not isinstance(app.screen, HelpScreen):
        app.push_screen(HelpScreen())
