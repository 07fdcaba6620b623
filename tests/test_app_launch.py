"""The launch screen through Textual's pilot: pick a dataset and preset, edit the stack, settings, help."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from keraslab import core
from keraslab.tui.app import KeraslabApp
from keraslab.tui.screens.help import HelpScreen
from keraslab.tui.screens.launch import LaunchScreen
from keraslab.tui.screens.layer_edit import LayerEditScreen, LayerTypeScreen
from keraslab.tui.widgets.action_button import ActionButton
from keraslab.tui.widgets.choice import Choice
from keraslab.tui.widgets.findings import FindingsView
from keraslab.tui.widgets.footer import KeyFooter
from keraslab.tui.widgets.layer_table import LayerTable
from keraslab.tui.widgets.settings_form import SettingsForm
from textual.command import CommandPalette
from textual.widgets import Checkbox, Input, OptionList


@pytest.fixture
def app(logdir) -> KeraslabApp:
    return KeraslabApp(logdir=logdir)


def launch(app: KeraslabApp) -> LaunchScreen:
    screen = app.screen
    assert isinstance(screen, LaunchScreen)
    return screen


def notation(app: KeraslabApp) -> str:
    return app.screen.query_one("#notation", Input).value


async def test_opens_on_digits_with_a_preset_ready_to_train(app):
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        screen = launch(app)
        assert screen.info.name == "digits"
        assert screen.stack == core.PRESETS["avgpool"].stack
        assert notation(app) == core.PRESETS["avgpool"].notation
        assert screen.query_one("#preset", Choice).value == "avgpool"
        assert screen.can_train
        assert not screen.query_one("#train", ActionButton).disabled
        status = str(screen.query_one("#launch-status").render())
        assert "Ready: digits" in status
        # the dataset list says what is available offline
        options = screen.query_one("#datasets", OptionList)
        first = str(options.get_option_at_index(0).prompt)
        assert "digits" in first and "8x8x1" in first and "✓" in first


def test_launch_screen_never_imports_tensorflow(tmp_path):
    """First paint and editing a stack stay free of TensorFlow, and of numpy until data is
    needed (a fresh process: other test modules import Keras into this one)."""
    code = textwrap.dedent(
        f"""
        import asyncio, sys
        from keraslab.tui.app import KeraslabApp
        from textual.widgets import Input

        async def main():
            app = KeraslabApp(logdir={str(tmp_path)!r})
            async with app.run_test(size=(120, 36)) as pilot:
                await pilot.pause()
                app.screen.query_one("#notation", Input).value = "conv8k3-relu-gap-out-softmax"
                await pilot.pause()
                assert app.screen.can_train
        asyncio.run(main())
        heavy = sorted(m for m in sys.modules
                       if m.split(".")[0] in ("tensorflow", "keras", "numpy"))
        assert not heavy, heavy
        print("clean")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("clean")


