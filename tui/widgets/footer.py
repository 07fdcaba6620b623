"""The key bindings footer: one line of text, redrawn only when what it shows changes."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.widget import Widget


@dataclass(frozen=True)
class FooterItem:
    key: str  # the key to simulate on a click
    key_display: str
    description: str
    action: str
    enabled: bool


class KeyFooter(Widget, can_focus=False):
    """The screen's bindings as one line, like Textual's Footer, drawn by one widget.

    Textual's Footer mounts a widget per key and re-composes on every bindings refresh
    (each screen switch and focus change): tens of milliseconds of the UI thread each,
    felt as a slow screen switch while a model trains, and a dozen widgets to style and
    lay out on every screen's first paint. This footer rebuilds its line only when the
    bindings it shows differ from those it shows; a click on a key presses that key.
    """

    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--hover"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-footer--hover {
            background: $block-hover-background;
        }
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.items: tuple[FooterItem, ...] = ()
        self.palette: FooterItem | None = None
        self.builds = 0  # how many times the shown bindings changed (tests count them)
        self._spans: list[tuple[int, int, FooterItem]] = []
        self._hover: FooterItem | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self.call_after_refresh(self.update_items)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        if self.is_attached and screen is self.screen:
            self.update_items()

    def update_items(self) -> None:
        """Read the screen's active bindings; redraw if the keys shown changed."""
        items: dict[str, FooterItem] = {}  # one key per action, the first, as Footer shows
        palette = None
        app = self.app
        for key, (_, binding, enabled, _tooltip) in self.screen.active_bindings.items():
            item = FooterItem(key, app.get_key_display(binding), binding.description,
                              binding.action, enabled)  # fmt: skip
            if key == app.COMMAND_PALETTE_BINDING and app.ENABLE_COMMAND_PALETTE:
                palette = item
            elif binding.show and binding.action not in items:
                items[binding.action] = item
        shown = tuple(items.values())
        if (shown, palette) != (self.items, self.palette):
            self.items, self.palette = shown, palette
            self.builds += 1
            self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("key-footer--key")
        description_style = self.get_component_rich_style("key-footer--description")
        hover_style = self.get_component_rich_style("key-footer--hover")
        text = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        width = self.size.width
        wide = sum(_cells(i, compact=False) for i in self.items)
        palette = self.palette
        if palette is not None and wide + _cells(palette, compact=False) + 1 > width:
            palette = None  # a narrow terminal: the screen's own keys first
        compact = wide > width  # then a space less around each key, as Footer(compact=True)
        items = self._fitting(width) if compact else self.items

        def add(item: FooterItem) -> None:
            start = text.cell_len
            extra = hover_style if item == self._hover else None
            key = f"{item.key_display} " if compact else f" {item.key_display} "
            text.append(key, key_style + extra if extra else key_style)
            text.append(f"{item.description} ", description_style + extra if extra else description_style)
            if not item.enabled:
                text.stylize("dim", start)
            self._spans.append((start, text.cell_len, item))

        for item in items:
            add(item)
        if palette is not None:
            text.append(" " * max(1, width - text.cell_len - _cells(palette, compact)))
            add(palette)
        return text

    def _fitting(self, width: int) -> tuple[FooterItem, ...]:
        """The compact items that fit ``width`` whole, in order; when some must go, those
        at the end go first, except the help key (the help screen lists every key)."""
        size = {item: _cells(item, compact=True) for item in self.items}
        if sum(size.values()) - 1 <= width:  # (the last trailing space may go)
            return self.items
        helps = tuple(item for item in self.items if item.action in ("help", "app.help"))
        room = width + 1 - sum(size[item] for item in helps)  # (the last trailing space may go)
        shown: list[FooterItem] = []
        for item in self.items:
            if item in helps:
                continue
            if size[item] > room:
                break
            shown.append(item)
            room -= size[item]
        return (*shown, *helps)

    def _item_at(self, x: int) -> FooterItem | None:
        return next((item for start, end, item in self._spans if start <= x < end), None)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        item = self._item_at(event.x)
        if item != self._hover:
            self._hover = item
            self.refresh()

    def on_leave(self) -> None:
        if self._hover is not None:
            self._hover = None
            self.refresh()

    def on_click(self, event: events.Click) -> None:
        item = self._item_at(event.x)
        if item is None:
            return
        if item.enabled:
            self.app.simulate_key(item.key)
        else:
            self.app.bell()


def _cells(item: FooterItem, compact: bool) -> int:
    """The width of an item as drawn: " key description " (compact: "key description ")."""
    return len(item.key_display) + len(item.description) + (2 if compact else 3)
