"""A one-line button: a click, enter or space posts Pressed (once for a double click, as
Textual's Button); greyed out while disabled.

Textual's Button brings dozens of CSS rules (its variants, flat and default styles), and
Textual goes over every rule of the stylesheet each time it styles a widget: a button with few
rules keeps the first paint quick (benchmarks/bench_app_startup.py measures it).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.widget import Widget


class ActionButton(Widget, can_focus=True):
    """A button drawn as one line of bold text on the success colour."""

    DEFAULT_CSS = """
    ActionButton {
        width: auto;
        height: 1;
        padding: 0 2;
        background: $success;
        color: $text;
        text-style: bold;
        &:hover { background: $success-lighten-1; }
        &:focus { text-style: bold reverse; }
        &.-active { background: $success-darken-2; }
        &:disabled { background: $panel; color: $text-disabled; text-style: none; }
    }
    """
    ALLOW_SELECT = False
    ACTIVE = 0.2  # seconds after a press when another is ignored (a double click is one press)
    BINDINGS = [Binding("enter,space", "press", "Press", show=False)]

    class Pressed(Message):
        def __init__(self, button: ActionButton) -> None:
            super().__init__()
            self.button = button

        @property
        def control(self) -> ActionButton:
            return self.button

    def __init__(self, label: str, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._label = label

    @property
    def label(self) -> str:
        return self._label

    @label.setter
    def label(self, text: str) -> None:
        if text != self._label:
            self._label = text
            self.refresh(layout=True)

    def render(self) -> Text:
        return Text(self._label, no_wrap=True, end="")

    def get_content_width(self, container, viewport) -> int:
        return cell_len(self._label)

    def action_press(self) -> None:
        if self.disabled or self.has_class("-active"):
            return
        self.add_class("-active")
        self.set_timer(self.ACTIVE, lambda: self.remove_class("-active"))
        self.post_message(self.Pressed(self))

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.action_press()