def test_the_command_line_parser_loads_nothing_the_app_does_not_need():
    """`keraslab` builds its whole parser before it opens the app: the version (looked up
    with importlib.metadata) and the runs-reading modules wait until a command needs them."""
    code = textwrap.dedent(
        """
        import sys
        from keraslab.tui import cli
        cli.build_parser().parse_args([])
        loaded = sorted(m for m in sys.modules if m == "importlib.metadata"
                        or m in ("keraslab.core.browse.discovery", "keraslab.core.browse.curves", "keraslab.core.tfevents"))
        assert not loaded, loaded
        print("clean")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().endswith("clean")


async def test_pick_dataset_and_preset_updates_the_preview(app):
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        before = screen.preview.total_params
        screen.query_one("#datasets", OptionList).focus()
        await pilot.press("down", "down", "down")  # digits, mnist, fashion_mnist, cifar10
        await pilot.pause()
        assert screen.info.name == "cifar10"
        assert screen.preview.input_shape == (32, 32, 3)
        assert screen.preview.total_params != before
        detail = str(screen.query_one("#dataset-detail").render())
        assert "CIFAR-10" in detail

        screen.query_one("#preset", Choice).value = "mlp"
        await pilot.pause()
        assert screen.stack == core.PRESETS["mlp"].stack
        assert notation(app) == core.PRESETS["mlp"].notation
        assert screen.query_one(LayerTable).row_count == len(core.PRESETS["mlp"].stack)


async def test_typing_notation_updates_table_findings_and_train(app):
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        field = screen.query_one("#notation", Input)
        field.value = "conv16k3-relu-flatten-dense"  # incomplete: dense needs units
        await pilot.pause()
        assert screen.notation_error and "dense" in screen.notation_error
        assert field.has_class("invalid")
        assert not screen.can_train
        assert screen.query_one("#train", ActionButton).disabled
        assert screen.check_action("train", ()) is None  # greyed out in the footer

        field.value = "conv16k3-relu-flatten-dense64-relu-dense64"  # parses, but no class output
        await pilot.pause()
        assert screen.notation_error is None
        assert any(f.code == "output-units" for f in screen.findings)
        assert not screen.can_train
        assert screen.query_one(FindingsView).has_class("has-errors")

        field.value = "conv16k9-relu-flatten-out-softmax"  # runs; a 9x9 kernel covers the 8x8 input
        await pilot.pause()
        assert screen.can_train
        assert screen.query_one("#preset", Choice).value == "custom"
        assert any(f.code == "kernel-covers-input" for f in screen.findings)
        table = screen.query_one(LayerTable)
        assert table.row_count == 5
        assert "conv16k9" in str(table.get_row_at(0)[1])

        field.value = core.PRESETS["linear"].notation  # typing a preset's stack selects it
        await pilot.pause()
        assert screen.query_one("#preset", Choice).value == "linear"
        assert screen.findings == []


async def test_layer_table_add_edit_remove_move(app):
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        table = screen.query_one(LayerTable)
        table.focus()
        n = len(screen.stack)

        await pilot.press("d")  # remove the first layer (conv32k3:relu)
        await pilot.pause()
        assert len(screen.stack) == n - 1
        assert notation(app) == core.format_stack(screen.stack)
        assert screen.query_one("#preset", Choice).value == "custom"

        await pilot.press("a")  # add: pick a type, it is inserted after the cursor
        await pilot.pause()
        assert isinstance(app.screen, LayerTypeScreen)
        picker = app.screen.query_one(OptionList)
        index = next(i for i in range(picker.option_count)
                     if str(picker.get_option_at_index(i).prompt).startswith("dropout0.5"))
        picker.highlighted = index
        await pilot.press("enter")
        await pilot.pause()
        assert app.screen is screen
        assert screen.stack[1].token == "dropout0.5"
        assert table.cursor_row == 1

        await pilot.press("enter")  # edit the selected layer's parameters
        await pilot.pause()
        assert isinstance(app.screen, LayerEditScreen)
        rate = app.screen.query_one("#p-rate", Input)
        rate.value = "2"
        await pilot.pause()
        assert app.screen.result is None  # out of range: save is disabled
        rate.value = "0.25"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen
        assert screen.stack[1].token == "dropout0.25"
        assert "dropout0.25" in notation(app)

        await pilot.press("shift+up")  # move it to the top
        await pilot.pause()
        assert screen.stack[0].token == "dropout0.25"
        assert table.cursor_row == 0
        assert notation(app).startswith("dropout0.25")


async def test_augmentation_switch_inserts_and_removes_a_block(app):
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        box = screen.query_one("#augment", Checkbox)
        assert not box.value
        box.value = True
        await pilot.pause()
        assert notation(app).startswith("rotate0.05-zoom0.1-translate0.1 | ")
        assert screen.can_train
        box.value = False
        await pilot.pause()
        assert screen.stack == core.PRESETS["avgpool"].stack
        # typing augmentation into the notation turns the switch on
        screen.query_one("#notation", Input).value = "flip-" + core.PRESETS["linear"].notation
        await pilot.pause()
        assert box.value


async def test_settings_fields_come_right_after_the_first_paint(app):
    """The form's fields are mounted after the screen is first drawn; meanwhile the form
    reads as the initial settings, and training can start."""
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        form = screen.query_one(SettingsForm)
        assert not form.ready and not screen.query("#set-epochs")
        values, errors = form.raw_values()
        assert errors == {} and values["epochs"] == screen.base.epochs and screen.can_train
        form.set_value("batch_size", 64)  # a script may set values before the fields exist
        await pilot.pause()
        await pilot.pause()
        assert form.ready and screen.query_one("#set-epochs", Input).value == str(screen.base.epochs)
        assert screen.query_one("#set-batch_size", Input).value == "64"
        assert form.raw_values() == ({**values, "batch_size": 64}, {})


async def test_invalid_settings_are_marked_and_block_training(app):
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        await pilot.pause()
        await pilot.pause()
        screen.query_one("#set-epochs", Input).value = "0"
        screen.query_one("#set-learning_rate", Input).value = "fast"
        screen.query_one("#set-name", Input).value = "my run"
        await pilot.pause()
        errors = screen.settings_errors
        assert set(errors) == {"epochs", "learning_rate", "name"}
        assert "at least 1" in errors["epochs"]
        shown = screen.query_one("#error-epochs")
        assert shown.display and "at least 1" in str(shown.render())
        # the reason sits in place: right under the epochs field, above the next one
        epochs, after = screen.query_one("#set-epochs"), screen.query_one("#label-validation_split")
        assert epochs.region.y < shown.region.y < after.region.y
        assert screen.query_one("#set-learning_rate").has_class("invalid")
        assert screen.query_one("#label-learning_rate").has_class("invalid")
        assert screen.query_one("#train", ActionButton).disabled
        name = screen.query_one("#set-name", Input)
        name.focus()
        await pilot.pause()
        assert "Leave field" in [k.description for k in screen.query_one(KeyFooter).items]
        await pilot.press("escape")  # leave the input so 't' is a key, not a letter
        await pilot.pause()
        assert screen.focused is screen.query_one("#datasets")
        assert "Leave field" not in [k.description for k in screen.query_one(KeyFooter).items]
        await pilot.press("t")
        await pilot.pause()
        assert name.value == "my run"  # the t went to the screen, not into the field
        assert app.runs == []  # nothing started

        screen.query_one("#set-epochs", Input).value = "3"
        screen.query_one("#set-learning_rate", Input).value = "0.01"
        screen.query_one("#set-name", Input).value = "my-run"
        await pilot.pause()
        assert screen.settings_errors == {}
        assert not screen.query(".field-error") and not screen.query(".invalid")  # all cleared
        config = screen.build_config()
        assert config is not None
        assert (config.epochs, config.learning_rate, config.name) == (3, 0.01, "my-run")
        assert config.model == "avgpool" and config.dataset == "digits"


async def test_help_screen_and_command_palette(app):
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, LaunchScreen)

        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        titles = [c.title for c in app.get_system_commands(app.screen_stack[0])]
        assert {"Train", "Stop training", "Training view", "Runs browser", "Help"} <= set(titles)
        await pilot.press("escape")


async def test_runs_key_opens_browser_or_explains(app):
    async with app.run_test(size=(100, 30)) as pilot:
        launch(app).query_one(LayerTable).focus()
        await pilot.press("r")
        await pilot.pause()
        browser = app.screen if not isinstance(app.screen, LaunchScreen) else None
        if browser is None:  # the runs browser is not in this build: a notification says so
            assert any("runs browser" in str(n.message).lower() for n in app._notifications)
        else:
            assert "RunsBrowser" in type(browser).__name__


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_small_and_big_terminals_and_resizing(app, size):
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        screen = launch(app)
        assert screen.query_one("#train", ActionButton).region.height >= 1  # the Train button is visible
        for width, height in [(40, 12), (200, 60), (80, 24), (20, 5), size]:
            await pilot.resize_terminal(width, height)
            await pilot.pause()
        await pilot.press("f1")
        await pilot.resize_terminal(60, 15)
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)


async def test_choice_lists_open_under_their_field_inside_the_screen(app):
    from keraslab.tui.widgets.choice import ChoicePicker

    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        await pilot.pause()
        await pilot.pause()
        for field in ("#preset", "#set-loss"):
            choice = screen.query_one(field, Choice)
            choice.focus()
            await pilot.press("enter")
            assert isinstance(app.screen, ChoicePicker)
            listed = app.screen.query_one(OptionList).region
            assert listed.right <= 120 and listed.bottom <= 36
            assert listed.y == choice.region.bottom or listed.bottom == choice.region.y
            assert listed.x == choice.region.x or listed.right == 120  # (moved left to fit)
            await pilot.press("escape")
            assert app.screen is screen


async def test_a_value_set_while_the_fields_are_being_mounted_is_kept(app):
    async with app.run_test(size=(120, 36)) as pilot:
        form = launch(app).query_one(SettingsForm)
        for _ in range(10000):  # the moment the fields exist but are not all mounted yet
            if form.children and not form.ready:
                break
            await asyncio.sleep(0)
        else:
            pytest.skip("the mounting window was not met")
        form.set_value("batch_size", 77)
        while not form.ready:
            await pilot.pause(0.02)
        assert form.query_one("#set-batch_size", Input).value == "77"
        assert form.raw_values()[0]["batch_size"] == 77


async def test_the_train_button_trains_on_click_enter_and_space_unless_disabled(app, monkeypatch):
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        await pilot.pause()
        pressed = []
        monkeypatch.setattr(screen, "action_train", lambda: pressed.append(True))
        button = screen.query_one("#train", ActionButton)
        assert str(button.label) == "Train (t)" and button.region.width >= len("Train (t)")
        monkeypatch.setattr(ActionButton, "ACTIVE", 600.0)  # the test says when it is over

        def settled() -> None:  # as the timer would, ACTIVE seconds after a press
            button.remove_class("-active")

        await pilot.click("#train")
        await pilot.click("#train")  # a double click: one press (as Textual's Button)
        assert len(pressed) == 1 and button.has_class("-active")
        button.focus()
        settled()
        await pilot.press("enter")
        settled()
        await pilot.press("space")
        await pilot.pause()
        assert len(pressed) == 3
        settled()
        screen.query_one("#notation", Input).value = "conv16k3-relu-flatten-dense"  # an error
        await pilot.pause()
        assert button.disabled
        await pilot.click("#train")
        await pilot.pause()
        assert len(pressed) == 3  # greyed out: nothing


async def test_the_device_is_asked_once_per_device_text_not_every_keystroke(app, monkeypatch):
    asked = []
    real = core.device_lint_args
    monkeypatch.setattr(core, "device_lint_args", lambda *a: asked.append(a) or real(*a))
    async with app.run_test(size=(120, 36)) as pilot:
        screen = launch(app)
        form = screen.query_one(SettingsForm)
        while not form.ready:
            await pilot.pause(0.02)
        for preset in ("cnn", "mlp", "avgpool"):  # the model changes: the device does not
            screen.set_stack(core.get_preset(preset).stack)
            await pilot.pause()
        assert len(asked) == 1, asked
        form.set_value("device", "cpu")
        await pilot.pause()
        screen.set_stack(core.get_preset("cnn").stack)
        await pilot.pause()
        assert asked[-1][0] == "cpu" and len(asked) == 2, asked
