"""The runs table's `sweep` column (id and point), in `keraslab runs` and the browser: shown, sorted, filtered, and `g`."""

from __future__ import annotations

import json
from pathlib import Path

from browse_helpers import keraslab_run
from conftest import run_cli
from keraslab import core
from keraslab.core import RunConfig
from keraslab.core.rundir.writer import RunWriter, create_run_dir
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens.runs_browser import RunsBrowserScreen
from keraslab.tui.widgets.line_table import LineTable
from test_browser_screens import names, until
from textual.widgets import Input

SIZE = (160, 40)


def _sweep_runs(logdir: Path, points: tuple[int, ...]) -> core.Sweep:
    """A 12-seed sweep whose points ``points`` have finished runs, written by the real run writer."""
    grid = core.make_grid(RunConfig(epochs=1), {"seed": "0..11"})
    sweep = core.create_sweep(core.plan_sweep(logdir, grid, grid.positions(), "keraslab sweep --seed 0..11"))
    for index in points:
        _run(logdir, sweep.points[index].name, sweep.point_config(sweep.points[index]).to_dict())
    return sweep


def _run(logdir: Path, name: str, config: dict) -> Path:
    run = create_run_dir(logdir, name)
    w = RunWriter(run)
    w.write_config({"run": config})
    w.start(epochs=1)
    w.log_epoch(1, {"loss": 1.0, "val_accuracy": 0.5})
    w.finish("completed")
    w.close()
    return run


def _cells(table: LineTable) -> dict[str, str]:
    """Run name -> its sweep cell."""
    keys = [c.key for c in table.columns]
    at = keys.index("sweep")
    return {n: str(table.get_row_at(i)[at]).strip() for i, n in enumerate(names(table))}


def test_runs_shows_sweep_and_point_sorts_by_point_and_filters_alike(logdir: Path):
    sweep = _sweep_runs(logdir, (10, 2, 9))  # (by name, p10 would come before p2)
    keraslab_run(logdir, "other")
    proc = run_cli("runs", "--sort", "sweep", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    header, _, *rows = proc.stdout.splitlines()
    assert header.split()[-1] == "sweep"
    assert [r.split()[0] for r in rows] == ["digits-cnn-p2-1", "digits-cnn-p9-1", "digits-cnn-p10-1", "other-1"]
    assert [r.split()[-2:] for r in rows[:3]] == [[sweep.id, "#2"], [sweep.id, "#9"], [sweep.id, "#10"]]
    assert rows[3].split()[-1] == "-"
    filtered = run_cli("runs", "--filter", f"sweep == {sweep.id} and sweep_point >= 9", "--json", "--logdir", str(logdir))
    assert filtered.returncode == 0, filtered.stderr
    assert sorted((r["sweep"], r["sweep_point"]) for r in json.loads(filtered.stdout)) == [(sweep.id, 9), (sweep.id, 10)]


def test_runs_tree_keeps_to_the_sweep_asked_for(logdir: Path):
    sweep = _sweep_runs(logdir, (1, 2))
    keraslab_run(logdir, "other")
    proc = run_cli("runs", "--tree", "--sweep", sweep.id, "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    assert [r.split()[0] for r in proc.stdout.splitlines()[2:]] == ["digits-cnn-p1-1", "digits-cnn-p2-1"], proc.stdout


def test_a_hostile_sweep_mark_is_shown_visible_and_never_breaks_the_table(logdir: Path):
    _run(logdir, "evil", {**RunConfig().to_dict(), "sweep": {"id": "\x1b[31mred", "point": "x"}})
    _run(logdir, "odd", {**RunConfig().to_dict(), "sweep": ["not", "a", "mark"]})
    proc = run_cli("runs", "--sort", "sweep", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "#" not in proc.stdout  # (a point that is no number is not shown)
    assert [line.split()[0] for line in proc.stdout.splitlines()[2:]] == ["evil-1", "odd-1"]


async def test_browser_sweep_column_sort_and_g_filters_to_the_runs_sweep(tmp_path: Path):
    logdir = tmp_path / "runs"
    sweep = _sweep_runs(logdir, (10, 2, 9))
    other = _sweep_runs(logdir, (0,))
    keraslab_run(logdir, "plain")
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        browser = app.screen
        table = browser.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 5)
        cells = _cells(table)
        assert cells["digits-cnn-p10-1"] == f"{sweep.id} #10" and cells["plain-1"] == "-"
        keys = [c.key for c in table.columns]
        for _ in range(keys.index("sweep") + 1):  # s: the next sort column, up to sweep
            await pilot.press("s")
        await until(pilot, lambda: browser.sort_key == "sweep")
        # each sweep's runs together by point (the older sweep's id sorts first), runs of no sweep last
        assert names(table) == ["digits-cnn-p2-1", "digits-cnn-p9-1", "digits-cnn-p10-1", "digits-cnn-p0-1", "plain-1"]
        table.move_cursor(row=names(table).index("digits-cnn-p9-1"))
        await pilot.press("g")
        box = browser.query_one("#runs-filter", Input)
        await until(pilot, lambda: table.row_count == 3)
        assert box.value == f"sweep == {sweep.id}"
        assert set(names(table)) == {"digits-cnn-p2-1", "digits-cnn-p9-1", "digits-cnn-p10-1"}
        await pilot.press("g")  # again: every run
        await until(pilot, lambda: table.row_count == 5)
        assert box.value == ""
        table.move_cursor(row=names(table).index("digits-cnn-p0-1"))
        await pilot.press("g")
        await until(pilot, lambda: table.row_count == 1)
        assert box.value == f"sweep == {other.id}"
        await pilot.press("g")
        await until(pilot, lambda: table.row_count == 5)
        table.move_cursor(row=names(table).index("plain-1"))
        await pilot.press("g")  # a run of no sweep: a notice, the table as it was
        await pilot.pause(0.2)
        assert box.value == "" and table.row_count == 5
