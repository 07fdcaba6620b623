"""Runs browser screens driven by Pilot: browse, sort, filter, detail, compare, and live follow."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from browse_helpers import sample_logdir
from keraslab.tui.app import KeraslabApp
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens.compare import CompareScreen
from keraslab.tui.screens.help import HelpScreen, help_text
from keraslab.tui.screens.run_detail import RunDetailScreen
from keraslab.tui.screens.runs_browser import RunsBrowserScreen
from keraslab.tui.widgets.footer import KeyFooter
from keraslab.tui.widgets.line_table import LineTable
from textual.widgets import Input, TextArea

SIZE = (120, 36)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return sample_logdir(tmp_path / "runs")


async def until(pilot, condition, tries: int = 200) -> None:
    """Let the app run until ``condition()`` holds (bounded by a number of short pauses)."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("condition not reached")


def names(table: LineTable) -> list[str]:
    return [str(table.get_row_at(i)[0]).strip(" \u25cf!") for i in range(table.row_count)]


async def test_browse_sort_filter_and_hparam_columns(logdir):
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 4)
        assert set(names(table)) == {"mnist-cnn-1", "mnist-cnn-2", "fashion-cnn-1", "plain-keras"}

        # a click on a header sorts by that column, a second click reverses
        assert table.columns[7].label == "test acc"
        x = sum(c.width + 2 for c in table.columns[:7]) + 1
        await pilot.click(LineTable, offset=(x, 0))
        await pilot.pause()
        assert app.screen.sort_key == "test_acc"
        assert names(table) == ["fashion-cnn-1", "mnist-cnn-2", "mnist-cnn-1", "plain-keras"]
        await pilot.click(LineTable, offset=(x, 0))
        await pilot.pause()
        assert names(table)[0] == "mnist-cnn-1"
        await pilot.press("s")  # key sorting: next column after test acc
        assert app.screen.sort_key == "duration"

        await pilot.press("slash")
        assert isinstance(app.screen.focused, Input)
        await pilot.press(*"val_accuracy > 0.95 and dataset == mnist")
        await pilot.pause()
        assert names(table) == ["mnist-cnn-1"]
        await pilot.press("enter")  # back to the table
        assert app.screen.focused is table

        app.screen.query_one(Input).value = "val_accuracy >"
        await pilot.pause()
        status = str(app.screen.query_one("#runs-status").render())
        assert "filter: expected a value after '>'" in status

        app.screen.query_one(Input).value = "dataset == mnist"
        await pilot.pause()
        ncols = len(table.columns)
        await pilot.press("h")
        assert [c.label for c in table.columns[ncols:]] == ["learning_rate"]


async def test_detail_shows_curves_and_saves_notes_then_archives(logdir):
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        screen = app.screen
        table = screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 4)
        app.screen.query_one(Input).value = "fashion"
        await pilot.pause()
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        detail = app.screen
        await until(pilot, lambda: set(detail._plots) == {"loss", "accuracy"})
        assert "fashion-cnn-1" in str(detail.query_one("#detail-title").render())
        assert "learning_rate" in str(detail.query_one("#config-text").render())

        detail.query_one("#detail-tabs").active = "tab-notes"
        await pilot.pause()
        run_dir = logdir / "fashion-cnn-1"
        (run_dir / "notes.md").write_bytes(b"kept\tas\r\nwritten\n")  # (read when the tab was made)
        detail.query_one("#tags-input", Input).value = "first"
        await pilot.press("ctrl+s")  # tags saved; the notes, unedited, are not rewritten
        assert (run_dir / "notes.md").read_bytes() == b"kept\tas\r\nwritten\n"
        detail.query_one("#notes-area", TextArea).text = "too slow; try lr 3e-3"
        detail.query_one("#tags-input", Input).value = "baseline, slow"
        await pilot.press("ctrl+s")
        assert (run_dir / "notes.md").read_text() == "too slow; try lr 3e-3\n"
        assert (run_dir / "tags.json").read_text().strip() == '["baseline", "slow"]'

        await pilot.click("#archive-run")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ConfirmScreen")
        await pilot.click("#confirm-yes")
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        assert not run_dir.exists() and (logdir / ".archive" / "fashion-cnn-1").is_dir()
        app.screen.query_one(Input).value = ""
        await until(pilot, lambda: table.row_count == 3)


