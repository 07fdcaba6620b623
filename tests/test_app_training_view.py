"""The training view under a stream of events, without TensorFlow: what it redraws and when.

Events are the session's own dataclasses, posted the way the app's listener posts them from
the training thread, so these tests pin how cheap the view stays while a model trains (no
footer rebuilds, no work while hidden, curve redraws within a budget) and what it shows.
"""

from __future__ import annotations

from pathlib import Path

from keraslab import core
from keraslab.tui.app import KeraslabApp
from keraslab.tui.messages import TrainingEvent
from keraslab.tui.screens import training as training_module
from keraslab.tui.screens.launch import LaunchScreen
from keraslab.tui.screens.training import QueuedRun, TrainingScreen
from keraslab.tui.widgets.curves import CurvePlot
from keraslab.tui.widgets.footer import FooterItem, KeyFooter
from keraslab.tui.widgets.line_table import LineTable
from keraslab.tui.widgets.progress_panel import ProgressPanel

EPOCHS, BATCHES = 20, 100


def batch(epoch: int, b: int) -> core.BatchProgress:
    return core.BatchProgress(epoch=epoch, epochs=EPOCHS, batch=b, batches=BATCHES,
                              logs={"loss": 1.0 / (b + 1), "accuracy": 0.5}, elapsed=1.0 + b,
                              samples_per_second=1234.0)


def epoch_end(epoch: int) -> core.EpochEnd:
    return core.EpochEnd(epoch=epoch, epochs=EPOCHS, logs={"loss": 0.5, "accuracy": 0.8,
                         "val_loss": 0.6, "val_accuracy": 0.7}, elapsed=2.0, improved=True)


async def fake_run(app: KeraslabApp, pilot, run_dir: Path) -> QueuedRun:
    """A run the app believes is training, on the training screen, with no session behind it."""
    config = core.RunConfig(dataset="digits", model="cnn", epochs=EPOCHS).validate()
    state = QueuedRun(1, config)
    state.status = "running"
    app.runs.append(state)
    app.current = state
    app.install_screen(TrainingScreen(), "training")
    await app.push_screen("training")
    post(app, core.Started(run_dir=run_dir, device="CPU", params=1000, epochs=EPOCHS,
                           steps_per_epoch=BATCHES, train_samples=BATCHES * 32))
    await pilot.pause()
    return state


def post(app: KeraslabApp, event: core.SessionEvent) -> None:
    app.post_message(TrainingEvent(1, event))


def footer_keys(screen) -> tuple[FooterItem, ...]:
    return screen.query_one(KeyFooter).items


def stop_key(keys: tuple[FooterItem, ...]) -> FooterItem:
    return next(k for k in keys if k.description == "Stop run")


