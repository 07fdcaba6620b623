"""The line-API table used by every table of the app: rows, cursor, keys, mouse, drawing."""

from __future__ import annotations

from keraslab.tui.widgets.line_table import LineTable
from rich.text import Text
from textual.app import App


class TableApp(App):
    CSS = "LineTable { height: 12; }"

    def __init__(self, rows: int = 100) -> None:
        super().__init__()
        self.rows = rows
        self.events: list = []

    def compose(self):
        yield LineTable(id="t")

    def on_mount(self) -> None:
        table = self.query_one(LineTable)
        table.add_column("name", key="name")
        table.add_column("acc", key="acc", justify="right")
        table.add_rows(([f"run-{i}", f"{i / 100:.2f}"] for i in range(self.rows)),
                       (f"k{i}" for i in range(self.rows)))  # fmt: skip
        table.focus()

    def on_line_table_row_selected(self, event: LineTable.RowSelected) -> None:
        self.events.append(("selected", event.cursor_row, event.row_key))

    def on_line_table_header_selected(self, event: LineTable.HeaderSelected) -> None:
        self.events.append(("header", event.column_key, event.column_index))


def screen_lines(app: App) -> list[str]:
    table = app.query_one(LineTable)
    return [table.render_line(y).text for y in range(table.size.height)]


async def test_rows_columns_and_cursor_keys():
    app = TableApp()
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        assert table.row_count == 100 and table.cursor_key == "k0"
        assert [c.width for c in table.columns] == [len("run-99"), len("0.99")]
        lines = screen_lines(app)
        assert lines[0].rstrip() == " name     acc"  # acc is right-justified, header too
        assert lines[1].rstrip() == " run-0   0.00"
        await pilot.press("down", "down")
        assert table.cursor_row == 2
        await pilot.press("pagedown")  # a page is the rows under the header
        assert table.cursor_row == 2 + 11
        assert int(table.scroll_y) == table.cursor_row - 10  # scrolled to keep it in view
        assert screen_lines(app)[-1].split()[0] == "run-13"
        await pilot.press("end")
        assert table.cursor_row == 99 and screen_lines(app)[-1].split()[0] == "run-99"
        await pilot.press("home", "up")
        assert table.cursor_row == 0 and int(table.scroll_y) == 0
        await pilot.press("enter")
        assert app.events == [("selected", 0, "k0")]


async def test_mouse_moves_the_cursor_selects_and_clicks_headers():
    app = TableApp()
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        await pilot.click(LineTable, offset=(2, 4))  # the fourth row
        assert table.cursor_row == 3 and app.events == []
        await pilot.click(LineTable, offset=(2, 4))  # again: selects it
        assert app.events == [("selected", 3, "k3")]
        await pilot.click(LineTable, offset=(table.columns[0].width + 3, 0))
        assert app.events[-1] == ("header", "acc", 1)


async def test_only_rows_on_screen_are_drawn_and_a_cursor_move_redraws_two():
    app = TableApp(rows=5000)
    drawn: list[int] = []
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        render = table._line

        def counting(cells, style):
            drawn.append(1)
            return render(cells, style)

        table._line = counting
        table._lines.clear()
        table.refresh()
        await pilot.pause()
        assert 0 < len(drawn) <= 12  # the header and the 11 rows that fit
        drawn.clear()
        await pilot.press("down")
        await pilot.pause()
        assert len(drawn) == 2  # the old cursor row and the new one


async def test_clear_keeps_columns_styles_cells_and_keys():
    app = TableApp(rows=3)
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        table.move_cursor(row=2)
        table.clear()
        assert table.row_count == 0 and table.cursor_row == 0 and table.cursor_key is None
        assert [c.key for c in table.columns] == ["name", "acc"]
        table.add_row(Text("failed", style="bold red"), "0.5", key="x")
        table.add_row("a-much-longer-name", "0.7", key="y")
        await pilot.pause()
        assert table.columns[0].width == len("a-much-longer-name")
        assert table.get_row("y") == ["a-much-longer-name", "0.7"] and table.get_row_index("x") == 0
        first = table.render_line(1)
        assert any(seg.style and seg.style.color and seg.style.color.name == "red" for seg in first)
        table.clear(columns=True)
        assert table.columns == [] and table.row_count == 0


async def test_replace_rows_keeps_the_cursor_row_and_the_view_clear_goes_to_the_top():
    app = TableApp(rows=200)
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        table.move_cursor(row=150)
        table.move_cursor(row=145)  # mid-page
        await pilot.pause()
        top = table.scroll_y
        assert top == 140
        # a live update: a new run at the top, every other row one further down
        keys = ["new"] + [f"k{i}" for i in range(200)]
        table.replace_rows(([k, "0.5"] for k in keys), keys)
        await pilot.pause()
        assert table.cursor_key == "k145" and table.cursor_row == 146 and table.scroll_y == top
        keys = [f"k{i}" for i in range(0, 200, 2)]  # the cursor's run filtered out
        table.replace_rows(([k, "0.5"] for k in keys), keys)
        await pilot.pause()
        assert table.cursor_row == 99  # (its place, kept within the rows)
        assert table.cursor_row - 11 < table.scroll_y <= table.cursor_row  # and on screen
        table.clear()
        table.add_rows(([f"n{i}", "1"] for i in range(200)), (f"n{i}" for i in range(200)))
        await pilot.pause()
        assert table.cursor_row == 0 and table.scroll_y == 0
        assert screen_lines(app)[1].split()[0] == "n0"


async def test_cells_stay_on_one_line_and_keys_are_unique():
    app = TableApp(rows=1)
    async with app.run_test(size=(40, 20)) as pilot:
        table = app.query_one(LineTable)
        table.add_row("two\nlines", Text("a\nb", style="red"), key="nl")
        await pilot.pause()
        assert [str(c) for c in table.get_row("nl")] == ["two …", "a …"]
        assert "\n" not in "".join(seg.text for seg in table.render_line(2))
        before = table.row_count
        try:
            table.add_rows([["x", "1"], ["y", "2"]], ["new", "nl"])  # the second key is taken
        except ValueError as exc:
            assert "nl" in str(exc)
        else:
            raise AssertionError("a duplicate key was accepted")
        assert table.row_count == before + 1 and table.get_row_index("new") == before
        assert table.virtual_size.height == table.row_count + 1  # the table knows its new size
