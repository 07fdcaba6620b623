"""Text formatting shared by the CLI and the app: untrusted strings made visible, a run's table
cells, durations, metrics, plain tables."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Sequence

# C0 controls, DEL and C1 controls (ESC, CSI 0x9b, BEL ...): shown as escapes, never sent raw
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROLS.update({ord("\t"): "\\t", ord("\n"): "\\n", ord("\r"): "\\r"})
_LINES = {k: v for k, v in _CONTROLS.items() if k not in (ord("\n"), ord("\t"))}
_SURROGATES = re.compile("[\ud800-\udfff]")  # undecodable bytes of a file name (surrogateescape)
# format characters that reorder or hide text (bidi overrides, zero-width, BOM) and the
# Unicode line/paragraph separators: shown as \u escapes so a name cannot pass for another
_INVISIBLE = re.compile("[\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")


def visible(text: object, *, multiline: bool = False) -> str:
    """``text`` (anything read from a file or a directory name) safe to show on a terminal.

    Control characters become escapes (ESC shows as ``\\x1b``), so nothing from a file can
    move the cursor, retitle or clear the terminal; bidi overrides and other invisible format
    characters show as ``\\u`` escapes; bytes that were not UTF-8 become U+FFFD.
    ``multiline`` keeps newlines and tabs (notes, a model summary).
    """
    text = str(text)
    if text.isascii() and text.isprintable():
        return text
    if multiline:
        text = text.replace("\r\n", "\n")
    text = text.translate(_LINES if multiline else _CONTROLS)
    text = _INVISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return _SURROGATES.sub("\ufffd", text)


def tolerant_output(*streams) -> None:
    """Let ``streams`` (default stdout and stderr) write a character their encoding lacks as a
    replacement instead of raising ``UnicodeEncodeError`` (an ASCII locale, a strict
    PYTHONIOENCODING)."""
    for stream in streams or (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "strict") == "strict":
            with contextlib.suppress(ValueError, OSError):
                reconfigure(errors="replace")


def hp_text(value) -> str:
    """A hyperparameter's value in a table cell."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return visible(value)


def run_cells(r) -> list[str]:
    """The standard columns (``core.COLUMNS``) of a run summary as text, for `runs` and the browser."""
    if r.epochs_planned:
        epochs = f"{r.epochs or 0}/{r.epochs_planned}"
    else:
        epochs = "-" if r.epochs is None else str(r.epochs)
    started = visible(r.started[:16].replace("T", " ")) if r.started else "-"
    return [
        visible(r.name), visible(r.status), visible(r.dataset or "-"), visible(r.model or "-"),
        count(r.params), epochs, metric(r.best_val_accuracy), metric(r.test_accuracy),
        duration(r.duration), started, sweep_cell(r),
    ]  # fmt: skip


def sweep_cell(r) -> str:
    """A run's sweep and point (``sw-261207-081500 #3``), ``-`` for a run of no sweep."""
    if r.sweep is None:
        return "-"
    return visible(r.sweep) + ("" if r.sweep_point is None else f" #{r.sweep_point}")


def duration(seconds: float | None) -> str:
    if seconds is None or seconds < 0:
        return "-"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def metric(value: float | None, digits: int = 4) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}"


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A plain aligned text table; columns whose index is in ``right`` align right."""
    widths = table_widths(headers, rows)
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join(table_line(cells, widths, right) for cells in lines)


def table_widths(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[int]:
    """Each column's width: its widest cell or header."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=False)]
    return widths


def table_line(cells: Sequence[str], widths: Sequence[int], right: Sequence[int] = ()) -> str:
    """One line of :func:`table` (a cell wider than its column pushes the rest along)."""
    out = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=False))]
    return "  ".join(out).rstrip()


def set_content(widget, content) -> bool:
    """``widget.update(content)`` (a Static) unless it shows exactly that already: each
    update lays the whole screen out again. Returns whether the content changed."""
    old = widget.content
    if type(old) is type(content) and old == content:
        return False
    widget.update(content)
    return True
