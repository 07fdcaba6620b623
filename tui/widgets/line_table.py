"""A light table widget: only the rows on screen are drawn (Textual's line API).

Textual's DataTable measures every cell through Rich's console when rows are added and
renders each visible cell as a separate renderable, slow for hundreds of runs (see
benchmarks/bench_browse.py). This table keeps its cells as plain strings
or Rich ``Text``, sizes a column by the cells' lengths, and draws a row as one line of
segments, cached until the row, the cursor or the styles change.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text


@dataclass
class Column:
    key: str
    label: str
    justify: str = "left"  # "left" or "right"
    width: int = 0  # content width: the widest of the label and the cells


def _one_line(cell: Cell) -> Cell:
    """A cell is drawn on one line: a text of several keeps its first, marked with an ellipsis."""
    if isinstance(cell, Text):
        if "\n" in cell.plain:
            first = cell.split("\n")[0]
            first.append(" …")
            return first
        return cell
    cell = str(cell)
    return cell.splitlines()[0] + " …" if "\n" in cell or "\r" in cell else cell


class LineTable(ScrollView, can_focus=True):
    """Rows of cells under a fixed header line, with a row cursor.

    The API follows Textual's DataTable where the two overlap (``add_column``, ``add_row``,
    ``clear``, ``row_count``, ``cursor_row``, ``move_cursor``, ``get_row_at``), so a screen
    reads the same; keys and messages carry plain strings.
    """

    COMPONENT_CLASSES = {"line-table--header", "line-table--cursor", "line-table--even-row"}
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .line-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        & > .line-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .line-table--even-row {
            background: $surface-lighten-1 50%;
        }
        &:dark > .line-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .line-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First", show=False),
        Binding("end,ctrl+end", "last", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=False, repaint=False, init=False)

    class _TableMessage(Message):
        def __init__(self, table: LineTable) -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> LineTable:
            return self.table

    class _RowMessage(_TableMessage):
        def __init__(self, table: LineTable, cursor_row: int, row_key: str | None) -> None:
            super().__init__(table)
            self.cursor_row = cursor_row
            self.row_key = row_key

    class RowHighlighted(_RowMessage):
        """The cursor moved to another row."""

    class RowSelected(_RowMessage):
        """Enter, or a click on the row under the cursor."""

    class HeaderSelected(_TableMessage):
        """A click on a column's header."""

        def __init__(self, table: LineTable, column_key: str, column_index: int) -> None:
            super().__init__(table)
            self.column_key = column_key
            self.column_index = column_index

    def __init__(self, *, zebra_stripes: bool = True, name=None, id=None, classes=None) -> None:  # noqa: A002
        super().__init__(name=name, id=id, classes=classes)
        self.zebra_stripes = zebra_stripes
        self.columns: list[Column] = []
        self._rows: list[tuple[Cell, ...]] = []
        self._keys: list[str | None] = []
        self._index: dict[str, int] = {}
        self._lines: dict[tuple, Strip] = {}  # (row, is cursor) -> the row's whole line

    # -- data -------------------------------------------------------------------------
    @property
    def row_count(self) -> int:
        return len(self._rows)

    @property
    def cursor_key(self) -> str | None:
        return self._keys[self.cursor_row] if self._rows else None

    def add_column(self, label: str, *, key: str | None = None, justify: str = "left") -> str:
        key = label if key is None else key
        self.columns.append(Column(key, label, justify, cell_len(label)))
        self._changed()
        return key

    def add_row(self, *cells: Cell, key: str | None = None) -> None:
        self.add_rows([cells], [key])

    def add_rows(self, rows: Iterable[Sequence[Cell]], keys: Iterable[str | None] | None = None) -> None:
        """Append rows (``keys``, when given, one per row: unique strings or None)."""
        columns = self.columns
        keys = iter(keys) if keys is not None else None
        try:
            for cells in rows:
                cells = tuple(map(_one_line, cells))
                if len(cells) != len(columns):
                    raise ValueError(f"a row of {len(cells)} cells in a table of {len(columns)} columns")
                key = next(keys, None) if keys is not None else None
                if key is not None:
                    if key in self._index:
                        raise ValueError(f"a second row with the key {key!r}")
                    self._index[key] = len(self._rows)
                for column, cell in zip(columns, cells, strict=True):
                    width = cell.cell_len if isinstance(cell, Text) else cell_len(cell)
                    if width > column.width:
                        column.width = width
                self._rows.append(cells)
                self._keys.append(key)
        finally:
            self._changed()

    def clear(self, columns: bool = False) -> None:
        """Remove every row (and the columns too if ``columns``); the cursor goes to the top."""
        self._rows.clear()
        self._keys.clear()
        self._index.clear()
        if columns:
            self.columns.clear()
        else:
            for column in self.columns:
                column.width = cell_len(column.label)
        self.set_reactive(LineTable.cursor_row, 0)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self._changed()

    def replace_rows(self, rows: Iterable[Sequence[Cell]], keys: Iterable[str | None],
                     columns: Sequence[tuple[str, str, str]] | None = None) -> None:  # fmt: skip
        """Every row anew (and the columns, given as (label, key, justify)); the cursor stays
        on its row's key (else at its place) and the view where it was, so that a live
        update does not move what the user looks at."""
        key, row, top = self.cursor_key, self.cursor_row, self.scroll_y
        self.clear(columns=columns is not None)
        for label, column_key, justify in columns or ():
            self.add_column(label, key=column_key, justify=justify)
        self.add_rows(rows, keys)
        self.scroll_to(y=top, animate=False, immediate=True)
        self.move_cursor(row=self._index.get(key, row) if key is not None else row)

    def get_row_at(self, index: int) -> list[Cell]:
        return list(self._rows[index])

    def get_row(self, key: str) -> list[Cell]:
        return list(self._rows[self._index[key]])

    def get_row_index(self, key: str) -> int:
        return self._index[key]

    def move_cursor(self, *, row: int, animate: bool = False) -> None:  # noqa: ARG002 (DataTable's)
        self.cursor_row = row

    def _changed(self) -> None:
        self._lines.clear()
        width = sum(c.width + 2 for c in self.columns)
        self.virtual_size = Size(width, len(self._rows) + 1)
        if self._rows and self.cursor_row >= len(self._rows):
            self.set_reactive(LineTable.cursor_row, len(self._rows) - 1)
        self.refresh()

    # -- cursor -----------------------------------------------------------------------
    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, len(self._rows) - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        self._refresh_row(old)
        self._refresh_row(new)
        self._scroll_to_cursor()
        if self._rows:
            self.post_message(self.RowHighlighted(self, new, self._keys[new]))

    def _refresh_row(self, row: int) -> None:
        self.refresh_line(row + 1)  # (a virtual line: the header is line 0)

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def _scroll_to_cursor(self) -> None:
        top, page, row = int(self.scroll_y), self._page(), self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + page:
            self.scroll_to(y=row - page + 1, animate=False, immediate=True)

    def _on_resize(self, event: events.Resize) -> None:
        self._scroll_to_cursor()

    def action_cursor_up(self) -> None:
        self.cursor_row -= 1

    def action_cursor_down(self) -> None:
        self.cursor_row += 1

    def action_page_up(self) -> None:
        self.cursor_row -= self._page()

    def action_page_down(self) -> None:
        self.cursor_row += self._page()

    def action_first(self) -> None:
        self.cursor_row = 0

    def action_last(self) -> None:
        self.cursor_row = len(self._rows) - 1

    def action_select(self) -> None:
        if self._rows:
            self.post_message(self.RowSelected(self, self.cursor_row, self._keys[self.cursor_row]))

    def _on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = offset.x + int(self.scroll_x)
            for index, column in enumerate(self.columns):
                x -= column.width + 2
                if x < 0:
                    self.post_message(self.HeaderSelected(self, column.key, index))
                    break
            return
        row = int(self.scroll_y) + offset.y - 1
        if 0 <= row < len(self._rows):
            if row == self.cursor_row:
                self.action_select()
            else:
                self.cursor_row = row

    # -- drawing ----------------------------------------------------------------------
    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def _on_focus(self, event: events.Focus) -> None:
        self._lines.clear()  # the cursor's colours differ with focus
        self.refresh()

    def _on_blur(self, event: events.Blur) -> None:
        self._lines.clear()
        self.refresh()

    def _line(self, cells: Sequence[Cell], style: Style) -> Strip:
        text = Text(no_wrap=True, end="")
        for column, cell in zip(self.columns, cells, strict=True):
            part = cell if isinstance(cell, Text) else Text(cell)
            pad = column.width - part.cell_len
            justify = part.justify if part.justify in ("left", "right") else column.justify
            text.append(" " + " " * pad if justify == "right" else " ")
            text.append_text(part)
            text.append(" " if justify == "right" else " " * pad + " ")
        segments = list(text.render(self.app.console))
        return Strip(Segment.apply_style(segments, style), text.cell_len)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            strip = self._lines.get(("header",))
            if strip is None:
                style = base + self.get_component_rich_style("line-table--header")
                strip = self._line([c.label for c in self.columns], style)
                self._lines[("header",)] = strip
        else:
            row = int(self.scroll_y) + y - 1
            if not 0 <= row < len(self._rows):
                return Strip.blank(width, base)
            is_cursor = row == self.cursor_row
            strip = self._lines.get((row, is_cursor))
            if strip is None:
                style = base
                if self.zebra_stripes and row % 2:
                    style += self.get_component_rich_style("line-table--even-row")
                if is_cursor:
                    style += self.get_component_rich_style("line-table--cursor")
                strip = self._line(self._rows[row], style)
                if len(self._lines) > 4096:
                    self._lines.clear()
                self._lines[(row, is_cursor)] = strip
        x = int(self.scroll_x)
        return strip.crop_extend(x, x + width, base if y else base + self.get_component_rich_style("line-table--header"))
