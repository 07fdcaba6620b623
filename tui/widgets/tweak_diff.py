"""What differs from the run a setup is based on: the settings and a layer-by-layer stack diff, as Rich text."""

from __future__ import annotations

from keraslab import core
from rich.text import Text
from textual.widgets import Static

from .. import fmt
from ..fmt import visible

_MARKS = {" ": ("  ", "dim"), "+": ("+ ", "green"), "-": ("- ", "red"), "~": ("~ ", "yellow")}


def params_text(diff: core.StackDiff) -> str:
    """``+4,160 params: 650 -> 4,810``, or '' when either stack could not be counted."""
    change = diff.param_change
    if change is None:
        return ""
    return f"{change:+,} params: {fmt.count(diff.old_params)} -> {fmt.count(diff.new_params)}"


def diff_text(diff: core.ConfigDiff | None, *, title: str = "", error: str | None = None) -> Text:
    """The settings changed (one a line) and the stack aligned layer by layer: + added,
    - removed, ~ changed, unchanged layers dimmed; the parameter change in the heading."""
    text = Text()
    if title:
        text.append(title + "\n", style="bold")
    if diff is None:
        text.append(error or "", style="red")
        return text
    if diff.empty:
        text.append("no change yet", style="dim")
        return text
    for line in diff.setting_texts():
        text.append(f"~ {visible(line)}\n", style="yellow")
    if diff.stack is None:
        text.append(f"layers: {visible(diff.stack_error or 'cannot be read')}", style="red")
        return text
    if diff.stack.changes:
        text.append("layers" + (f" ({params_text(diff.stack)})" if params_text(diff.stack) else "") + "\n")
        for mark, old, new in diff.stack.rows:
            prefix, style = _MARKS[mark]
            token = f"{old} -> {new}" if mark == "~" else (new or old or "")
            text.append(f"{prefix}{visible(token)}\n", style=style)
    text.rstrip()
    return text


class BasedOnPanel(Static):
    """The launch screen's "based on RUN" box: what differs from that run, kept up to date."""

    DEFAULT_CSS = """
    BasedOnPanel { border: round $accent; padding: 0 1; height: auto; max-height: 18; margin-bottom: 1; }
    """
