"""Run reports: command, config, sketch, metrics, curve figures, diagnosis and the test-set
evaluation (per-class table, confusion matrix, misclassified samples), as Markdown or one
self-contained HTML file."""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..browse.curves import load_curves
from ..browse.discovery import load_summary
from ..errors import KeraslabError, RunStoreError
from ..model.preview import format_table, preview_stack
from ..model.sketch import sketch_stack
from ..rundir.kind import run_kind
from ..rundir.layout import KERASLAB
from ..rundir.reader import load_run
from .architecture import run_architecture
from .diagnosis import diagnose_run
from .evaluation import Evaluation, evaluate, mistakes
from .predictions import has_saved_predictions, load_predictions
from .samples import sample_images

MISTAKES_SHOWN = 16  # misclassified samples in a report's grid, the most confident first

REPORT_FORMATS = ("md", "html")


@dataclass
class Block:
    """One piece of a report: ``kind`` heading | text | code | table | image."""

    kind: str
    text: str = ""
    level: int = 2
    rows: list[list[str]] | None = None   # a table: header first
    png: bytes = b""                      # an image
    name: str = ""                        # the image's file name beside a Markdown report


def _pyplot():
    """matplotlib's pyplot on the Agg backend (loaded here only: a report needs no display)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    return plt


def _plain(text: str) -> str:
    """Text from run files shown literally by matplotlib (a '$' would start mathtext)."""
    return str(text).replace("$", r"\$")


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _curve_figure(title: str, series) -> bytes:
    """A PNG line chart of ``[(label, xs, ys)]``."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.4), dpi=100)
    try:
        for label, xs, ys in series:
            ax.plot(xs, ys, label=_plain(label), marker="o" if len(xs) < 30 else None, markersize=3)
        ax.set_title(_plain(title))
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend()
        return _png(fig)
    finally:
        plt.close(fig)


def _confusion_figure(title: str, ev: Evaluation) -> bytes:
    """A PNG heat map of the confusion matrix (rows: true class, columns: predicted), counts in the cells."""
    plt = _pyplot()
    k = len(ev.class_names)
    size = min(3 + 0.45 * k, 14)
    fig, ax = plt.subplots(figsize=(size, size), dpi=100)
    try:
        ax.imshow(ev.confusion, cmap="Blues")
        if k <= 30:
            names = [_plain(n) for n in ev.class_names]
            ax.set_xticks(range(k), names, rotation=90)
            ax.set_yticks(range(k), names)
            high = ev.confusion.max(initial=0)
            for (i, j), n in np.ndenumerate(ev.confusion):
                if n:
                    ax.text(j, i, str(n), ha="center", va="center", fontsize=7,
                            color="white" if n > high / 2 else "black")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(_plain(title))
        return _png(fig)
    finally:
        plt.close(fig)


def _mistakes_figure(images, captions) -> bytes:
    """A PNG grid of misclassified samples, each captioned "true → predicted (confidence)"."""
    plt = _pyplot()
    cols = min(len(images), 4)
    rows = -(-len(images) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), dpi=100, squeeze=False)
    try:
        for ax in axes.flat:
            ax.axis("off")
        for ax, image, caption in zip(axes.flat, images, captions, strict=False):
            grey = image.shape[-1] == 1
            ax.imshow(image[..., 0] if grey else image, cmap="gray" if grey else None, vmin=0, vmax=255)
            ax.set_title(_plain(caption), fontsize=8)
        return _png(fig)
    finally:
        plt.close(fig)


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:80]


