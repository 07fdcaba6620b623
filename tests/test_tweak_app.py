"""The tweak loop in the app, driven by Pilot: e from the table and the detail, the live diff,
undo/redo/reset, the tree toggle, parent-vs-child compare, a plain Keras run edited, import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browse_helpers import KERAS_JSON, keras_model_run
from keraslab import core
from keraslab.core.rundir.writer import RunWriter, create_run_dir
from keraslab.tui.app import KeraslabApp
from keraslab.tui.screens.compare import CompareScreen
from keraslab.tui.screens.launch import LaunchScreen
from keraslab.tui.screens.run_detail import RunDetailScreen
from keraslab.tui.screens.runs_browser import RunsBrowserScreen
from keraslab.tui.widgets.line_table import LineTable
from keraslab.tui.widgets.settings_form import SettingsForm
from test_browser_screens import until
from textual.widgets import Input

SIZE = (140, 44)
BASE = "flatten-dense64-relu-out-softmax"
CHILD = "flatten-dense64-relu-dropout0.5-out-softmax"


def write_run(logdir: Path, name: str, config: core.RunConfig, peak: float) -> Path:
    """A completed keraslab run written by the real writer."""
    run = create_run_dir(logdir, name)
    w = RunWriter(run)
    w.write_config({"run": config.to_dict(), "model_label": config.model_label})
    w.start(epochs=config.epochs)
    for e in range(1, config.epochs + 1):
        w.log_epoch(e, {"loss": 1 / e, "accuracy": peak * e / config.epochs,
                        "val_loss": 1.1 / e, "val_accuracy": peak * e / config.epochs})  # fmt: skip
    w.finish("completed")
    w.close()
    return run


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    root = tmp_path / "runs"
    base = core.RunConfig(model=BASE, learning_rate=1e-3, batch_size=64, epochs=3, l2=1e-3, seed=5)
    write_run(root, "base", base, 0.90)
    child = core.RunConfig(**{**base.to_dict(), "model": CHILD, "learning_rate": 3e-4})
    child.parent = "base-1"
    child.diff = core.config_diff(base, child).to_dict()
    write_run(root, "child", child, 0.92)
    return root


async def open_browser(app, pilot) -> LineTable:
    await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
    await pilot.press("r")
    await until(pilot, lambda: isinstance(app.screen, RunsBrowserScreen))
    table = app.screen.query_one(LineTable)
    await until(pilot, lambda: table.row_count == 2)
    return table


def row_of(table: LineTable, name: str) -> int:
    return next(i for i in range(table.row_count) if name in str(table.get_row_at(i)[0]))


def panel(screen) -> str:
    return str(screen.query_one("#based-on").render())


async def test_e_in_the_table_loads_the_whole_setup_and_the_diff_follows_each_edit(logdir):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        table = await open_browser(app, pilot)
        table.move_cursor(row=row_of(table, "base-1"))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        screen = app.screen
        assert screen.based_on == ("base", "base-1") or screen.based_on[0] == "base-1"
        assert core.format_stack(screen.stack) == BASE
        values, _ = screen.query_one(SettingsForm).raw_values()
        assert (values["learning_rate"], values["batch_size"], values["seed"], values["epochs"]) == (1e-3, 64, 5, 3)
        await until(pilot, lambda: "Based on base-1" in panel(screen))
        assert "no change yet" in panel(screen)

        screen.query_one("#notation", Input).value = CHILD
        await pilot.pause()
        shown = panel(screen)
        assert "+ dropout0.5" in shown and "params" in shown and "- " not in shown
        screen.query_one("#set-learning_rate", Input).value = "3e-4"
        await until(pilot, lambda: "lr 1e-3 -> 3e-4" in panel(screen))

        config = screen.build_config()
        assert config.parent == "base-1" and config.l2 == 1e-3  # a setting the form does not show, kept
        assert config.diff["summary"] == "lr 1e-3 -> 3e-4; block 1: + dropout0.5"


async def test_e_in_the_detail_then_undo_redo_and_reset(logdir):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        table = await open_browser(app, pilot)
        table.move_cursor(row=row_of(table, "child-1"))
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        screen = app.screen
        assert screen.based_on[0] == "child-1" and core.format_stack(screen.stack) == CHILD
        assert screen.query_one(SettingsForm).raw_values()[0]["learning_rate"] == 3e-4

        notation = screen.query_one("#notation", Input)
        notation.value = "flatten-dense128-relu-dropout0.5-out-softmax"
        await pilot.pause()
        notation.value = "flatten-dense128-relu-out-softmax"
        await pilot.pause()
        await until(pilot, lambda: "dense64 -> dense128" in panel(screen))
        await pilot.press("ctrl+z")
        assert core.format_stack(screen.stack) == "flatten-dense128-relu-dropout0.5-out-softmax"
        await pilot.press("ctrl+z")
        assert core.format_stack(screen.stack) == CHILD
        await pilot.press("ctrl+y")
        assert core.format_stack(screen.stack) == "flatten-dense128-relu-dropout0.5-out-softmax"
        assert notation.value == core.format_stack(screen.stack)

        screen.query_one("#set-batch_size", Input).value = "16"
        await until(pilot, lambda: "batch 64 -> 16" in panel(screen))
        await pilot.press("escape", "ctrl+r")
        await pilot.pause()
        assert core.format_stack(screen.stack) == CHILD
        await until(pilot, lambda: "no change yet" in panel(screen))
        await pilot.press("ctrl+z")  # the reset itself can be undone
        assert core.format_stack(screen.stack) == "flatten-dense128-relu-dropout0.5-out-softmax"


async def test_tree_toggle_and_a_childs_compare_is_parent_vs_child(logdir):
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        table = await open_browser(app, pilot)
        browser = app.screen
        browser.sort_key, browser.sort_reverse = "name", True  # child first, before the tree
        browser._refresh_table()
        assert "child-1" in str(table.get_row_at(0)[0])
        await pilot.press("t")
        assert "base-1" in str(table.get_row_at(0)[0])
        child_row = [str(c) for c in table.get_row_at(1)]
        assert "└─ child-1" in child_row[0]
        assert "lr 1e-3 -> 3e-4; block 1: + dropout0.5" in child_row and "val_acc +2.0 pt" in child_row
        table.move_cursor(row=1)
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, CompareScreen))
        compare = app.screen
        assert [r.name for r in compare.runs] == ["base-1", "child-1"]
        diff = str(compare.query_one("#compare-stack-diff").render())
        assert "+ dropout0.5" in diff and "lr 1e-3 -> 3e-4" in diff
        hp = compare.query_one("#hparam-diff", LineTable)
        assert "learning_rate" in [str(hp.get_row_at(i)[0]) for i in range(hp.row_count)]
        await pilot.press("escape", "t")
        assert "child-1" in str(table.get_row_at(0)[0])  # the tree off: the sort again


SIMPLE_KERAS = {
    "class_name": "Sequential",
    "config": {"name": "plain", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1], "name": "in"}},
        {"class_name": "Conv2D", "config": {"name": "c1", "filters": 8, "kernel_size": [3, 3], "strides": [1, 1],
                                            "padding": "valid", "activation": "relu", "use_bias": True}},
        {"class_name": "Flatten", "config": {"name": "f"}},
        {"class_name": "Dense", "config": {"name": "d", "units": 10, "activation": "softmax"}},
    ]},
    "compile_config": {"optimizer": {"class_name": "SGD", "config": {"learning_rate": 0.05}},
                       "loss": "sparse_categorical_crossentropy"},
}  # fmt: skip


async def test_a_plain_keras_run_is_edited_when_keraslab_knows_its_layers(tmp_path):
    root = tmp_path / "logs"
    keras_model_run(root / "plain", SIMPLE_KERAS)
    keras_model_run(root / "branchy", KERAS_JSON)
    app = KeraslabApp(logdir=root)
    async with app.run_test(size=SIZE) as pilot:
        table = await open_browser(app, pilot)
        table.move_cursor(row=row_of(table, "branchy"))
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, RunsBrowserScreen)  # refused, with the reason
        assert any("cannot express" in str(n.message) and "head (Sequential)" in str(n.message)
                   for n in app._notifications)
        table.move_cursor(row=row_of(table, "plain"))
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        screen = app.screen
        assert core.format_stack(screen.stack) == "conv8k3:valid:relu | flatten-dense10:softmax"
        assert screen.dataset == "mnist"  # from the model's 28x28x1 input
        values = screen.query_one(SettingsForm).raw_values()[0]
        assert values["optimizer"] == "sgd" and values["learning_rate"] == 0.05


async def test_import_a_model_file_into_the_stack(tmp_path, logdir):
    good = tmp_path / "model.json"
    good.write_text(json.dumps({**SIMPLE_KERAS, "config": {**SIMPLE_KERAS["config"], "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 1]}},
        *SIMPLE_KERAS["config"]["layers"][1:]]}}))  # fmt: skip
    bad = tmp_path / "lambda.json"
    bad.write_text(json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"name": "lam"}}, {"class_name": "Flatten", "config": {}}]}}))
    app = KeraslabApp(logdir=logdir)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, LaunchScreen))
        screen = app.screen
        before = list(screen.stack)
        await pilot.press("i")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PathPrompt")
        app.screen.query_one(Input).value = str(bad)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert screen.stack == before  # nothing half imported
        assert any("lam (Lambda)" in str(n.message) for n in app._notifications)
        await pilot.press("i")
        await until(pilot, lambda: app.screen.__class__.__name__ == "PathPrompt")
        app.screen.query_one(Input).value = str(good)
        await pilot.press("enter")
        await until(pilot, lambda: core.format_stack(screen.stack) == "conv8k3:valid:relu | flatten-dense10:softmax")
        await pilot.press("ctrl+z")
        assert screen.stack == before
