"""Training through the app (real Keras on the bundled digits data): curves, stop, queue, quit."""

from __future__ import annotations

import json

import pytest
from keraslab.tui.app import KeraslabApp
from keraslab.tui.screens.confirm import ConfirmScreen
from keraslab.tui.screens.launch import LaunchScreen
from keraslab.tui.screens.training import TrainingScreen
from keraslab.tui.widgets.curves import CurvePlot
from keraslab.tui.widgets.layer_table import LayerTable
from keraslab.tui.widgets.settings_form import SettingsForm
from textual.widgets import Input

pytestmark = pytest.mark.slow

STEPS = 3000  # loop guard for waits (x 0.1 s); a wait that runs out fails with a clear message


async def wait_until(pilot, condition, what: str) -> None:
    for _ in range(STEPS):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for: {what}")


async def configure(pilot, app: KeraslabApp, **settings: str) -> LaunchScreen:
    screen = app.screen
    assert isinstance(screen, LaunchScreen)
    await wait_until(pilot, lambda: screen.query_one(SettingsForm).ready, "the settings fields")
    for key, value in settings.items():
        screen.query_one(f"#set-{key}", Input).value = value
    await pilot.pause()
    assert screen.can_train, screen.settings_errors
    screen.query_one(LayerTable).focus()
    return screen


async def start_long_run(pilot, app: KeraslabApp):
    """Start a 500-epoch run and wait until its first batches are in."""
    await configure(pilot, app, epochs="500", batch_size="8")
    await pilot.press("t")
    state = app.runs[0]
    await wait_until(pilot, lambda: state.progress is not None, "the first batches")
    return state


def status_of(run_dir) -> str:
    return json.loads((run_dir / "status.json").read_text())["status"]


async def test_train_one_short_epoch_and_see_curves_and_result(logdir):
    app = KeraslabApp(logdir=logdir, progress_interval=0.0)
    async with app.run_test(size=(120, 36)) as pilot:
        await configure(pilot, app, epochs="2", batch_size="32")
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TrainingScreen)
        state = app.runs[0]
        await wait_until(pilot, lambda: state.finished is not None, "the run to finish")
        await pilot.pause(0.5)
        assert state.status == "completed", state.finished
        assert [e.epoch for e in state.epochs] == [1, 2]
        assert state.device
        train, val = state.curve("loss")
        assert any(0 < x < 1 for x, _ in train)  # points within the first epoch
        assert [x for x, _ in val] == [1.0, 2.0]
        plot = app.screen.query_one("#loss-plot", CurvePlot)
        assert plot.points_drawn >= len(val) + 2
        result = str(app.screen.query_one("#run-result").render())
        assert "completed" in result and "test:" in result and "best epoch" in result
        assert app.screen.query_one("#epoch-table").row_count == 2
        assert status_of(state.run_dir) == "completed"
        assert state.run_dir.parent == logdir

        await pilot.press("escape")  # back to the launch screen; the design is still there
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)
        await pilot.press("v")
        await pilot.pause()
        assert isinstance(app.screen, TrainingScreen)


async def test_stop_a_run_midway_keeps_it_marked_stopped(logdir):
    app = KeraslabApp(logdir=logdir, progress_interval=0.0)
    async with app.run_test(size=(100, 30)) as pilot:
        state = await start_long_run(pilot, app)
        await pilot.press("s")
        await wait_until(pilot, lambda: state.finished is not None, "the run to stop")
        assert state.status == "stopped"
        assert state.finished.epochs_done < 500
        assert status_of(state.run_dir) == "stopped"
        assert app.current is None
        assert "stopped" in str(app.screen.query_one("#run-result").render())


async def test_queue_two_runs_they_run_one_after_another(logdir):
    app = KeraslabApp(logdir=logdir, progress_interval=0.0)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await configure(pilot, app, epochs="500", batch_size="8", name="first")
        await pilot.press("t")
        first = app.runs[0]
        await pilot.press("escape")  # back to the launch screen while the first one trains
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)
        screen.query_one("#set-name", Input).value = "second"
        screen.query_one("#set-epochs", Input).value = "1"
        await pilot.pause()
        assert "Queue" in str(screen.query_one("#train").label)
        screen.query_one(LayerTable).focus()
        await pilot.press("t")  # queued behind the first
        await pilot.pause()
        assert len(app.runs) == 2
        second = app.runs[1]
        assert app.current is first and second.status == "queued"
        await wait_until(pilot, lambda: first.progress is not None, "the first run's batches")
        await pilot.press("v", "s")  # to the training view; stop the first run
        await wait_until(pilot, lambda: second.finished is not None, "the second run to finish")
        assert (first.status, second.status) == ("stopped", "completed")
        assert first.run_dir.name == "first-1" and second.run_dir.name == "second-1"
        assert second.started_at >= first.ended_at
        assert app.current is None


async def test_quitting_while_training_confirms_then_stops_and_saves(logdir):
    app = KeraslabApp(logdir=logdir, progress_interval=0.0)
    async with app.run_test(size=(100, 30)) as pilot:
        state = await start_long_run(pilot, app)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # keep training
        await pilot.pause()
        assert app.current is state and not state.session.stopping
        await pilot.press("ctrl+c")
        await pilot.pause()
        await pilot.press("y")
        await wait_until(pilot, lambda: state.session.done, "the run to stop")
        await pilot.pause(0.2)
    assert app.return_code == 0
    assert state.session.result.status == "stopped"
    assert status_of(state.run_dir) == "stopped"