def _run_blocks(path: Path, title_level: int = 1) -> list[Block]:
    summary = load_summary(path)
    out = [Block("heading", f"Run {summary.name}", title_level)]
    out.append(Block("text", f"{summary.kind} run, status {summary.status}, dataset {summary.dataset or '-'}, "
                             f"model {summary.model or '-'}"))
    if run_kind(path) == KERASLAB:
        run = load_run(path)
        cmd = run.config.get("reproduce") or run.config.get("command")
        if isinstance(cmd, str):
            out += [Block("heading", "Command", title_level + 1), Block("code", cmd)]
        rows = [["setting", "value"]] + [[str(k), str(v)] for k, v in run.run_config.items()
                                          if v not in (None, {}, []) and k != "layers"]
        out += [Block("heading", "Config", title_level + 1), Block("table", rows=rows)]
        try:
            stack, shape, classes = run_architecture(path)
            out += [Block("heading", "Architecture", title_level + 1),
                    Block("code", "\n".join(sketch_stack(stack, shape, classes))),
                    Block("code", format_table(preview_stack(stack, shape, classes)))]
        except KeraslabError as exc:
            out.append(Block("text", f"architecture: {exc}"))
        test = run.results.get("test") if isinstance(run.results.get("test"), dict) else {}
        if test:
            rows = [["test metric", "value"]] + [[str(k), f"{v:.4f}" if isinstance(v, float) else str(v)]
                                                 for k, v in test.items()]
            out += [Block("heading", "Test metrics", title_level + 1), Block("table", rows=rows)]
        out += _evaluation_blocks(path, summary.name, title_level + 1)
    if summary.metrics:
        rows = [["metric", "last", "best", "points"]] + [
            [n, f"{s.last:.4g}", f"{s.best(n):.4g}", str(s.count)] for n, s in summary.metrics.items()]
        out += [Block("heading", "Metrics", title_level + 1), Block("table", rows=rows)]
    curves = load_curves(path)
    figures = []
    for base in ("loss", "accuracy"):
        series = [(label, c.xs("epoch"), c.values) for label, name in (("train", base), ("validation", f"val_{base}"))
                  if (c := curves.curves.get(name)) is not None and len(c)]
        if series:
            figures.append(Block("image", base, png=_curve_figure(f"{summary.name}: {base}", series),
                                 name=f"{_slug(summary.name)}-{base}.png"))
    if figures:
        out += [Block("heading", "Curves", title_level + 1), *figures]
    diag = diagnose_run(path, curves)
    out.append(Block("heading", "Diagnosis", title_level + 1))
    if not diag.findings:
        out.append(Block("text", "No findings: the curves look healthy." if diag.epochs else "No epochs recorded."))
    for d in diag.findings:
        out.append(Block("text", f"**{d.severity}** ({d.code}): {d.message}. Suggestion: {d.suggestion}."))
    return out


def _evaluation_blocks(path: Path, name: str, level: int) -> list[Block]:
    """Per-class scores, the confusion matrix and the worst mistakes, from the run's saved test
    predictions (a run without them gets none: a report never loads a checkpoint)."""
    if not has_saved_predictions(path):
        return []
    try:
        preds = load_predictions(path)
    except KeraslabError as exc:
        return [Block("heading", "Evaluation", level), Block("text", f"evaluation: {exc}")]
    ev = evaluate(preds)
    names = ev.class_names
    rows = [["class", "precision", "recall", "F1"]] + [
        [c.name, _pct(c.precision), _pct(c.recall), _pct(c.f1)] for c in ev.classes]
    out = [Block("heading", "Evaluation", level),
           Block("text", f"Accuracy {_pct(ev.accuracy)} on {ev.samples:,} test samples ({ev.errors:,} wrong)."),
           Block("table", rows=rows)]
    if ev.pairs:
        out.append(Block("text", "Most confused: " + "; ".join(
            f"{names[p.a]} → {names[p.b]} {p.a_as_b}, {names[p.b]} → {names[p.a]} {p.b_as_a}" for p in ev.pairs) + "."))
    out.append(Block("image", "confusion matrix", png=_confusion_figure(f"{name}: confusion matrix", ev),
                     name=f"{_slug(name)}-confusion.png"))
    worst = mistakes(preds)[:MISTAKES_SHOWN]
    if len(worst):
        try:
            images = sample_images(preds, worst)
        except KeraslabError as exc:
            out.append(Block("text", f"misclassified samples: {exc}"))
        else:
            captions = [f"{names[preds.y_true[i]]} → {names[preds.y_pred[i]]} ({preds.confidence[i]:.0%})" for i in worst]
            out += [Block("text", f"The {len(worst)} most confident mistakes (true → predicted):"),
                    Block("image", "misclassified", png=_mistakes_figure(images, captions),
                          name=f"{_slug(name)}-mistakes.png")]
    return out


