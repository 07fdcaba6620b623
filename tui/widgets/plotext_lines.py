"""A plotext plot drawn through Textual's line API: plotext's text goes straight to screen lines.

textual-plotext's ``PlotextPlot.render`` returns ``Text.from_ansi(plot.build())``, which Textual
then turns into content and wraps, formats and crops line by line: for a plot of 60x15 cells
that is about as costly as plotext's own drawing. Here the ANSI text plotext builds is split
into segments with a regular expression (plotext writes SGR colour codes, and a reset at the
end of each run of one colour), each distinct code sequence parsed by Rich once, and the
lines kept until the next refresh or resize.
"""

from __future__ import annotations

import functools
import re
import time

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual_plotext import PlotextPlot

# An escape sequence: a CSI one (group 1 its parameters, group 2 its final byte: "m" for the
# SGR colour codes plotext writes), an OSC one, or ESC and one character. Any but SGR comes
# only from text given to plotext (a run's name, an event file's tag) and is dropped, as are
# control characters (a tab becomes a space): they would reach the terminal as they are.
_ESCAPE = re.compile(r"\x1b(?:\[([0-?]*)[ -/]*([@-~])|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.?)", re.DOTALL)
_CONTROLS = {c: None for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))} | {ord("\t"): " "}


@functools.lru_cache(maxsize=1024)
def _sgr_style(codes: str) -> Style:
    """The style of an SGR parameter string (as accumulated since a reset); a plot uses a handful."""
    spans = Text.from_ansi(f"\x1b[{codes}m_").spans if codes else []
    return spans[0].style if spans else Style.null()


def ansi_strips(text: str, base: Style, width: int) -> list[Strip]:
    """Lines of ANSI-coloured ``text`` as strips of exactly ``width`` cells on ``base``."""
    strips = []
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    for line in lines:
        segments = []
        codes, pos = "", 0
        for match in _ESCAPE.finditer(line):
            start = match.start()
            if start > pos:
                segments.append(Segment(line[pos:start].translate(_CONTROLS), _sgr_style(codes)))
            pos = match.end()
            if match.group(2) != "m":
                continue
            code = match.group(1)
            if code in ("", "0"):
                codes = ""
            else:
                codes = f"{codes};{code}" if codes else code
        if pos < len(line):
            segments.append(Segment(line[pos:].translate(_CONTROLS), _sgr_style(codes)))
        strip = Strip(Segment.apply_style(segments, base))
        if strip.cell_length != width:
            strip = strip.crop_extend(0, width, base)
        strips.append(strip)
    return strips


class PlotextLines(PlotextPlot):
    """A ``PlotextPlot`` that draws its figure once per refresh (or resize) into strips.

    Subclasses set the figure up in ``prepare`` (called just before it is built, when the
    size is known) or before calling ``refresh``. ``draw_seconds`` is what the last drawing
    cost, so a caller can keep redraws within a CPU budget.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.draw_seconds = 0.0
        self.draws = 0
        self._strips: list[Strip] | None = None
        self._strips_size: Size | None = None

    def refresh(self, *regions: Region, repaint: bool = True, layout: bool = False,
                recompose: bool = False):  # fmt: skip
        if repaint:
            self._strips = None  # drawn anew when Textual next asks for a line
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def prepare(self) -> None:
        """Set the figure up (``self.plt``) for the widget's current size; nothing here."""

    def build_strips(self, size: Size) -> list[Strip]:
        """Draw the figure at ``size`` (what ``PlotextPlot.render`` does, without Rich text)."""
        start = time.perf_counter()
        width, height = size
        if width <= 0 or height <= 0:
            return []
        self.prepare()
        plt = self.plt
        plt.plotsize(width, height)
        plt._set_size(width, height)  # as PlotextPlot.render does (textual-plotext issue 5)
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        strips = ansi_strips(plt.build(), self.rich_style, width)
        self.draws += 1
        self.draw_seconds = time.perf_counter() - start
        return strips

    def render_line(self, y: int) -> Strip:
        size = self.size
        if self._strips is None or self._strips_size != size:
            self._strips, self._strips_size = self.build_strips(size), size
        strips = self._strips
        return strips[y] if 0 <= y < len(strips) else Strip.blank(size.width, self.rich_style)
