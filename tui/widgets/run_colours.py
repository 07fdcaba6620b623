"""One colour per run, the same in every chart and screen of the process (xterm-256 codes, for plotext and Rich alike)."""

from __future__ import annotations

# distinct on dark and light backgrounds; a run gets the next one the first time it is drawn
PALETTE = (51, 208, 46, 201, 33, 196, 226, 141, 118, 214, 45, 205)
_assigned: dict[str, int] = {}


def run_colour(key: str) -> int:
    """The colour of the run ``key`` (its path): assigned once, then always the same."""
    colour = _assigned.get(key)
    if colour is None:
        colour = _assigned[key] = PALETTE[len(_assigned) % len(PALETTE)]
    return colour


def rich_colour(key: str) -> str:
    """:func:`run_colour` as a Rich style."""
    return f"color({run_colour(key)})"
