"""The layer-by-layer diff of two layer stacks: layers added, removed and changed, with the parameter change."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from .layers import LayerSpec
from .notation import block_numbers
from .preview import preview_stack

MAX_SUMMARY_CHANGES = 3  # a one-line summary names this many layer changes, then "+N more"


@dataclass(frozen=True)
class LayerChange:
    """One layer added, removed or changed; ``block`` is 1-based, in the new stack (the old for a removal)."""

    kind: str               # added | removed | changed
    block: int
    old: str | None         # the layer's token in the old stack
    new: str | None         # ... in the new stack
    params: int | None = None  # this layer's parameter change, when both stacks could be counted

    def text(self) -> str:
        """``block 2: conv32k3 -> conv64k3``, ``block 3: + dropout0.5``, ``block 1: - bn``."""
        change = {"added": f"+ {self.new}", "removed": f"- {self.old}"}.get(self.kind, f"{self.old} -> {self.new}")
        return f"block {self.block}: {change}"


@dataclass
class StackDiff:
    """The aligned stacks (``rows``: (mark, old token, new token), mark one of ' ', '+', '-', '~')
    and the changes among them, with each stack's parameter count where it could be counted."""

    rows: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    changes: list[LayerChange] = field(default_factory=list)
    old_params: int | None = None
    new_params: int | None = None

    @property
    def param_change(self) -> int | None:
        if self.old_params is None or self.new_params is None:
            return None
        return self.new_params - self.old_params

    def summary(self) -> str:
        """The changes in one line (empty when the stacks are the same); neighbouring changes of
        one kind in one block read as one: ``block 1: + dense64-relu``."""
        groups: list[list[LayerChange]] = []
        for c in self.changes:
            if groups and (groups[-1][-1].kind, groups[-1][-1].block) == (c.kind, c.block):
                groups[-1].append(c)
            else:
                groups.append([c])
        parts = [_joined(g).text() for g in groups[:MAX_SUMMARY_CHANGES]]
        if len(groups) > MAX_SUMMARY_CHANGES:
            parts.append(f"+{len(groups) - MAX_SUMMARY_CHANGES} more")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "changes": [{"kind": c.kind, "block": c.block, "old": c.old, "new": c.new} for c in self.changes],
            "params": [self.old_params, self.new_params],
        }


def _joined(group: list[LayerChange]) -> LayerChange:
    first = group[0]
    if len(group) == 1:
        return first
    old = "-".join(c.old for c in group if c.old) or None
    new = "-".join(c.new for c in group if c.new) or None
    return LayerChange(first.kind, first.block, old, new)


def _layer_params(stack: Sequence[LayerSpec], shape: Sequence[int] | None, classes: int | None) -> list[int] | None:
    if shape is None or classes is None:
        return None
    try:
        return [row.params for row in preview_stack(stack, shape, classes, check_output=False).rows]
    except SpecError:  # (a stack that cannot run on this input has no count)
        return None


def diff_stacks(
    old: Sequence[LayerSpec],
    new: Sequence[LayerSpec],
    old_input: tuple[Sequence[int], int] | None = None,
    new_input: tuple[Sequence[int], int] | None = None,
) -> StackDiff:
    """Align two stacks by their tokens and list what changed.

    Args:
        old_input, new_input: (input shape, class count) each stack is counted for; without
            them (or when a stack does not fit its input) the parameter counts are None.
    """
    a, b = [s.token for s in old], [s.token for s in new]
    pa = _layer_params(old, *(old_input or (None, None)))
    pb = _layer_params(new, *(new_input or (None, None)))
    blocks_a, blocks_b = block_numbers(old), block_numbers(new)
    out = StackDiff(old_params=None if pa is None else sum(pa), new_params=None if pb is None else sum(pb))

    def count(i: int | None, j: int | None) -> int | None:
        if pa is None or pb is None:
            return None
        return (0 if j is None else pb[j]) - (0 if i is None else pa[i])

    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.rows += [(" ", a[i], b[j]) for i, j in zip(range(i1, i2), range(j1, j2), strict=True)]
            continue
        paired = min(i2 - i1, j2 - j1)  # a replaced run: layers side by side are changed ones
        for k in range(paired):
            i, j = i1 + k, j1 + k
            out.rows.append(("~", a[i], b[j]))
            out.changes.append(LayerChange("changed", blocks_b[j], a[i], b[j], count(i, j)))
        for i in range(i1 + paired, i2):
            out.rows.append(("-", a[i], None))
            out.changes.append(LayerChange("removed", blocks_a[i], a[i], None, count(i, None)))
        for j in range(j1 + paired, j2):
            out.rows.append(("+", None, b[j]))
            out.changes.append(LayerChange("added", blocks_b[j], None, b[j], count(None, j)))
    return out
