"""A sweep as text for `sweep show` and the app: the ranked table, and strip charts of the metric against each varying option."""

from __future__ import annotations

from .fmt import hp_text, metric, visible


def strip_chart(groups: dict[object, list[float]], width: int = 60) -> list[str]:
    """Lines of a strip chart: for each option value a row with each of its points' metric
    values as an ``o`` on one shared axis (a digit where several fall together), under a
    line naming the axis' ends.

    Args:
        groups: option value -> the metric's values of the points with that value.
        width: characters of the axis.
    """
    values = [v for vs in groups.values() for v in vs]
    if not values:
        return []
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    labels = {key: hp_text(key) for key in groups}
    pad = max(len(text) for text in labels.values())

    def column(v: float) -> int:
        return round((v - low) / span * (width - 1))

    lines = [f"{' ' * pad}  {metric(low):<{width // 2}}{metric(high):>{width - width // 2}}"]
    for key, vs in groups.items():
        counts = [0] * width
        for v in vs:
            counts[column(v)] += 1
        cells = ["." if n == 0 else "o" if n == 1 else str(min(n, 9)) for n in counts]
        lines.append(f"{visible(labels[key]):>{pad}}  {''.join(cells)}")
    return lines



def sweep_table(rows, varying: list[str], metric_name: str) -> tuple[list[str], list[list[str]]]:
    """(headers, cells) of a sweep's ranked points (:func:`keraslab.core.point_rows`)."""
    headers = ["rank", "point", *(visible(k) for k in varying), "state", f"best {visible(metric_name)}", "epochs", "run"]
    cells = [[str(rank), str(r.point.index), *(hp_text(r.point.values.get(k)) for k in varying), r.state,
              metric(r.value), _epochs(r.run), visible(r.run.name) if r.run else "-"]
             for rank, r in enumerate(rows, 1)]  # fmt: skip
    return headers, cells


def sweep_strips(sweep, rows, metric_name: str, width: int = 60) -> list[str]:
    """A titled strip chart of the metric for each option the sweep varies (none before any
    point has a value)."""
    if not any(r.value is not None for r in rows):
        return []
    lines: list[str] = []
    for key in sweep.grid.varying:
        groups: dict = {value: [] for value in sweep.grid.axes[key]}
        for r in rows:
            if r.value is not None and r.point.values.get(key) in groups:
                groups[r.point.values[key]].append(r.value)
        lines += ["", f"{visible(metric_name)} by {visible(key)}", *strip_chart(groups, width)]
    return lines


def _epochs(run) -> str:
    if run is None or run.epochs is None:
        return "-"
    return f"{run.epochs}/{run.epochs_planned}" if run.epochs_planned else str(run.epochs)
