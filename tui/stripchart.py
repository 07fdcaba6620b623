"""Text strip charts: a metric against each value of an option, one row of points per value (a sweep at a glance)."""

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

