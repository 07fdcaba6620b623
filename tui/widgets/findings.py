"""The linter's findings (and notation/shape errors) as a short colored list."""

from __future__ import annotations

from collections.abc import Sequence

from keraslab import core
from rich.text import Text
from textual.widgets import Static

from .. import fmt

ICONS = {"error": ("✗", "bold red"), "warning": ("!", "yellow"), "hint": ("·", "cyan")}


class FindingsView(Static):
    """One line per finding: severity mark, layer, message, and the suggested fix dimmed."""

    def show(self, findings: Sequence[core.Finding], error: str | None = None) -> None:
        text = Text()
        if error:
            text.append("✗ ", style="bold red")
            text.append(error + "\n")
        for f in findings:
            icon, style = ICONS.get(f.severity, ("-", ""))
            text.append(f"{icon} ", style=style)
            if f.layer is not None:
                text.append(f"layer {f.layer + 1}: ", style="bold")
            text.append(f.message)
            if f.suggestion:
                text.append(f" - {f.suggestion}", style="dim")
            text.append("\n")
        if not text.plain:
            text.append("✓ no findings: the linter has nothing to say", style="green")
        text.rstrip()
        fmt.set_content(self, text)
        self.set_class(bool(error) or any(f.severity == "error" for f in findings), "has-errors")