async def test_compare_marked_runs(logdir):
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 4)
        app.screen.query_one(Input).value = "dataset == mnist"
        await pilot.pause()
        table.focus()
        table.move_cursor(row=0)
        await pilot.press("space", "space", "c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        await until(pilot, lambda: len(compare.curves) == 2)
        series, notes, xlabel = compare.series()
        assert compare.metric == "val_accuracy" and len(series) == 2 and not notes and xlabel == "epoch"
        raw = compare.curves[str(logdir / "mnist-cnn-1")].curves["val_accuracy"].values
        assert series[0][2] != raw  # smoothed by default (0.6)
        await pilot.press("minus", "minus", "minus")
        assert compare.smoothing == 0.0 and compare.series()[0][0][2] == raw
        await pilot.press("x", "l", "m")
        assert compare.x_axis == "step" and compare.logy and compare.metric != "val_accuracy"
        settings = str(compare.query_one("#compare-settings").render())
        assert "x step" in settings and "log y" in settings
        diff = compare.query_one("#hparam-diff", LineTable)
        assert [str(diff.get_row_at(i)[0]) for i in range(diff.row_count)] == ["learning_rate"]
        await pilot.press("escape")
        assert isinstance(app.screen, RunsBrowserScreen)


FOLLOW_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from keraslab.core.rundir.writer import RunWriter
    root = Path(sys.argv[1])
    run = root / "live-1"
    run.mkdir()
    w = RunWriter(run)
    w.write_config({"run": {"dataset": "digits", "model": "mlp", "epochs": 3}})
    w.start(epochs=3)
    for e in range(1, 4):
        w.log_epoch(e, {"loss": 1.0 / e, "val_accuracy": 0.5 + e / 10})
        ack = root.parent / f"ack-{e}"
        while not ack.exists():
            time.sleep(0.01)
    w.finish("completed")
    w.close()
    """
)


async def test_follow_updates_a_row_while_another_process_trains(logdir, tmp_path):
    app = BrowseApp([logdir], interval=0.05)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 4)
        child = subprocess.Popen([sys.executable, "-c", FOLLOW_CHILD, str(logdir)])
        try:
            key = str(logdir / "live-1")

            def cells():
                try:
                    return [str(c) for c in table.get_row(key)]
                except Exception:
                    return None

            for epoch in (1, 2, 3):
                try:
                    await until(pilot, lambda e=epoch: (cells() or [""] * 7)[5] == f"{e}/3", tries=2000)
                except AssertionError:
                    raise AssertionError(f"epoch {epoch}: {cells()} rows={table.row_count} child={child.poll()}") from None
                assert cells()[1] == "running"
                assert cells()[6] == f"{0.5 + epoch / 10:.4f}"
                (tmp_path / f"ack-{epoch}").touch()
            await until(pilot, lambda: (cells() or [""] * 2)[1] == "completed", tries=2000)
            assert table.row_count == 5
        finally:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=10)


def test_detail_charts_come_in_reading_order():
    from keraslab.tui.screens.run_detail import curve_groups

    groups = curve_groups(["batch/loss", "val_accuracy", "learning_rate", "accuracy", "val_loss", "loss"])
    assert list(groups) == ["loss", "accuracy", "learning_rate", "batch/loss"]
    assert groups["loss"] == ["loss", "val_loss"] and groups["accuracy"] == ["accuracy", "val_accuracy"]


async def test_cached_table_shows_before_the_scan_ends(logdir, monkeypatch):
    import threading

    from keraslab.core import discover_runs
    from keraslab.core.browse.discovery import RunWatcher

    assert len(discover_runs(logdir)) == 4  # writes the summary cache
    release = threading.Event()
    scan = RunWatcher.scan

    def slow_scan(self, progress=None, **kw):
        release.wait(30)  # the scan of the files has not finished
        return scan(self, progress, **kw)

    monkeypatch.setattr(RunWatcher, "scan", slow_scan)
    app = BrowseApp([logdir], interval=0.1)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
            table = app.screen.query_one(LineTable)
            assert table.row_count == 4 and app.screen.scans == 0  # from the cache alone
            release.set()
            await until(pilot, lambda: app.screen.scans >= 1)
            assert table.row_count == 4
    finally:
        release.set()


async def test_a_first_scan_fills_the_table_as_it_reads(tmp_path, monkeypatch):
    """No cache: the runs show a hundred at a time while the scan goes on."""
    import threading

    from browse_helpers import keras_tb_run
    from keraslab.core.browse import discovery

    for i in range(150):
        keras_tb_run(tmp_path / f"run{i:03d}", epochs=2)
    monkeypatch.setattr(discovery, "PROGRESS_EVERY", 0.0)
    release = threading.Event()
    refresh = discovery._refresh
    calls = []

    def held(states):
        calls.append(len(states))
        if len(calls) == 3:  # (1: known runs, 2: the first hundred new ones, 3: the rest)
            release.wait(30)
        return refresh(states)

    monkeypatch.setattr(discovery, "_refresh", held)
    app = BrowseApp([tmp_path], interval=0.1, use_cache=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
            table = app.screen.query_one(LineTable)
            await until(pilot, lambda: table.row_count == 100)
            assert "scanning for more" in str(app.screen.query_one("#runs-status").render())
            release.set()
            await until(pilot, lambda: table.row_count == 150)
            await until(pilot, lambda: "scanning" not in str(app.screen.query_one("#runs-status").render()))
    finally:
        release.set()


@pytest.mark.parametrize("standalone", [True, False])
async def test_footer_at_80_columns_shows_whole_keys_and_help_lists_the_browser_keys(logdir, standalone):
    """At 80x24 the browser's keys do not all fit: whole keys only (none cut), the help
    key kept; F1 opens the help, which has the browser's keys (`keraslab browse` too)."""
    app = BrowseApp([logdir], follow=False) if standalone else KeraslabApp(logdir=logdir)
    async with app.run_test(size=(80, 24)) as pilot:
        if not standalone:
            await until(pilot, lambda: type(app.screen).__name__ == "LaunchScreen")
            await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        await pilot.pause(0.2)
        footer = app.screen.query_one(KeyFooter)
        line = footer.render().plain.rstrip()
        assert len(line) <= 80 and line.startswith("/ Filter space Mark c Compare")
        assert line.endswith(" Help") and line.rpartition(" ")[0].endswith(("F1", "f1"))
        assert "q Quit" not in line and " q f1" not in line.lower()  # dropped whole, not cut to "q"
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = help_text()
        assert "## Runs browser" in text and "| `h` | hyperparameter columns" in text
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))


async def test_escape_quits_keraslab_browse_and_goes_back_in_the_app(logdir):
    app = BrowseApp([logdir], follow=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        assert len(app.screen_stack) == 1  # the browser is the app's own screen
        await pilot.press("escape")
        await pilot.pause()
        assert app.return_code == 0  # quit: no blank screen left behind
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: type(app.screen).__name__ == "LaunchScreen")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "LaunchScreen")
        assert app.return_code is None
