"""ScalarSeries: one scalar tag's points, kept as numpy columns until a caller asks for lists."""

from __future__ import annotations

__all__ = ["ScalarSeries"]


def _as_list(column) -> list:
    return column if type(column) is list else column.tolist()


class ScalarSeries:
    """One scalar tag's points in file order: steps, wall times and values.

    ``.steps``, ``.wall_times`` and ``.values`` are parallel lists. Points decoded in bulk
    arrive as numpy columns (int64, float64, float64: :meth:`from_columns`) and stay so
    until one of those lists is asked for; ``len()``, :meth:`last` and :meth:`to_numpy`
    never make them (a big file's millions of points cost no Python objects).
    Not for concurrent use: the first list access turns the columns into lists in place.
    """

    __slots__ = ("_more", "_n", "_s", "_v", "_w")

    def __init__(self, steps=None, wall_times=None, values=None):
        self._s: list = [] if steps is None else steps
        self._w: list = [] if wall_times is None else wall_times
        self._v: list = [] if values is None else values
        self._more: list[tuple] = []  # column triples after the lists (numpy arrays or lists)
        self._n = 0  # the points in _more

    @classmethod
    def from_columns(cls, steps, wall_times, values) -> ScalarSeries:
        """A series holding numpy columns as they are (no copy: never write to them)."""
        new = cls()
        if len(steps):
            new._more.append((steps, wall_times, values))
            new._n = len(steps)
        return new

    def _settle(self) -> None:
        for s, w, v in self._more:
            self._s.extend(_as_list(s))
            self._w.extend(_as_list(w))
            self._v.extend(_as_list(v))
        self._more = []
        self._n = 0

    def _settled(self) -> ScalarSeries:
        if self._more:
            self._settle()
        return self

    @property
    def steps(self) -> list[int]:
        return self._settled()._s

    @property
    def wall_times(self) -> list[float]:
        return self._settled()._w

    @property
    def values(self) -> list[float]:
        return self._settled()._v

    @property
    def columnar(self) -> bool:
        """Whether some points are numpy columns not made lists yet (prefer to_numpy())."""
        return bool(self._more)

    def __len__(self) -> int:
        return len(self._s) + self._n

    def __eq__(self, other) -> bool:
        if not isinstance(other, ScalarSeries):
            return NotImplemented
        return (self.steps, self.wall_times, self.values) == (
            other.steps,
            other.wall_times,
            other.values,
        )

    __hash__ = None  # (mutable, as the dataclass it replaces)

    def __repr__(self) -> str:
        return f"ScalarSeries(steps={self.steps!r}, wall_times={self.wall_times!r}, values={self.values!r})"

    def append(self, step: int, wall_time: float, value: float) -> None:
        if self._more:
            self._settle()
        self._s.append(step)
        self._w.append(wall_time)
        self._v.append(value)

    def extend(self, other: ScalarSeries) -> None:
        """Append ``other``'s points (its columns are shared, its lists copied)."""
        if not self._more and not other._more:
            self._s.extend(other._s)
            self._w.extend(other._w)
            self._v.extend(other._v)
            return
        if other._s:
            self._more.append((list(other._s), list(other._w), list(other._v)))
        self._more.extend(other._more)
        self._n += len(other)

    def copy(self) -> ScalarSeries:
        new = ScalarSeries(list(self._s), list(self._w), list(self._v))
        new._more = list(self._more)  # (numpy columns are never written: shared)
        new._n = self._n
        return new

    def last(self) -> tuple[int, float] | None:
        """``(step, value)`` of the last point, or None when empty."""
        if self._more:
            s, _, v = self._more[-1]
            return _as_list(s[-1:])[0], _as_list(v[-1:])[0]
        return (self._s[-1], self._v[-1]) if self._s else None

    def to_numpy(self):
        """``(steps int64, wall_times float64, values float64)`` numpy arrays."""
        import numpy as np

        parts = [(self._s, self._w, self._v), *self._more] if self._s else self._more
        if not parts:
            parts = [([], [], [])]
        out = []
        for i, dtype in enumerate((np.int64, np.float64, np.float64)):
            cols = [np.asarray(p[i], dtype=dtype) for p in parts]
            out.append(np.array(cols[0]) if len(cols) == 1 else np.concatenate(cols))  # (a copy)
        return tuple(out)
