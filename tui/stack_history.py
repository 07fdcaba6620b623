"""Undo and redo of layer-stack edits: the stacks before and after each change, bounded."""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")
MAX_STEPS = 200


class History(Generic[T]):
    """``record(before)`` on each change; ``undo(now)`` / ``redo(now)`` give the state to go
    to (None when there is none). A new change after an undo forgets what could be redone."""

    def __init__(self) -> None:
        self._undo: deque[T] = deque(maxlen=MAX_STEPS)
        self._redo: list[T] = []

    def record(self, before: T) -> None:
        self._undo.append(before)
        self._redo.clear()

    def undo(self, now: T) -> T | None:
        if not self._undo:
            return None
        self._redo.append(now)
        return self._undo.pop()

    def redo(self, now: T) -> T | None:
        if not self._redo:
            return None
        self._undo.append(now)
        return self._redo.pop()

    def clear(self) -> None:
        self._undo.clear()
        self._redo.clear()
