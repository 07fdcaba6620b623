"""The curve diagnosis of a run as a short colored list: severity mark, finding with its evidence, the fix dimmed."""

from __future__ import annotations

from collections.abc import Sequence

from keraslab import core
from rich.text import Text
from textual.widgets import Static

from .. import fmt
from .findings import ICONS


def diagnosis_text(findings: Sequence[core.Diagnosis], epochs: int, notes: Sequence[str] = ()) -> Text:
    """What the curves say, as rich text (also what a report's plain text starts from)."""
    text = Text()
    if not epochs:
        text.append("no epochs recorded yet: the diagnosis starts after the first one", style="dim")
        return text
    for d in findings:
        icon, style = ICONS.get(d.severity, ("-", ""))
        text.append(f"{icon} ", style=style)
        text.append(fmt.visible(d.message))
        text.append(f"\n  -> {fmt.visible(d.suggestion)}\n", style="dim")
    if not findings:
        text.append(f"✓ no findings after {epochs} epoch{'s' if epochs > 1 else ''}: the curves look healthy",
                    style="green")
    for note in notes:
        text.append(f"\nnote: {fmt.visible(note)}", style="dim italic")
    text.rstrip()
    return text


class DiagnosisView(Static):
    """Findings of the curve diagnosis; ``show`` replaces them."""

    def show(self, findings: Sequence[core.Diagnosis], epochs: int, notes: Sequence[str] = ()) -> None:
        fmt.set_content(self, diagnosis_text(findings, epochs, notes))
        self.set_class(any(d.severity == "error" for d in findings), "has-errors")
