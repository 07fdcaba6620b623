"""Dialogs of the layer table: pick a layer type to add, edit one layer's parameters."""

from __future__ import annotations

from typing import Any

from keraslab import core
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

# One example of every layer type, parsed with the core notation: the picker's entries.
EXAMPLES = ("conv32k3-dense128-out-maxpool2-avgpool2-gap-flatten-bn-dropout0.5-relu-"
            "flip-rotate0.05-zoom0.1-translate0.1-contrast0.2")


def layer_examples() -> list[core.LayerSpec]:
    return core.parse_stack(EXAMPLES)


class LayerTypeScreen(ModalScreen[core.LayerSpec | None]):
    """Choose the kind of layer to add; it is inserted with example parameters (then edit it)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="layer-type-dialog"):
            yield Static("Add a layer (enter adds, escape cancels)", classes="dialog-title")
            options = []
            for i, spec in enumerate(layer_examples()):
                text = Text()
                text.append(f"{spec.token:<13}", style="bold")
                text.append(spec.layer_type.summary, style="dim")
                options.append(Option(text, id=str(i)))
            yield OptionList(*options, id="layer-types")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(layer_examples()[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)


class LayerEditScreen(ModalScreen[core.LayerSpec | None]):
    """A form with one field per parameter of the layer; the token updates as you type."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "save", "Save", priority=True),
    ]

    def __init__(self, spec: core.LayerSpec, info: core.DatasetInfo | None = None) -> None:
        super().__init__()
        self.spec = spec
        self.info = info
        self.params = spec.layer_type.params
        self.result: core.LayerSpec | None = spec

    def compose(self) -> ComposeResult:
        lt = self.spec.layer_type
        with Vertical(classes="dialog", id="layer-edit-dialog"):
            yield Static(f"Edit layer: {lt.summary}", classes="dialog-title")
            with VerticalScroll(id="layer-edit-fields"):
                if not self.params:
                    yield Static("This layer has no parameters.")
                for p in self.params:
                    value = self.spec.params.get(p.name)
                    with Horizontal(classes="field"):
                        yield Label(p.name, classes="field-label")
                        if p.kind == "choice":
                            yield Select(
                                [(c, c) for c in p.choices],
                                value=value if value is not None else Select.NULL,
                                allow_blank=p.default is None, compact=True, id=f"p-{p.name}",
                            )
                        else:
                            yield Input("" if value is None else p.to_text(value), compact=True,
                                        id=f"p-{p.name}", placeholder=_hint(p))
                    hint = " · ".join(x for x in (p.doc, p.range_text()) if x)
                    if hint:
                        yield Static(hint, classes="field-hint")
            yield Static("", id="layer-token")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save (ctrl+s)", variant="success", id="save")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self._update()
        first = self.query("Input, Select").first() if self.params else self.query_one("#save")
        first.focus()

    def build(self) -> core.LayerSpec:
        raw: dict[str, Any] = {}
        for p in self.params:
            widget = self.query_one(f"#p-{p.name}")
            if p.kind == "choice":
                value = widget.value
                raw[p.name] = None if value is Select.NULL else value
                continue
            text = widget.value.strip()
            if not text:
                if p.required:
                    raise core.SpecError(f"{p.name} is required")
                raw[p.name] = p.default
            else:
                try:
                    raw[p.name] = p.from_text(text)
                except core.SpecError as exc:
                    raise core.SpecError(f"{p.name}: {exc}") from None
        return core.LayerSpec(self.spec.type, raw)

    def _update(self) -> None:
        label = self.query_one("#layer-token", Static)
        try:
            self.result = self.build()
        except core.SpecError as exc:
            self.result = None
            label.update(Text(f"✗ {exc}", style="bold red"))
        else:
            label.update(Text.assemble(("layer: ", "dim"), (self.result.token, "bold green")))
        self.query_one("#save", Button).disabled = self.result is None

    @on(Input.Changed)
    @on(Select.Changed)
    def _changed(self) -> None:
        self._update()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        self._update()
        if self.result is not None:
            self.dismiss(self.result)

    def action_cancel(self) -> None:
        self.dismiss(None)


def _hint(p: Any) -> str:
    if p.kind == "units":
        return "number or 'classes'"
    if p.kind == "size":
        return "e.g. 3 or 3x5"
    if p.kind == "init":
        return "e.g. he_normal, normal0.05"
    return "default" if not p.required else "required"
