"""Evaluation shown with Rich: per-class table, heat-map confusion matrix, confused pairs, and
test samples as half-block or plain-text images (shared by the CLI and the app).

Names from a run's files go into Text objects, never into markup strings."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from .fmt import visible

MAX_MATRIX = 20  # classes shown in a confusion matrix; more keep those with most errors
_SHADES = " .:-=+*#%@"  # plain-text images, dark to bright


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def score(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def name(ev, k: int) -> str:
    """Class ``k``'s label: its number, and its name (made visible: it may come from a run's
    file) where that is not just the number."""
    text = visible(ev.class_names[k])
    return text if text == str(k) else f"{k} {text}"


def headline(ev, label: str) -> str:
    return (f"{label}: accuracy {pct(ev.accuracy, 2)} on {ev.samples:,} test samples "
            f"({ev.errors:,} wrong), macro F1 {score(ev.macro_f1)}")  # fmt: skip


def class_table(ev) -> Table:
    """Precision, recall, F1 and support of each class; the weakest F1 in red."""
    t = Table(box=box.SIMPLE_HEAD, title="per class", title_justify="left", pad_edge=False)
    t.add_column("class")
    for col in ("precision", "recall", "F1", "support"):
        t.add_column(col, justify="right")
    f1s = [s.f1 for s in ev.classes if s.f1 is not None and s.support]
    worst = min(f1s) if f1s else None
    for s in ev.classes:
        style = "bold red" if worst is not None and s.f1 == worst and len(f1s) > 1 else ""
        t.add_row(Text(name(ev, s.index)), score(s.precision), score(s.recall),
                  Text(score(s.f1), style=style), str(s.support))  # fmt: skip
    return t


def matrix_classes(ev, limit: int = MAX_MATRIX) -> list[int]:
    """The classes a confusion matrix shows: all of them, or the ``limit`` with most errors."""
    k = len(ev.class_names)
    if k <= limit:
        return list(range(k))
    cm = ev.confusion
    wrong = cm.sum(axis=0) + cm.sum(axis=1) - 2 * np.diag(cm)
    return sorted(np.argsort(-wrong, kind="stable")[:limit].tolist())


def cell_style(count: int, row_total: int, diagonal: bool) -> str:
    """A heat-map cell: green on the diagonal, red off it, deeper for a larger share of the row."""
    if count == 0:
        return "grey50"
    share = count / row_total if row_total else 0.0
    level = int(round(55 + 200 * min(1.0, share if diagonal else 4 * share)))
    bg = f"rgb(0,{level // 2},0)" if diagonal else f"rgb({level},0,0)"
    return f"bold white on {bg}"


def confusion_cells(ev, classes: Sequence[int]) -> list[list[Text]]:
    """The matrix's cells for ``classes`` (rows true, columns predicted), styled as a heat map."""
    cm, totals = ev.confusion, ev.confusion.sum(axis=1)
    return [[Text(str(int(cm[t, p])), style=cell_style(int(cm[t, p]), int(totals[t]), t == p))
             for p in classes] for t in classes]  # fmt: skip


def confusion_table(ev, title: str = "confusion matrix (rows: true class, columns: predicted)") -> Table:
    classes = matrix_classes(ev)
    if len(classes) < len(ev.class_names):
        title += f"; the {len(classes)} of {len(ev.class_names)} classes with most errors"
    t = Table(box=box.SIMPLE_HEAD, title=title, title_justify="left", pad_edge=False)
    t.add_column("true \\ pred")
    for k in classes:
        t.add_column(str(k), justify="right")
    for k, cells in zip(classes, confusion_cells(ev, classes), strict=True):
        t.add_row(Text(name(ev, k)), *cells)
    return t


def pair_lines(ev) -> list[str]:
    """The most-confused class pairs, one line each."""
    out = []
    for p in ev.pairs:
        a, b = name(ev, p.a), name(ev, p.b)
        line = f"{a} <-> {b}: {p.total} ({a} taken for {b} {p.a_as_b}x"
        out.append(line + (f", {b} taken for {a} {p.b_as_a}x)" if p.b_as_a else ")"))
    return out or ["no class was taken for another"]


def pairs_text(ev) -> str:
    return "most confused:\n" + "\n".join(f"  {line}" for line in pair_lines(ev))


def ensemble_table(result) -> Table:
    """Each member's accuracy and errors, then the ensemble's in bold."""
    ev = result.evaluation
    t = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    t.add_column("run")
    t.add_column("accuracy", justify="right")
    t.add_column("wrong", justify="right")
    for m in result.members:
        t.add_row(Text(visible(m.run_dir.name)), pct(m.accuracy, 2), f"{int((m.y_true != m.y_pred).sum()):,}")
    t.add_row("ensemble", pct(ev.accuracy, 2), f"{ev.errors:,}", style="bold")
    return t


def ensemble_title(result) -> str:
    ev = result.evaluation
    return (f"ensemble of {len(result.members)} runs on {visible(result.predictions.config.dataset)} "
            f"({ev.samples:,} test samples): class probabilities averaged")  # fmt: skip


def caption(preds, i: int) -> str:
    t, p = int(preds.y_true[i]), int(preds.y_pred[i])
    return f"#{i} true {visible(preds.class_names[t])} -> {visible(preds.class_names[p])} {pct(float(preds.confidence[i]))}"


def scale_for(image: np.ndarray, target: int = 16) -> int:
    """Pixels repeated per side so that a small image (8x8 digits) is still legible."""
    return max(1, target // max(1, image.shape[1]))


def pil_image(image: np.ndarray, scale: int = 1):
    """An ``(H, W, 1|3)`` uint8 image as an RGB PIL image, each pixel ``scale`` x ``scale``."""
    from PIL import Image

    a = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    a = np.repeat(a, 3, axis=2) if a.shape[2] == 1 else a
    return Image.fromarray(np.ascontiguousarray(a), "RGB")


def halfblock_image(image: np.ndarray, scale: int | None = None) -> Text:
    """The image in coloured half blocks (two pixel rows a line: upper as the foreground of
    ``▀``, lower as its background), as textual-image's half-cell mode draws it, without
    asking the terminal anything."""
    scale = scale_for(image) if scale is None else scale
    a = np.asarray(pil_image(image, scale))
    if a.shape[0] % 2:
        a = np.concatenate([a, np.zeros_like(a[:1])])
    text = Text()
    for r in range(0, a.shape[0], 2):
        for top, bottom in zip(a[r], a[r + 1], strict=True):
            text.append("▀", style=f"rgb({top[0]},{top[1]},{top[2]}) on rgb({bottom[0]},{bottom[1]},{bottom[2]})")
        if r + 2 < a.shape[0]:
            text.append("\n")
    return text


def text_image(image: np.ndarray) -> Text:
    """The image as plain characters (for output that is not a terminal): one character a
    pixel across, one line per two pixel rows, brighter = denser."""
    g = image.astype(np.float32).mean(axis=2)
    scale = scale_for(image)
    g = np.repeat(np.repeat(g, scale, axis=0), scale, axis=1)
    if g.shape[0] % 2:
        g = np.vstack([g, g[-1:]])
    rows = (g[0::2] + g[1::2]) / 2
    idx = np.clip((rows / 256 * len(_SHADES)).astype(int), 0, len(_SHADES) - 1)
    return Text("\n".join("".join(_SHADES[v] for v in row) for row in idx))
