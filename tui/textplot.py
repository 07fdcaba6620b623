"""Loss/accuracy curves as plain text with plotext, for the command line."""

from __future__ import annotations

import re
from collections.abc import Sequence

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# without colour, series are told apart by their marker
_PLAIN_MARKERS = ("*", "+", "o", "x", "#", "@", "%", "&")

Series = tuple[str, Sequence[float], Sequence[float | None]]


def line_chart(
    title: str,
    series: Sequence[Series],
    *,
    width: int = 80,
    height: int = 16,
    color: bool = True,
    xlabel: str = "epoch",
) -> str:
    """Draw named (label, xs, ys) series in one chart and return it as text.

    ``None`` values are skipped; a chart with no points says so in one line.
    """
    import plotext as plt

    points = [
        (label, [x for x, y in zip(xs, ys, strict=False) if y is not None], [y for y in ys if y is not None])
        for label, xs, ys in series
    ]
    points = [(label, xs, ys) for label, xs, ys in points if ys]
    if not points:
        return f"{title}: no data yet"
    plt.clear_figure()
    plt.plotsize(max(30, width), max(8, height))
    if not color:
        plt.theme("clear")
    for i, (label, xs, ys) in enumerate(points):
        marker = "braille" if color else _PLAIN_MARKERS[i % len(_PLAIN_MARKERS)]
        plt.plot(list(xs), list(ys), label=label, marker=marker)
    plt.title(title)
    plt.xlabel(xlabel)
    text = plt.build()
    plt.clear_figure()
    return text if color else _ANSI.sub("", text)
