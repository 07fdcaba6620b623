"""A big runs table filled a step at a time (keys work meanwhile, marks and the cursor stay right), and the checks of a cached run's entry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from browse_helpers import keraslab_run
from keraslab.core import RunWatcher
from keraslab.core.browse.cache import load_cache
from keraslab.core.browse.keraslab_state import KeraslabRunState
from keraslab.core.rundir.fileio import MAX_JSON_DEPTH, too_deep
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens import runs_browser
from keraslab.tui.screens.runs_browser import MARK, RunsBrowserScreen
from keraslab.tui.widgets.line_table import LineTable
from test_browser_screens import until

SIZE = (120, 36)


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "user-cache"))


def _many_runs(logdir: Path, count: int) -> Path:
    """``count`` keraslab runs: one written by the run writer, the rest copies of it."""
    first = keraslab_run(logdir, "run-0000", epochs=3)
    for i in range(1, count):
        shutil.copytree(first, logdir / f"run-{i:04d}")
    return logdir


async def test_a_key_pressed_while_a_big_table_fills_is_handled_before_the_last_rows_come(tmp_path, monkeypatch):
    logdir = _many_runs(tmp_path / "runs", 1500)
    monkeypatch.setattr(runs_browser, "FILL_STEP_S", 0.0, raising=False)  # (one batch a step: many steps)
    monkeypatch.setattr(runs_browser, "FILL_BATCH", 20, raising=False)
    rows_when_pressed = []
    down = LineTable.action_cursor_down

    def spy(self):
        rows_when_pressed.append(self.row_count)
        down(self)

    monkeypatch.setattr(LineTable, "action_cursor_down", spy)
    app = BrowseApp([logdir], follow=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count >= getattr(runs_browser, "FIRST_ROWS", 200) and not app.screen.scanning)
        await pilot.press("down")
        await until(pilot, lambda: table.row_count == 1500, tries=600)
        assert table.cursor_row == 1
    assert rows_when_pressed and rows_when_pressed[0] < 1500  # the key did not wait for the whole table


async def test_a_mark_far_down_a_big_table_shows_and_the_cursor_moves_on(tmp_path, monkeypatch):
    logdir = _many_runs(tmp_path / "runs", 700)
    app = BrowseApp([logdir], follow=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 700 and app.screen.scans >= 1)
        table.move_cursor(row=650)
        await pilot.pause()
        key = table.cursor_key
        await pilot.press("space")
        assert table.cursor_row == 651
        assert str(table.get_row(key)[0]).startswith(MARK)
        await until(pilot, lambda: table.row_count == 700)
        assert [str(table.get_row_at(i)[0]).startswith(MARK) for i in range(700)].count(True) == 1


def _nested(depth: int) -> object:
    value: object = 1
    for i in range(depth):
        value = [value, 2] if i % 2 else {"k": value, "x": "text"}
    return value


def test_depth_is_checked_at_the_limit():
    for limit in (1, 2, 5, MAX_JSON_DEPTH):
        assert not too_deep(_nested(limit), limit)
        assert too_deep(_nested(limit + 1), limit)
    assert not too_deep(3) and not too_deep("text", 0) and too_deep([], 0)


@pytest.mark.parametrize(
    "spoil",
    [
        lambda e: e["stats"].update(val_accuracy=[0.1, 0.2, 0.1, 0.2, "3", 1, 2, 0.0, 1.0]),  # a count not an int
        lambda e: e["stats"].update(val_accuracy=[0.1, 0.2, 0.1, True, 3, 1, 2, 0.0, 1.0]),  # a bool for a number
        lambda e: e["stats"].update(val_accuracy=[0.1, 0.2]),  # too short
        lambda e: e["sigs"].update({"../x": [1, 2]}),  # a file keraslab does not read
        lambda e: e["sigs"].update({"config.json": [1, -2]}),
        lambda e: e["config"]["run"].update(extra=_nested(MAX_JSON_DEPTH)),  # too deep for the summary's flattening
    ],
)
def test_a_spoilt_cache_entry_is_refused(tmp_path, spoil):
    logdir = _many_runs(tmp_path / "runs", 1)
    RunWatcher(logdir).scan()
    [(rel, entry)] = load_cache(logdir).items()
    entry = json.loads(json.dumps(entry))  # (an entry as a file holds it: a plain dict, checked one by one)
    KeraslabRunState.from_cache(logdir / rel, rel, logdir, entry)  # (as saved: taken)
    spoil(entry)
    with pytest.raises((ValueError, TypeError)):
        KeraslabRunState.from_cache(logdir / rel, rel, logdir, entry)
