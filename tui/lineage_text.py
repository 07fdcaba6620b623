"""Lineage as text: a run's indentation in the tree by parent, its change and its metric against its parent."""

from __future__ import annotations

from keraslab import core

from .fmt import visible


def tree_prefix(depth: int) -> str:
    """The indentation of a run at ``depth`` in a lineage tree."""
    return "" if depth == 0 else "   " * (depth - 1) + "└─ "


def lineage_cells(row: core.TreeRow) -> tuple[str, str]:
    """``(change, vs parent)`` of a run in the tree: its one-line change and its metric's change
    (a root: '-', or a note when its recorded parent is not among the runs)."""
    r, parent = row.run, row.parent
    if parent is None:
        return (f"(parent {visible(r.parent)} not here)" if r.parent else "-"), ""
    return visible(r.change or "?"), core.metric_change(r, parent) or "-"
