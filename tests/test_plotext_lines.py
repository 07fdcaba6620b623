"""Plots drawn through the line API show, cell for cell, what textual-plotext's own render shows."""

from __future__ import annotations

import pytest
from keraslab.tui.widgets.curves import CurvePlot
from keraslab.tui.widgets.plotext_lines import ansi_strips
from rich.segment import Segment
from rich.style import Style
from textual.app import App, ComposeResult
from textual.strip import Strip
from textual.visual import Visual, visualize
from textual_plotext import PlotextPlot


class OnePlot(App[None]):
    def compose(self) -> ComposeResult:
        yield CurvePlot("loss", id="plot")


def cells(strip: Strip) -> list[tuple[str, object, object, bool]]:
    """(character, colour, background, bold) of each cell."""
    out = []
    for segment in strip:
        style = segment.style or Style.null()
        for char in segment.text:
            out.append((char, style.color, style.bgcolor, bool(style.bold)))
    return out


def library_strips(plot: CurvePlot) -> list[Strip]:
    """What textual-plotext's render (Rich text from ANSI) turns into on screen."""
    width, height = plot.size
    plot.prepare()
    visual = visualize(plot, PlotextPlot.render(plot))
    return Visual.to_strips(plot, visual, width, height, plot.visual_style)


@pytest.mark.parametrize("theme", ["textual-dark", "textual-light"])
@pytest.mark.parametrize("size", [(100, 30), (44, 12)])
async def test_a_curve_plot_draws_what_plotext_plot_draws(theme, size):
    app = OnePlot()
    async with app.run_test(size=size) as pilot:
        app.theme = theme
        plot = app.query_one(CurvePlot)
        train = [(i / 10, 2.0 / (1 + i / 10)) for i in range(57)]
        plot.set_data(train, [(1.0, 1.1), (2.0, 0.9), (3.0, 0.8)], epochs=8)
        await pilot.pause()
        width, height = plot.size
        ours = [plot.render_line(y) for y in range(height)]
        assert plot.draws >= 1 and plot.draw_seconds > 0
        assert [s.cell_length for s in ours] == [width] * height
        text = "\n".join(s.text for s in ours)
        assert "loss" in text and "epoch" in text and "train" in text and "val" in text
        assert any("\u2800" < ch <= "\u28ff" for ch in text)  # braille dots: the curves
        theirs = library_strips(plot)
        assert [cells(s) for s in ours] == [cells(s) for s in theirs]


async def test_the_plot_is_drawn_once_per_refresh_and_again_after_one():
    app = OnePlot()
    async with app.run_test(size=(80, 24)) as pilot:
        plot = app.query_one(CurvePlot)
        plot.set_data([(0.5, 1.0), (1.0, 0.5)], [], epochs=4)
        await pilot.pause()
        draws = plot.draws
        for y in range(plot.size.height):
            plot.render_line(y)
        assert plot.draws == draws  # lines come from the drawing kept since the refresh
        plot.set_data([(0.5, 1.0), (1.0, 0.5), (1.5, 0.25)], [], epochs=4)
        await pilot.pause()
        assert plot.draws == draws + 1
        assert plot.points_drawn == 3


async def test_the_train_curve_is_thinned_to_what_the_plot_width_can_show():
    app = OnePlot()
    async with app.run_test(size=(60, 20)) as pilot:
        plot = app.query_one(CurvePlot)
        plot.set_data([(i / 1000, 1.0 + (i % 7) / 10) for i in range(5000)], [], epochs=5)
        await pilot.pause()
        assert plot.size.width < plot.points_drawn <= 2 * plot.size.width


def test_ansi_text_becomes_strips_of_the_given_width_on_the_base_style():
    base = Style(bgcolor="black")
    red = "\x1b[38;5;1m"
    strips = ansi_strips(f"{red}ab\x1b[0mc\n\x1b[1m{red}d\x1b[0m\n", base, 5)
    assert [s.text for s in strips] == ["abc  ", "d    "]
    first = list(strips[0])
    assert first[0] == Segment("ab", base + Style(color="color(1)"))
    assert first[1] == Segment("c", base)
    bold_red = list(strips[1])[0]
    assert bold_red.style.bold and bold_red.style.color.name == "color(1)"
    assert [s.cell_length for s in ansi_strips("toolong\n", base, 4)] == [4]


def test_escape_sequences_and_control_characters_in_labels_never_reach_the_terminal():
    """A run's name or a tag goes into a plot's legend or title; only colours may come out."""
    base = Style()
    text = "ab\x1b[2Jcd\x07\tx\x1b]0;title\x07y\x1bcz\x9b\x1b[32mg\x1b[0m\n"
    (strip,) = ansi_strips(text, base, 10)
    assert strip.text == "abcd xyzg " and strip.cell_length == 10
    assert not any(ch < " " or "\x7f" <= ch < "\xa0" for ch in strip.text)
    assert [seg.style.color.number for seg in strip if seg.text == "g"] == [2]  # (green)
