"""The architecture sketch: core block diagram, `keraslab sketch` on presets, notation and runs, and the app's dialogs."""

from __future__ import annotations

import re

import pytest
from browse_helpers import keraslab_run
from conftest import run_cli
from keraslab import core
from keraslab.tui.app import KeraslabApp
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.screens.launch import LaunchScreen
from keraslab.tui.screens.run_detail import RunDetailScreen
from keraslab.tui.screens.sketch import SketchScreen


def test_sketch_groups_layers_into_stages_with_shapes_and_parameters():
    preset = core.get_preset("fancy")
    lines = core.sketch_stack(preset.stack, preset.input_shape, preset.num_classes)
    text = "\n".join(lines)
    assert lines[0] == "input 28x28x1"
    titles = re.findall(r"┌─ (\w[\w ]*?) ─", text)
    assert titles == ["stage 1", "stage 2", "stage 3", "classifier"]
    # each box's footer is the sum of its layers; the footers add up to the model's total
    footers = [int(m.replace(",", "")) for m in re.findall(r"─ ([\d,]+) params ─", text)]
    assert sum(footers) == 73_338
    assert "72,890 trainable" in lines[-1]            # the lab's figure
    assert text.count("▼") == len(titles) + 1          # an arrow into every box and out of the last
    assert "│ maxpool2  14x14x16" in text
    widths = {len(line) for line in lines if line[:1] in "┌│└"}
    assert len(widths) == 1                            # boxes are closed rectangles


def test_ascii_sketch_and_augmentation_stage():
    stack = core.parse_stack("rotate0.1-zoom0.1 | conv8k3-relu-maxpool2 | flatten-out-softmax")
    lines = core.sketch_stack(stack, (8, 8, 1), 10, ascii=True)
    text = "\n".join(lines)
    assert all(ord(ch) < 128 for ch in text)
    assert re.findall(r"\+- (\w[\w ]*?) -", text) == ["augmentation", "stage 1", "classifier"]


def test_cli_sketch_of_a_preset_notation_and_run(tmp_path):
    res = run_cli("sketch", "cnn")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("cnn\ninput 28x28x1\n") and "147,274 parameters" in res.stdout
    res = run_cli("sketch", "conv8k3-relu-flatten-out-softmax", "--dataset", "digits", "--ascii")
    assert res.returncode == 0 and "input 8x8x1" in res.stdout and "| conv8k3" in res.stdout
    logdir = tmp_path / "runs"
    run = keraslab_run(logdir, "digits-cnn")
    res = run_cli("sketch", "digits-cnn", "--logdir", str(logdir))  # the helper records no model yet
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "no model" in res.stderr
    res = run_cli("sketch", "nothing-like-this", "--logdir", str(logdir))
    assert res.returncode == 1 and "neither a run nor a layer stack" in res.stderr
    assert run.is_dir()


@pytest.mark.slow
def test_cli_sketch_of_a_real_run_uses_its_recorded_stack_and_dataset(tmp_path):
    res = run_cli("train", "--dataset", "digits", "--model", "avgpool", "--epochs", "1", "--limit", "100",
                  "--logdir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    res = run_cli("sketch", "digits-avgpool", "--logdir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "input 8x8x1" in res.stdout and "conv32k3:relu" in res.stdout


async def test_launch_screen_k_shows_the_sketch_of_the_stack_being_designed(tmp_path):
    app = KeraslabApp(logdir=tmp_path / "runs")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)
        app.screen.set_focus(None)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, SketchScreen)
        text = str(app.screen.query_one("#sketch-text").render())
        assert "input 8x8x1" in text and "params" in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)


async def open_detail(app, pilot, run) -> None:
    """The run detail of ``run`` on top of the browser, with no field focused (keys go to it)."""
    await pilot.pause()
    await app.push_screen(RunDetailScreen(run, follow=False))
    await pilot.pause()
    app.screen.set_focus(None)


async def test_run_detail_k_shows_a_runs_sketch_or_why_not(tmp_path):
    run = keraslab_run(tmp_path / "runs", "digits-cnn")
    app = BrowseApp([tmp_path / "runs"], interval=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_detail(app, pilot, run)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, SketchScreen)
        assert "no model" in str(app.screen.query_one("#sketch-text").render())
