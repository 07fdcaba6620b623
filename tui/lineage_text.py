"""Lineage as text: a run's indentation in the tree by parent, its change and its metric against its parent."""

from __future__ import annotations

from keraslab import core

from .fmt import visible


def tree_prefix(row: core.TreeRow) -> str:
    """A run's indentation in a lineage tree, with its guide lines (├─, └─, │)."""
    if row.depth == 0:
        return ""
    return "".join("│  " if more else "   " for more in row.guides) + ("└─ " if row.last else "├─ ")


def lineage_cells(row: core.TreeRow) -> tuple[str, str]:
    """``(change, vs parent)`` of a run in the tree: its one-line change and its metric's change
    (a root: '-', or a note when its recorded parent is not among the runs)."""
    r, parent = row.run, row.parent
    if parent is None:
        return (f"(parent {visible(r.parent)} not here)" if r.parent else "-"), ""
    return visible(r.change or "?"), core.metric_change(r, parent) or "-"