async def test_footer_is_rebuilt_only_when_the_keys_change(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        await fake_run(app, pilot, tmp_path / "run-1")
        screen = app.screen
        footer = screen.query_one(KeyFooter)
        keys, builds = footer_keys(screen), footer.builds
        assert stop_key(keys).enabled
        assert "Stop run" in footer.render().plain
        for e in range(3):  # progress, epoch ends, status refreshes and a screen switch
            for b in range(0, BATCHES, 25):
                post(app, batch(e, b))
            post(app, epoch_end(e + 1))
            await pilot.pause()
        app.refresh_status()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("v")
        await pilot.pause()
        assert app.screen is screen
        assert footer_keys(screen) == keys and footer.builds == builds  # never rebuilt

        post(app, core.Finished(status="completed", run_dir=tmp_path / "run-1", epochs_done=3,
                                elapsed=6.0, best_epoch=3, test={"accuracy": 0.9}, reason=None))
        await pilot.pause()
        await pilot.pause()
        after = footer_keys(screen)
        assert footer.builds == builds + 1  # stop is no longer available: the footer did change
        assert not stop_key(after).enabled


async def test_footer_is_one_widget_built_once_at_start_and_clickable(logdir):
    """Every bindings change at start-up signals the footer; it builds its line once, has
    no child widgets, and a click on a key presses that key."""
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.pause(0.3)
        footer = app.screen.query_one(KeyFooter)
        assert [k.description for k in footer.items][:1] == ["Train"]
        assert footer.builds == 1 and not footer.children
        line = footer.render().plain
        assert "^p palette" in line.lower() or "palette" in line.lower()
        x = line.index(" r Runs")
        await pilot.click(KeyFooter, offset=(x + 2, 0))
        await pilot.pause()
        await pilot.pause(0.2)
        assert type(app.screen).__name__ == "RunsBrowserScreen"


async def test_hidden_training_view_catches_up_when_shown_again(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        state = await fake_run(app, pilot, tmp_path / "run-1")
        screen = app.screen
        post(app, epoch_end(1))
        await pilot.pause()
        table = screen.query_one("#epoch-table", LineTable)
        first_cell = table.get_row_at(0)[0]
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)
        for e in (2, 3):
            post(app, batch(e - 1, 50))
            post(app, epoch_end(e))
        await pilot.pause()
        assert len(state.epochs) == 3  # the app kept the events...
        assert table.row_count == 1  # ...and the hidden screen drew none of them
        assert "epoch 3/20" in app.screen.query_one("#launch-status").render().plain

        await pilot.press("v")
        await pilot.pause()
        await pilot.pause()
        assert table.row_count == 3
        assert table.get_row_at(0)[0] is first_cell  # added to, not rebuilt
        assert screen.query_one("#loss-plot", CurvePlot).points_drawn >= 3


async def test_a_run_that_ran_while_the_view_was_hidden_is_what_it_shows_next(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        first = await fake_run(app, pilot, tmp_path / "run-1")
        screen = app.screen
        post(app, core.Finished(status="completed", run_dir=tmp_path / "run-1", epochs_done=1))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        second = QueuedRun(2, first.config)
        second.status = "running"
        app.runs.append(second)
        app.current = second
        for event in (core.Started(run_dir=tmp_path / "run-2", device="CPU", params=1000, epochs=EPOCHS,
                                   steps_per_epoch=BATCHES, train_samples=BATCHES * 32),  # fmt: skip
                      epoch_end(1), core.Finished(status="stopped", run_dir=tmp_path / "run-2", epochs_done=1)):
            app.post_message(TrainingEvent(2, event))
        await pilot.pause()
        assert app.current is None and screen.state is first  # hidden: nothing drawn
        await pilot.press("v")
        await pilot.pause()
        assert app.screen is screen and screen.state is second
        assert "run-2" in screen.query_one("#run-title").render().plain
        assert screen.query_one("#epoch-table", LineTable).row_count == 1


async def test_progress_panel_shows_position_eta_rate_and_bar(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(100, 30)) as pilot:
        await fake_run(app, pilot, tmp_path / "run-1")
        post(app, batch(1, 50))  # epoch 2 of 20, half way: 150 of 2000 batches
        await pilot.pause()
        panel = app.screen.query_one(ProgressPanel)
        assert panel.fraction == 150 / 2000
        line, bar = panel.render().plain.splitlines()
        assert line.startswith("epoch 2/20  batch 50/100  ETA")
        assert "1,234 samples/s" in line
        assert bar.endswith("   8%") and bar.count("━") == panel.content_size.width - 6


async def test_curve_redraws_stay_within_a_cpu_budget(logdir, tmp_path, monkeypatch):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        await fake_run(app, pilot, tmp_path / "run-1")
        screen = app.screen
        plots = list(screen.query(CurvePlot))
        assert all(p.draw_seconds > 0 for p in plots)  # the first drawing was timed

        for p in plots:
            p.draw_seconds = 0.001
        assert screen.plot_interval() == training_module.PLOT_MIN_INTERVAL
        for p in plots:
            p.draw_seconds = 0.03  # 60 ms for both: 3 s apart keeps them to 2% of a core
        assert abs(screen.plot_interval() - 0.06 / training_module.PLOT_BUDGET) < 1e-9
        for p in plots:
            p.draw_seconds = 1.0
        assert screen.plot_interval() == training_module.PLOT_MAX_INTERVAL

        drawn = []
        monkeypatch.setattr(screen, "_draw_plots", lambda: drawn.append(1))
        monkeypatch.setattr(training_module.time, "monotonic", lambda: 1000.0)
        screen._last_plot = 1000.0 - 4.0  # 4 s ago, under the 5 s interval
        screen._plot_dirty = True
        screen._flush_plots()
        assert drawn == []
        screen._last_plot = 1000.0 - 5.0
        screen._flush_plots()
        assert drawn == [1]


class StubSession:
    """Stands in for a training session: records what the app asks of it."""

    done = False
    stopping = False

    def __init__(self) -> None:
        self.asked: list[float] = []

    def give_way(self, seconds: float) -> None:
        self.asked.append(seconds)


async def test_a_key_press_pauses_training_until_the_screen_answered(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        state = await fake_run(app, pilot, tmp_path / "run-1")
        state.session = stub = StubSession()
        await pilot.press("l")  # back to the launch screen
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)
        assert stub.asked[:1] == [app.GIVE_WAY] and stub.asked[-1] == 0  # paused, then let go
        stub.done = True  # a finished run is left alone
        before = len(stub.asked)
        await pilot.press("v")
        await pilot.pause()
        assert len(stub.asked) == before


async def test_footer_fits_a_narrow_terminal_by_dropping_the_palette_and_padding(tmp_path):
    from keraslab.tui.browse_app import BrowseApp

    app = BrowseApp([tmp_path], follow=False)
    async with app.run_test(size=(84, 24)) as pilot:
        await pilot.pause()
        await pilot.pause(0.2)
        line = app.screen.query_one(KeyFooter).render().plain
        assert line.startswith("/ Filter space Mark c Compare") and "palette" not in line
        # 101 columns of keys: whole ones from the end give way (esc Back, q Quit), the help key stays
        assert line.rstrip().lower().endswith("f follow f1 help") and len(line.rstrip()) <= 84
    app = BrowseApp([tmp_path], follow=False)
    async with app.run_test(size=(102, 24)) as pilot:
        await pilot.pause()
        await pilot.pause(0.2)
        line = app.screen.query_one(KeyFooter).render().plain
        assert line.rstrip().lower().endswith("esc back q quit f1 help") and "palette" not in line
    app = BrowseApp([tmp_path], follow=False)
    async with app.run_test(size=(160, 24)) as pilot:
        await pilot.pause()
        await pilot.pause(0.2)
        line = app.screen.query_one(KeyFooter).render().plain
        assert " q Quit " in line and line.rstrip().endswith("palette")
