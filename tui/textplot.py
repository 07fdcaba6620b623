"""Loss/accuracy curves as plain text with plotext, for the command line."""

from __future__ import annotations

import math
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
    logy: bool = False,
) -> str:
    """Draw named (label, xs, ys) series in one chart and return it as text.

    ``None`` and non-finite values are skipped (and values <= 0 on a log y axis); a chart
    with no points says so in one line. Without ``color`` the text has no escape codes
    and each series its own marker.
    """
    import plotext as plt

    points = []
    for label, xs, ys in series:
        keep = [(x, y) for x, y in zip(xs, ys, strict=False)
                if y is not None and math.isfinite(y) and (y > 0 or not logy)]  # fmt: skip
        if keep:
            points.append((label, [x for x, _ in keep], [y for _, y in keep]))
    if not points:
        return f"{title}: no data"
    plt.clear_figure()
    plt.plotsize(max(30, width), max(8, height))
    if not color:
        plt.theme("clear")
    for i, (label, xs, ys) in enumerate(points):
        marker = "braille" if color else _PLAIN_MARKERS[i % len(_PLAIN_MARKERS)]
        plt.plot(xs, ys, label=label, marker=marker)
    if logy:
        plt.yscale("log")
    plt.title(title)
    plt.xlabel(xlabel)
    text = plt.build()
    plt.clear_figure()
    return text if color else _ANSI.sub("", text)
