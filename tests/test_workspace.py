"""The metrics workspace driven by Pilot: mark runs, press w, page through every metric,
resize the grid, read every run's value at the cursor, pin a run, toggle the overview."""

from __future__ import annotations

import pytest
from browse_helpers import keraslab_run
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens.compare import CompareScreen
from keraslab.tui.screens.runs_browser import RunsBrowserScreen
from keraslab.tui.screens.workspace import WorkspaceScreen, metric_order, value_at
from keraslab.tui.widgets.line_table import LineTable
from keraslab.tui.widgets.metric_grid import MetricChart
from keraslab.tui.widgets.run_colours import run_colour
from test_browser_screens import until

SIZE = (140, 40)


def test_metrics_come_in_reading_order_and_the_cursor_reads_the_last_point_before_it():
    names = ["val_accuracy", "batch/loss", "lr", "accuracy", "val_loss", "loss"]
    assert sorted(names, key=metric_order) == ["loss", "val_loss", "accuracy", "val_accuracy", "lr", "batch/loss"]
    assert value_at([1, 2, 3], [0.5, 0.4, 0.3], 2.5) == 0.4 and value_at([1, 2], [0.5, 0.4], 0.5) is None


@pytest.fixture
def logdir(tmp_path):
    root = tmp_path / "runs"
    keraslab_run(root, "mnist-a", lr=1e-3, peak=0.99)
    keraslab_run(root, "mnist-b", lr=1e-2, peak=0.90)
    return root


async def test_workspace_grid_pages_cursor_pin_and_overview(logdir):
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        table = app.screen.query_one(LineTable)
        await until(pilot, lambda: table.row_count == 2)
        table.focus()
        await pilot.press("space", "space", "w")
        await until(pilot, lambda: isinstance(app.screen, WorkspaceScreen))
        ws = app.screen
        await until(pilot, lambda: bool(ws.curves) and len(ws.curves) == 2)
        assert len(ws.runs) == 2 and ws.metrics[:4] == ["loss", "val_loss", "accuracy", "val_accuracy"]
        charts = list(ws.query(MetricChart))
        assert len(charts) == 4 and [c.metric for c in charts] == ws.metrics[:4]
        assert all(len(c.series) == 2 for c in charts)  # both runs on every chart
        # one colour per run, the same in every chart and in the compare screen
        colours = {r.name: run_colour(str(r.path)) for r in ws.runs}
        assert len(set(colours.values())) == 2
        assert all({label: colour for label, _, _, colour in c.series} == colours for c in charts)

        pages = ws.pages
        await pilot.press("minus", "minus")  # 1x1: one chart a page
        assert len(list(ws.query(MetricChart))) == 1 and ws.pages == len(ws.metrics) >= pages
        await pilot.press("pagedown")
        assert ws.query_one(MetricChart).metric == ws.metrics[1]
        await pilot.press("pageup", "plus", "plus")
        assert len(list(ws.query(MetricChart))) == 4

        await pilot.press("right", "right")  # the cursor reads each run's value at one x
        readout = str(ws.query_one("#ws-readout").render())
        assert readout.startswith("loss at epoch") and "mnist-a" in readout and "mnist-b" in readout
        assert all(c.cursor_x is not None for c in ws.query(MetricChart))
        await pilot.press("down")  # the next chart: val_loss
        assert str(ws.query_one("#ws-readout").render()).startswith("val_loss at")
        await pilot.click(MetricChart, offset=(20, 5))  # a click selects the chart under it
        assert ws.selected == 0

        await pilot.press("r", "p")  # pin the second run: drawn last (on top), starred
        assert ws.pinned == str(ws.runs[1].path)
        first = ws.query_one(MetricChart)
        assert first.series[-1][0] == "* mnist-b-1" and first.series[-1][3] == colours["mnist-b-1"]
        assert "pinned mnist-b-1" in str(ws.query_one("#ws-status").render())
        overview = str(ws.query_one("#ws-overview-text").render())
        assert "mnist-b" in overview and "learning_rate" in overview and "Summary" in overview

        await pilot.press("o")
        assert not ws.query_one("#ws-overview").display
        await pilot.press("l", "x", "s")
        assert ws.logy and ws.x_axis == "step" and ws.smoothing > 0
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        await until(pilot, lambda: bool(compare.curves))
        plot = compare.query_one("#compare-plot")
        assert {label: colour for label, _, _, colour in plot.series} == colours
