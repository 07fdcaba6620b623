"""The training view's system panel under system samples (no TensorFlow): GPUs, the input-bound hint, CPU only."""

from __future__ import annotations

from keraslab import core
from keraslab.tui.app import KeraslabApp
from keraslab.tui.widgets.system_panel import SystemPanel, sparkline
from test_app_training_view import batch, fake_run, post


def gpu_sample(t: float, *utils: float) -> core.SystemSample:
    values = {"system/cpu_percent": 90.0, "system/rss_mb": 2048.0}
    for i, util in enumerate(utils):
        values[f"system/gpu{i}/util_percent"] = util
        values[f"system/gpu{i}/memory_used_mb"] = 6144.0
        values[f"system/gpu{i}/memory_total_mb"] = 16384.0
    return core.SystemSample(t, values)


def panel_text(app) -> str:
    return app.screen.query_one(SystemPanel).render().plain


async def test_one_line_per_gpu_and_a_hint_when_they_sit_idle_while_training(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(140, 36)) as pilot:
        await fake_run(app, pilot, tmp_path / "run-1")
        post(app, batch(0, 10))
        for t in range(3):
            post(app, gpu_sample(2.0 * t, 95.0, 90.0))
            await pilot.pause()
        lines = panel_text(app).splitlines()
        assert [line.split()[0] for line in lines] == ["gpu0", "gpu1"]
        assert "95%" in lines[0] and "mem 6.0/16 GB" in lines[0]
        assert "input-bound" not in panel_text(app)

        for t in range(3, 6):  # the GPUs starve: the hint appears
            post(app, gpu_sample(2.0 * t, 10.0, 20.0))
            await pilot.pause()
        assert "input-bound" in panel_text(app)
        assert app.screen.query_one(SystemPanel).size.height == 3

        post(app, gpu_sample(12.0, 97.0))  # gpu1 fell off the bus: its line goes
        await pilot.pause()
        lines = panel_text(app).splitlines()
        assert [line.split()[0] for line in lines if line.startswith("gpu")] == ["gpu0"]


async def test_without_a_gpu_the_panel_quietly_shows_cpu_and_memory(logdir, tmp_path):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(140, 36)) as pilot:
        await fake_run(app, pilot, tmp_path / "run-1")
        assert panel_text(app) == ""
        post(app, batch(0, 10))
        for t in range(4):
            post(app, gpu_sample(2.0 * t))
        await pilot.pause()
        text = panel_text(app)
        assert text == "cpu 90%  rss 2,048 MB"
        assert "gpu" not in text and "input-bound" not in text


def test_sparkline_scales_to_the_top():
    assert sparkline([0, 50, 100]) == "▁▅█"


async def test_launch_settings_take_device_and_precision_and_lint_says_when_they_do_not_help(logdir):
    from keraslab.tui.screens.launch import LaunchScreen
    from textual.widgets import Input

    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=(120, 50)) as pilot:
        screen = app.screen
        assert isinstance(screen, LaunchScreen)
        await pilot.pause()
        await pilot.pause()
        screen.query_one("#set-device", Input).value = "gpu:x"
        await pilot.pause()
        assert "device" in screen.settings_errors and screen.build_config() is None
        screen.query_one("#set-device", Input).value = "cpu"
        screen.query_one("#set-precision").value = "mixed_bfloat16"
        screen.query_one("#set-gpu_memory_limit", Input).value = "2048"
        screen.query_one("#set-steps_per_execution", Input).value = "8"
        await pilot.pause()
        assert screen.settings_errors == {}
        assert any(f.code == "mixed-precision-cpu" for f in screen.findings)
        config = screen.build_config()
        assert (config.device, config.precision, config.gpu_memory_limit, config.jit_compile,
                config.steps_per_execution) == ("cpu", "mixed_bfloat16", 2048, "auto", 8)
        screen.query_one("#set-device", Input).value = ""  # empty: the default
        await pilot.pause()
        assert screen.build_config().device == "auto"


def run_with_system_metrics(logdir):
    """A finished keraslab run written by the real writer, with samples of two (fake) GPUs."""
    from fake_nvml import FakeNvml
    from keraslab.core.rundir.writer import RunWriter, create_run_dir
    from keraslab.core.system.devices import DevicePlan
    from keraslab.core.system.nvml import visible_gpus
    from keraslab.core.train.sysmetrics import recording

    run_dir = create_run_dir(logdir, "digits-cnn")
    writer = RunWriter(run_dir)
    writer.write_config({"run": core.RunConfig().to_dict()})
    writer.start(epochs=2)
    fake = FakeNvml([{"util": 88}, {"util": 91}])
    with recording(writer, lambda e: None, DevicePlan("gpu", (0, 1), 2), visible_gpus(fake, env={}),
                   interval=60, nvml=fake):  # fmt: skip
        writer.log_epoch(1, {"loss": 1.0, "val_loss": 1.1})
        writer.log_epoch(2, {"loss": 0.5, "val_loss": 0.7})
    writer.finish("completed")
    writer.close()
    return run_dir


async def test_run_detail_has_a_system_tab_with_the_curves(tmp_path):
    from keraslab.tui.browse_app import BrowseApp
    from keraslab.tui.screens.run_detail import RunDetailScreen
    from keraslab.tui.widgets.curves import CurvePlot

    run_dir = run_with_system_metrics(tmp_path / "runs")
    app = BrowseApp([tmp_path / "runs"], interval=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        detail = RunDetailScreen(run_dir, follow=False)
        app.push_screen(detail)
        for _ in range(200):
            if "system/gpu1/util_percent" in detail._plots:
                break
            await pilot.pause(0.05)
        system = detail.query_one("#system-curves")
        titles = {t for t, p in detail._plots.items() if p in system.query(CurvePlot)}
        assert "system/gpu0/util_percent" in titles and "system/gpu1/memory_used_mb" in titles
        assert "loss" in detail._plots and "loss" not in titles  # epoch curves stay on the Curves tab
        assert not detail.query("#system-empty")
        detail.query_one("#detail-tabs").active = "tab-system"
        await pilot.pause()


def test_keraslab_show_prints_peak_and_mean_of_each_system_metric(tmp_path):
    from conftest import run_cli

    run_dir = run_with_system_metrics(tmp_path / "runs")
    out = run_cli("show", str(run_dir), "--no-plot")
    assert out.returncode == 0, out.stderr
    table = out.stdout.split("system (sampled while training)")[1]
    row = next(line for line in table.splitlines() if line.startswith("gpu1/util_percent"))
    assert row.split()[1:] == ["91.0", "91.0", "2"]
