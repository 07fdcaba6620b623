"""A one-line choice among a few values: left/right step through them, enter or a click
lists them all in a pop-up under the field.

Textual's Select is five widgets (the current value, its label and arrow, an overlay and
its option list), all mounted with it, which the launch screen's first paint pays for. A
Choice is one widget; its list is built when opened.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import OptionList


class ChoicePicker(ModalScreen[int | None]):
    """The options listed under the field; enter or a click picks one, escape closes."""

    DEFAULT_CSS = """
    ChoicePicker {
        background: transparent;
        align: left top;
        & > OptionList {
            width: auto;
            max-height: 12;
            border: tall $border;
            background: $surface;
        }
    }
    """
    BINDINGS = [Binding("escape", "dismiss_none", "Close", show=False)]

    def __init__(self, prompts: Sequence[str], current: int, below: Region) -> None:
        super().__init__()
        self.prompts = list(prompts)
        self.current = current
        self.below = below

    def compose(self):
        yield OptionList(*self.prompts)

    def on_mount(self) -> None:
        self.styles.align = ("left", "top")  # (inline: an app's ModalScreen rule may centre)
        options = self.query_one(OptionList)
        # as wide as the longest choice (+ border, padding, scroll bar), within the screen
        width = min(max(max(len(p) for p in self.prompts) + 6, self.below.width), self.size.width)
        x = max(0, min(self.below.x, self.size.width - width))
        height = min(len(self.prompts), 10) + 2
        y = self.below.bottom if self.below.bottom + height <= self.size.height else max(0, self.below.y - height)
        options.styles.offset = (x, y)
        options.styles.width = width
        options.highlighted = self.current
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def on_click(self, event: events.Click) -> None:
        if self.get_widget_at(event.screen_x, event.screen_y)[0] is self:  # outside the list
            self.dismiss(None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class Choice(Widget, can_focus=True):
    """One value of ``options`` ((prompt, value) pairs); posts ``Choice.Changed`` on a change."""

    DEFAULT_CSS = """
    Choice {
        height: 1;
        width: 1fr;
        padding: 0;
        background: $surface;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        &:focus {
            background-tint: $foreground 5%;
            color: $block-cursor-foreground;
            background: $block-cursor-background;
        }
        &:hover {
            background: $surface-lighten-1;
        }
    }
    """
    BINDINGS = [
        Binding("enter,space,down", "open", "Choose", show=False),
        Binding("left", "step(-1)", "Previous", show=False),
        Binding("right", "step(1)", "Next", show=False),
    ]

    value: reactive[Any] = reactive(None, init=False)

    class Changed(Message):
        def __init__(self, choice: Choice, value: Any) -> None:
            super().__init__()
            self.choice = choice
            self.value = value

        @property
        def control(self) -> Choice:
            return self.choice

    def __init__(self, options: Sequence[tuple[str, Any]], value: Any, *, id: str | None = None,  # noqa: A002
                 classes: str | None = None) -> None:  # fmt: skip
        super().__init__(id=id, classes=classes)
        self.options = list(options)
        if not self.options:
            raise ValueError("a Choice needs options")
        self.set_reactive(Choice.value, value if self._index(value) is not None else self.options[0][1])

    def _index(self, value: Any) -> int | None:
        return next((i for i, (_, v) in enumerate(self.options) if v == value), None)

    def validate_value(self, value: Any) -> Any:
        if self._index(value) is None:
            raise ValueError(f"{value!r} is not one of the choices")
        return value

    def watch_value(self, value: Any) -> None:
        self.post_message(self.Changed(self, value))

    def render(self) -> Text:
        prompt = self.options[self._index(self.value) or 0][0]
        return Text.assemble(prompt, " ", ("▾", "dim"))

    def action_step(self, delta: int) -> None:
        self.value = self.options[((self._index(self.value) or 0) + delta) % len(self.options)][1]

    def action_open(self) -> None:
        def picked(index: int | None) -> None:
            if index is not None:
                self.value = self.options[index][1]
            self.focus()

        self.app.push_screen(
            ChoicePicker([p for p, _ in self.options], self._index(self.value) or 0, self.region), picked
        )

    def on_click(self, event: events.Click) -> None:
        event.stop()
        self.focus()
        self.action_open()
