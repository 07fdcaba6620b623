"""The sweep screen driven by Pilot: from the runs browser, a sweep ranked with its strip charts."""

from __future__ import annotations

import json
from pathlib import Path

from browse_helpers import keraslab_run
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens.runs_browser import RunsBrowserScreen
from keraslab.tui.screens.sweep_view import SweepScreen
from keraslab.tui.widgets.line_table import LineTable
from sweep_helpers import sweep_with_runs
from test_browser_screens import until
from textual.widgets import Static

SIZE = (120, 40)


async def test_w_opens_the_sweep_of_the_run_under_the_cursor_ranked(tmp_path: Path):
    logdir = tmp_path / "runs"
    sweep = sweep_with_runs(logdir, {0: 0.5, 2: 0.9})
    keraslab_run(logdir, "other")
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        browser = app.screen
        table = browser.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 3)
        row = next(i for i in range(table.row_count) if "digits-cnn-p2" in str(table.get_row_at(i)[0]))
        table.move_cursor(row=row)
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))
        screen = app.screen
        ranked = screen.query_one(LineTable)
        await until(pilot, lambda: ranked.row_count == 3)
        cells = [[str(c).strip() for c in ranked.get_row_at(i)] for i in range(3)]
        assert [(c[1], c[2], c[3]) for c in cells] == [("2", "0.001", "done"), ("0", "0.1", "done"), ("1", "0.01", "pending")]
        title = str(screen.query_one("#sweep-title", Static).render())
        assert sweep.id in title and "2 done" in title and "ranked by val_accuracy" in title
        strips = str(screen.query_one("#sweep-strips", Static).render())
        assert "val_accuracy by learning_rate" in strips and "keraslab train --lr 0.001" in strips
        await pilot.press("m")
        await until(pilot, lambda: "ranked by accuracy" in str(screen.query_one("#sweep-title", Static).render()))
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is browser)


async def test_S_without_a_sweep_says_so(tmp_path: Path):
    logdir = tmp_path / "runs"
    keraslab_run(logdir, "other")
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        await pilot.press("S")
        await until(pilot, lambda: isinstance(app.screen, SweepScreen))
        title = app.screen.query_one("#sweep-title", Static)
        await until(pilot, lambda: "no sweeps in" in str(title.render()))


# --- the launch screen's sweep dialog ------------------------------------------------------


async def _open_dialog(app, pilot):
    from keraslab.tui.screens.launch import LaunchScreen
    from keraslab.tui.screens.sweep_launch import SweepLaunchScreen

    await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
    app.screen.query_one("#datasets").focus()
    await pilot.press("w")
    await until(pilot, lambda: isinstance(app.screen, SweepLaunchScreen))
    return app.screen


async def test_sweep_dialog_previews_and_cancels_without_writing(tmp_path: Path):
    from keraslab.tui.app import KeraslabApp

    logdir = tmp_path / "runs"
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(app, pilot)
        preview = dialog.query_one("#sweep-preview", Static)
        await pilot.press(*"1e-3,fast")
        await until(pilot, lambda: "'fast' is not a number" in str(preview.render()))
        for _ in range(4):
            await pilot.press("backspace")
        await pilot.press(*"1e-2")
        await until(pilot, lambda: "2 points (learning_rate)" in str(preview.render()))
        assert "digits-avgpool-p0, digits-avgpool-p1" in str(preview.render())
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, type(dialog)))
    assert not (logdir / "sweeps").exists()


async def test_sweep_dialog_starts_the_points_in_the_background(tmp_path: Path, monkeypatch):
    from keraslab.tui.app import KeraslabApp
    from keraslab.tui.screens import sweep_launch

    started = []
    monkeypatch.setattr(sweep_launch, "start_local", lambda sweep, n: started.append((sweep.id, n)))
    logdir = tmp_path / "runs"
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(app, pilot)
        dialog.query_one("#sweep-option").value = "seed"
        await pilot.press(*"0..2")
        dialog.query_one("#sweep-extra").value = "2"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: not isinstance(app.screen, type(dialog)))
    ((sweep_id, parallel),) = started
    assert parallel == 2
    sweep = json.loads((logdir / "sweeps" / f"{sweep_id}.json").read_text())
    assert [p["values"] for p in sweep["points"]] == [{"seed": 0}, {"seed": 1}, {"seed": 2}]
    assert json.loads((logdir / "sweeps" / sweep_id / "points" / "2.json").read_text())["seed"] == 2