def report_blocks(paths) -> list[Block]:
    """The report of one run, or a comparison of several: a table of them, then each run."""
    paths = [Path(p) for p in paths]
    for p in paths:
        if run_kind(p) is None:
            raise RunStoreError(f"{p}: not a run directory")
    if len(paths) == 1:
        return _run_blocks(paths[0])
    summaries = [load_summary(p) for p in paths]
    rows = [["run", "dataset", "model", "params", "epochs", "best val acc", "test acc"]]
    for s in summaries:
        rows.append([s.name, s.dataset or "-", s.model or "-", f"{s.params:,}" if s.params else "-",
                     str(s.epochs or "-"), _pct(s.best_val_accuracy), _pct(s.test_accuracy)])
    out = [Block("heading", f"Comparison of {len(paths)} runs", 1), Block("table", rows=rows)]
    series = []
    for s, p in zip(summaries, paths, strict=True):
        c = load_curves(p).curves.get("val_accuracy")
        if c is not None and len(c):
            series.append((s.name, c.xs("epoch"), c.values))
    if series:
        out.append(Block("image", "val_accuracy", png=_curve_figure("validation accuracy", series),
                         name="compare-val_accuracy.png"))
    for p in paths:
        out += _run_blocks(p, 2)
    return out


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _md_text(text: str) -> str:
    """Text from run files made inert in Markdown: no raw HTML."""
    return html.escape(text, quote=False)


def _md_cell(text: str) -> str:
    return _md_text(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(blocks, image_dir: str = "") -> tuple[str, dict[str, bytes]]:
    """Markdown text and the images to write beside it (file name -> PNG bytes)."""
    lines, images = [], {}
    for b in blocks:
        if b.kind == "heading":
            lines += ["#" * b.level + " " + _md_cell(b.text), ""]
        elif b.kind == "text":
            lines += [_md_text(b.text), ""]
        elif b.kind == "code":
            lines += ["```", b.text.replace("```", "'''"), "```", ""]
        elif b.kind == "table":
            head, *body = b.rows
            lines.append("| " + " | ".join(map(_md_cell, head)) + " |")
            lines.append("|" + "---|" * len(head))
            lines += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in body]
            lines.append("")
        elif b.kind == "image":
            name = os.path.join(image_dir, b.name) if image_dir else b.name
            images[name] = b.png
            lines += [f"![{b.text}]({name})", ""]
    return "\n".join(lines), images


def render_html(blocks, title: str = "keraslab report") -> str:
    """One self-contained HTML page: every image inlined as base64, every text escaped."""
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}pre{background:#f4f4f4;"
             "padding:.5em;overflow:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
             "padding:.2em .5em}</style></head><body>"]
    for b in blocks:
        if b.kind == "heading":
            parts.append(f"<h{b.level}>{esc(b.text)}</h{b.level}>")
        elif b.kind == "text":
            parts.append(f"<p>{esc(b.text).replace('**', '')}</p>")
        elif b.kind == "code":
            parts.append(f"<pre>{esc(b.text)}</pre>")
        elif b.kind == "table":
            head, *body = b.rows
            parts.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in head) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{esc(c)}</td>" for c in r) + "</tr>" for r in body]
            parts.append("</table>")
        elif b.kind == "image":
            data = base64.b64encode(b.png).decode("ascii")
            parts.append(f"<p><img alt='{esc(b.text)}' src='data:image/png;base64,{data}'></p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(paths, output: str | os.PathLike, *, as_html: bool = False) -> list[Path]:
    """Write the report of ``paths`` to ``output`` (Markdown with its PNGs in ``<stem>_files/``
    beside it, or one HTML file; missing folders are made); returns every file written."""
    output = Path(output)
    blocks = report_blocks(paths)
    title = blocks[0].text if blocks else "keraslab report"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        if as_html:
            output.write_text(render_html(blocks, title), encoding="utf-8")
            return [output]
        image_dir = f"{output.stem}_files"
        text, images = render_markdown(blocks, image_dir)
        written = []
        if images:
            (output.parent / image_dir).mkdir(exist_ok=True)
        for name, png in images.items():
            (output.parent / name).write_bytes(png)
            written.append(output.parent / name)
        output.write_text(text, encoding="utf-8")
        return [output, *written]
    except OSError as exc:
        raise RunStoreError(f"cannot write {output}: {exc.strerror or exc}") from None
