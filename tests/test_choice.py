"""The one-line Choice field: stepping with arrows, the pop-up list, keys and mouse."""

from __future__ import annotations

import pytest
from keraslab.tui.widgets.choice import Choice, ChoicePicker
from textual.app import App
from textual.widgets import Input, OptionList


class ChoiceApp(App):
    def __init__(self) -> None:
        super().__init__()
        self.changes: list = []

    def compose(self):
        yield Choice([("Adam", "adam"), ("SGD", "sgd"), ("RMSprop", "rmsprop")], "sgd", id="opt")
        yield Input(id="other")

    def on_mount(self) -> None:
        self.query_one(Choice).focus()

    def on_choice_changed(self, event: Choice.Changed) -> None:
        self.changes.append(event.value)


async def test_arrows_step_and_the_list_picks():
    app = ChoiceApp()
    async with app.run_test(size=(60, 20)) as pilot:
        choice = app.query_one(Choice)
        assert choice.value == "sgd" and choice.render().plain == "SGD ▾"
        await pilot.press("right")
        assert choice.value == "rmsprop"
        await pilot.press("right")  # wraps around
        assert choice.value == "adam"
        await pilot.press("left")
        assert choice.value == "rmsprop"
        assert app.changes == ["rmsprop", "adam", "rmsprop"]

        await pilot.press("enter")
        assert isinstance(app.screen, ChoicePicker)
        options = app.screen.query_one(OptionList)
        assert options.highlighted == 2 and app.screen.focused is options
        await pilot.press("up", "enter")
        assert not isinstance(app.screen, ChoicePicker)
        assert choice.value == "sgd" and app.focused is choice

        await pilot.press("space")
        await pilot.press("down", "escape")  # closes, nothing chosen
        assert not isinstance(app.screen, ChoicePicker) and choice.value == "sgd"
        assert app.changes[-1] == "sgd" and len(app.changes) == 4


async def test_click_opens_the_list_and_a_click_picks():
    app = ChoiceApp()
    async with app.run_test(size=(60, 20)) as pilot:
        app.query_one(Input).focus()
        await pilot.click(Choice)
        assert isinstance(app.screen, ChoicePicker)
        options = app.screen.query_one(OptionList)
        assert options.region.y >= 1  # under the field
        await pilot.click(OptionList, offset=(3, 1))  # first option, inside the border
        await pilot.pause()
        assert app.query_one(Choice).value == "adam"
        await pilot.click(Choice)
        await pilot.click(offset=(50, 15))  # outside the list: closes it
        await pilot.pause()
        assert not isinstance(app.screen, ChoicePicker) and app.query_one(Choice).value == "adam"


def test_a_value_not_among_the_options_is_refused():
    choice = Choice([("a", 1), ("b", 2)], 5)
    assert choice.value == 1  # an unknown initial value: the first option
    with pytest.raises(ValueError):
        choice.value = 3
