"""The layer table: one row per layer with its output shape and parameters; keys edit the stack."""

from __future__ import annotations

from collections.abc import Sequence

from keraslab import core
from rich.text import Text
from textual.binding import Binding
from textual.message import Message

from .line_table import LineTable


def shape_text(shape: Sequence[int | None]) -> str:
    return "x".join("?" if d is None else str(d) for d in shape)


class LayerTable(LineTable):
    """The stack as a table. Keys post `LayerTable.Edit` messages; the screen changes the stack."""

    BINDINGS = [
        Binding("a,insert", "request('add')", "Add layer"),
        Binding("e", "request('edit')", "Edit", show=False),
        Binding("d,delete", "request('remove')", "Remove"),
        Binding("shift+up,left_square_bracket", "request('up')", "Move up", show=False),
        Binding("shift+down,right_square_bracket", "request('down')", "Move down", show=False),
    ]

    class Edit(Message):
        """The user asked to add/edit/remove/move ('up'/'down') the layer at ``index``."""

        def __init__(self, action: str, index: int) -> None:
            super().__init__()
            self.action = action
            self.index = index

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple | None = None
        self.add_column("#", key="n", justify="right")
        self.add_column("layer", key="layer")
        self.add_column("output", key="output")
        self.add_column("params", key="params", justify="right")

    def show(
        self,
        stack: Sequence[core.LayerSpec],
        rows: Sequence[core.LayerRow],
        error_layer: int | None = None,
        cursor: int | None = None,
    ) -> None:
        """Show the stack; ``rows`` (the preview) may cover only the layers before an error."""
        keep = self.cursor_row if cursor is None else cursor
        key = (tuple(stack), tuple((r.output_shape, r.params) for r in rows), error_layer)
        if key == self._shown:
            if stack and cursor is not None:
                self.move_cursor(row=keep)  # (kept within the rows by LineTable)
            return
        self._shown = key
        self.clear()
        cells = []
        for i, spec in enumerate(stack):
            style = "bold red" if i == error_layer else ""
            if i < len(rows):
                row = rows[i]
                output, params = shape_text(row.output_shape), f"{row.params:,}"
            else:
                output, params = ("cannot run" if i == error_layer else "-"), "-"
            cells.append((Text(str(i + 1), style=style), Text(spec.token, style=style),
                          Text(output, style=style), Text(params, style=style)))
        self.add_rows(cells)
        if stack:
            self.move_cursor(row=keep)

    def action_request(self, action: str) -> None:
        self.post_message(self.Edit(action, self.cursor_row if self.row_count else -1))

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        event.stop()
        self.post_message(self.Edit("edit", event.cursor_row))
