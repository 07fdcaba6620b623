"""The launch screen: pick a dataset, design the model (table and notation), set up training."""

from __future__ import annotations

import dataclasses

from keraslab import core
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Checkbox, Input, OptionList, Static
from textual.widgets.option_list import Option

from .. import fmt
from ..widgets.action_button import ActionButton
from ..widgets.choice import Choice
from ..widgets.findings import FindingsView
from ..widgets.footer import KeyFooter
from ..widgets.layer_table import LayerTable, shape_text
from ..widgets.settings_form import SettingsForm
from .launch_tweak import TWEAK_BINDINGS, TweakMixin
from .sketch import SketchScreen
from .visibility import is_visible

AUGMENT_BLOCK = "rotate0.05-zoom0.1-translate0.1"
CUSTOM = "custom"
DEFAULT_PRESETS = {"digits": "avgpool", "cifar10": "cifar_conv2", "cifar100": "cifar_conv2"}


def default_preset(dataset: str) -> str:
    return DEFAULT_PRESETS.get(dataset, "cnn")


class LaunchScreen(TweakMixin, Screen):
    """Everything needed to start a run; `t` trains (or queues behind the current run)."""

    BINDINGS = [
        Binding("t", "train", "Train"),
        Binding("ctrl+t", "train", "Train", show=False, priority=True),
        Binding("v", "app.show_training", "Training view"),
        Binding("w", "sweep", "Sweep"),
        Binding("k", "sketch", "Sketch", show=False),  # (in the help: the footer keeps its palette key at 80 columns)
        Binding("R", "recipe", "Lab recipe", show=False),  # (the recipe line under the parameters says R)
        Binding("escape", "leave_field", "Leave field"),
        *TWEAK_BINDINGS,  # undo/redo, reset to the based-on run, import (launch_tweak)
    ]

    AUTO_FOCUS = "#datasets"  # focused once as the screen composes (a later focus() re-styles it all)

    def __init__(self, dataset: str = "digits", model: str | None = None) -> None:
        super().__init__()
        self.datasets = core.list_datasets()
        names = [d.name for d in self.datasets]
        try:
            self.info = core.get_dataset_info(dataset)
        except core.KeraslabError:
            self.info = core.get_dataset_info("digits")
        if self.info.name not in names:  # an .npz path: list it too
            self.datasets.append(self.info)
        self.dataset = dataset if self.info.name == dataset or dataset.endswith(".npz") else "digits"
        model = model or default_preset(self.info.name)
        try:
            self.stack = core.resolve_model(model)
        except core.SpecError:
            model = default_preset(self.info.name)
            self.stack = core.resolve_model(model)
        self.base = core.RunConfig(dataset=self.dataset, model=model)
        self.notation_error: str | None = None
        self.model_blocked = False
        self.settings_errors: dict[str, str] = {}
        self.findings: list[core.Finding] = []
        self.preview: core.Preview | None = None
        self._device_args: tuple[tuple, dict] | None = None  # ((device, precision) text, its lint arguments)

    # -- layout ---------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="launch-body"):
            with VerticalScroll(id="left-pane"):
                yield Static("Dataset", classes="section-title")
                yield OptionList(*self._dataset_options(), id="datasets", compact=True)
                yield Static("", id="dataset-detail")
                yield Static("Training", classes="section-title")
                yield SettingsForm(self.base, id="settings")
                yield Checkbox("augmentation (rotate, zoom, shift)", self._has_augmentation(),
                               id="augment", compact=True)
            with VerticalScroll(id="right-pane"):
                yield self.tweak_panel()
                yield Static("Model", classes="section-title")
                with Horizontal(classes="field"):
                    yield Static("preset", classes="field-label")
                    yield Choice(self._preset_options(), value=self._matching_preset(), id="preset")
                yield Input(core.format_stack(self.stack), id="notation", classes="compact", validate_on=(),
                            placeholder="layer notation, e.g. conv32k3-relu-maxpool2 | flatten-out-softmax",
                            select_on_focus=False)
                yield Static("", id="notation-error")
                yield LayerTable(id="layers")
                yield Static("", id="params-total")
                yield Static("", id="recipe-line")
                yield FindingsView("", id="findings")
        with Horizontal(id="launch-status-bar"):
            yield Static("", id="launch-status")
            yield ActionButton("Train (t)", id="train")
        yield KeyFooter()

    def _dataset_options(self) -> list[Option]:
        options = []
        for info in self.datasets:
            ready = core.availability(info.name).ready if info.kind != "npz" else True
            text = Text()
            text.append(f"{info.name:<14}", style="bold")
            text.append(f"{shape_text(info.input_shape):<8}{info.num_classes:>4} cls ")
            text.append("✓ here" if ready else "✗ absent", style="green" if ready else "red")
            options.append(Option(text, id=info.name))
        return options

    def _preset_options(self) -> list[tuple[str, str]]:
        options = [(f"{p.name}: {p.description}", p.name) for p in core.PRESETS.values()]
        options.append(("custom stack", CUSTOM))
        return options

    def on_mount(self) -> None:
        datasets = self.query_one("#datasets", OptionList)
        index = next((i for i, d in enumerate(self.datasets) if d.name == self.info.name), 0)
        datasets.highlighted = index
        self._show_dataset_detail()
        self._refresh_model(cursor=0)
        self._check_settings()

    # -- dataset --------------------------------------------------------------------------
    @on(OptionList.OptionHighlighted, "#datasets")
    def _dataset_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        name = event.option.id
        if name is None or name == self.info.name:
            return
        self.info = next(d for d in self.datasets if d.name == name)
        self.dataset = name
        self._show_dataset_detail()
        self._refresh_model()
        self._update_status()

    def _show_dataset_detail(self) -> None:
        info = self.info
        text = Text()
        text.append(f"{info.title}", style="bold")
        text.append(f"  {fmt.count(info.train_size)} train · {fmt.count(info.test_size)} test\n")
        if info.kind == "npz":
            text.append(".npz file", style="green")
        else:
            avail = core.availability(info.name)
            if avail.ready:
                text.append(f"available offline: {avail.location or avail.message}", style="green")
            else:
                text.append(avail.message, style="yellow")
        fmt.set_content(self.query_one("#dataset-detail", Static), text)

    # -- model ----------------------------------------------------------------------------
    def _matching_preset(self) -> str:
        for preset in core.PRESETS.values():
            if preset.stack == self.stack:
                return preset.name
        return CUSTOM

    def _has_augmentation(self) -> bool:
        return bool(self.stack) and self.stack[0].layer_type.category == "augment"

    def set_stack(self, stack: list[core.LayerSpec], *, cursor: int | None = None,
                  from_notation: bool = False) -> None:
        """Replace the stack and bring the table, notation, preset and switch in line."""
        self.remember_stack(stack)
        self.stack = list(stack)
        if not from_notation:
            self.notation_error = None
            notation = self.query_one("#notation", Input)
            text = core.format_stack(self.stack) if self.stack else ""
            if notation.value != text:
                notation.value = text
        preset = self.query_one("#preset", Choice)
        match = self._matching_preset()
        if preset.value != match:
            with preset.prevent(Choice.Changed):
                preset.value = match
        switch = self.query_one("#augment", Checkbox)
        if switch.value != self._has_augmentation():
            with switch.prevent(Checkbox.Changed):
                switch.value = self._has_augmentation()
        self._refresh_model(cursor=cursor)

    def _refresh_model(self, cursor: int | None = None) -> None:
        """Preview shapes/parameters and lint; pure Python, cheap enough for every keystroke."""
        info = self.info
        rows: list[core.LayerRow] = []
        error_layer: int | None = None
        self.preview = None
        if self.stack:
            try:
                self.preview = core.preview_stack(self.stack, info.input_shape, info.num_classes,
                                                  check_output=False)
                rows = self.preview.rows
            except core.SpecError as exc:
                error_layer = exc.layer
                if error_layer:
                    try:
                        rows = core.preview_stack(self.stack[:error_layer], info.input_shape,
                                                  info.num_classes, check_output=False).rows
                    except core.SpecError:
                        rows = []
            self.findings = core.lint_stack(
                self.stack, info.input_shape, info.num_classes,
                loss=self._loss(), from_logits=not core.output_is_probabilities(self.stack),
                **self._device_lint(),
            )
        else:
            self.findings = []
        errors = [f for f in self.findings if f.severity == "error"]
        if error_layer is None and errors and errors[0].layer is not None and self.preview is None:
            error_layer = errors[0].layer
        self.query_one(LayerTable).show(self.stack, rows, error_layer, cursor)
        total = self.query_one("#params-total", Static)
        if self.preview is not None and not errors:
            p = self.preview
            fmt.set_content(total, f"{fmt.count(p.total_params)} parameters "
                            f"({fmt.count(p.trainable_params)} trainable) · input "
                            f"{shape_text(info.input_shape)} · {info.num_classes} classes")
        elif self.stack:
            fmt.set_content(total, Text(f"{len(errors)} error(s): the model cannot be trained "
                                        "as it is", style="bold red"))
        else:
            fmt.set_content(total, Text("empty stack: press a to add a layer", style="bold red"))
        preset = self._recipe_preset()
        fmt.set_content(self.query_one("#recipe-line", Static), Text(
            f"{preset.name}'s lab recipe (R applies it): {preset.recipe.describe()}" if preset else "",
            style="dim"))
        empty = None if self.stack else "the stack is empty"
        self.query_one(FindingsView).show(self.findings, self.notation_error or empty)
        error = self.query_one("#notation-error", Static)
        fmt.set_content(error, f"✗ {self.notation_error}" if self.notation_error else "")
        if error.display != bool(self.notation_error):
            error.display = bool(self.notation_error)
        self.query_one("#notation", Input).set_class(bool(self.notation_error), "invalid")
        self.model_blocked = bool(self.notation_error) or not self.stack or bool(errors)
        self._show_tweak_diff()
        self._update_status()

    def _loss(self) -> str:
        value = self.query_one(SettingsForm).raw_values()[0].get("loss")
        return value if isinstance(value, str) else self.base.loss

    @on(Choice.Changed, "#preset")
    def _preset_changed(self, event: Choice.Changed) -> None:
        name = event.value
        if not isinstance(name, str) or name == CUSTOM or name not in core.PRESETS:
            return
        stack = core.PRESETS[name].stack
        if stack != self.stack or self.notation_error:
            self.set_stack(stack, cursor=0)

    @on(Input.Changed, "#notation")
    def _notation_changed(self, event: Input.Changed) -> None:
        text = event.value
        try:
            stack = core.parse_stack(text)
        except core.SpecError as exc:
            self.notation_error = str(exc)
            self._refresh_model()
            return
        had_error = self.notation_error is not None
        self.notation_error = None
        if stack != self.stack or had_error:
            self.set_stack(stack, from_notation=True)

    @on(LayerTable.Edit)
    def _layer_edit(self, event: LayerTable.Edit) -> None:
        from .layer_edit import LayerEditScreen, LayerTypeScreen

        i = event.index
        stack = list(self.stack)
        if event.action == "add":
            def add(spec: core.LayerSpec | None) -> None:
                if spec is not None:
                    at = i + 1 if stack else 0
                    self.set_stack([*self.stack[:at], spec, *self.stack[at:]], cursor=at)
                    self.query_one(LayerTable).focus()

            self.app.push_screen(LayerTypeScreen(), add)
        elif not stack or i < 0 or i >= len(stack):
            return
        elif event.action == "edit":
            def edit(spec: core.LayerSpec | None) -> None:
                if spec is not None and i < len(self.stack):
                    self.set_stack([*self.stack[:i], spec, *self.stack[i + 1:]], cursor=i)

            self.app.push_screen(LayerEditScreen(stack[i], self.info), edit)
        elif event.action == "remove":
            del stack[i]
            self.set_stack(stack, cursor=max(0, min(i, len(stack) - 1)))
        elif event.action in ("up", "down"):
            j = i - 1 if event.action == "up" else i + 1
            if 0 <= j < len(stack):
                stack[i], stack[j] = stack[j], stack[i]
                self.set_stack(stack, cursor=j)

    @on(Checkbox.Changed, "#augment")
    def _augment_changed(self, event: Checkbox.Changed) -> None:
        rest = list(self.stack)
        while rest and rest[0].layer_type.category == "augment":
            rest.pop(0)
        if event.value:
            rest = core.parse_stack(AUGMENT_BLOCK) + rest
        self.set_stack(rest)

    # -- settings -------------------------------------------------------------------------
    @on(SettingsForm.Changed)
    def _settings_changed(self) -> None:
        self._check_settings()
        self._refresh_model()

    def _device_lint(self) -> dict:
        """lint_stack's device arguments from the form's device and precision, asked of the
        device (NVML on a GPU node) once per device and precision text, not every keystroke."""
        values = self.query_one(SettingsForm).raw_values()[0]
        key = (values.get("device"), values.get("precision"))
        if self._device_args is None or self._device_args[0] != key:
            self._device_args = (key, core.device_lint_args(*key))
        return self._device_args[1]

    def _check_settings(self) -> dict:
        values, errors = self.query_one(SettingsForm).check(self.base)
        self.settings_errors = errors
        self._update_status()
        return values

    # -- training -------------------------------------------------------------------------
    @property
    def can_train(self) -> bool:
        return not self.model_blocked and not self.settings_errors

    def build_config(self) -> core.RunConfig | None:
        values = self._check_settings()
        if not self.can_train:
            return None
        match = self._matching_preset()
        model = match if match != CUSTOM else core.format_stack(self.stack)
        config = dataclasses.replace(self.base, dataset=self.dataset, model=model, layers=None, **values)
        self.record_lineage(config)
        try:
            return config.validate()
        except core.ConfigError as exc:
            self.notify(str(exc), severity="error")
            return None

    def action_train(self) -> None:
        config = self.build_config()
        if config is None:
            self.notify(self._problems() or "Fix the marked problems first.",
                        title="Cannot train yet", severity="warning")
            return
        self.app.submit(config)
        if self.app.current is not None and self.app.current.config is config:
            self.app.action_show_training()

    def _recipe_preset(self) -> core.Preset | None:
        """The preset whose stack this is (with or without augmentation in front), if it has a recipe."""
        rest = list(self.stack)
        while rest and rest[0].layer_type.category == "augment":
            rest.pop(0)
        return next((p for p in core.PRESETS.values() if p.recipe and p.stack == rest), None)

    def action_recipe(self) -> None:
        """Set the training settings (and augmentation) to the preset's lab recipe."""
        preset = self._recipe_preset()
        if preset is None:
            have = ", ".join(p.name for p in core.PRESETS.values() if p.recipe)
            self.notify(f"Only these presets' stacks have one: {have}.", title="No lab recipe",
                        severity="warning")
            return
        form = self.query_one(SettingsForm)
        for key, value in preset.recipe.settings().items():
            form.set_value(key, value)
        self.set_stack(preset.recipe_stack())
        self.notify(preset.recipe.note, title=f"{preset.name}: lab recipe applied")

    def action_sketch(self) -> None:
        """The stack being designed as a block diagram (on the chosen dataset's input)."""
        info = self.info
        try:
            lines = core.sketch_stack(self.stack, info.input_shape, info.num_classes)
        except core.KeraslabError as exc:
            lines = [f"cannot draw this stack: {exc}"]
        self.app.push_screen(SketchScreen(f"{core.format_stack(self.stack)} on {info.name}", lines))
    def action_sweep(self) -> None:
        """These settings as a sweep: one option given a list, run locally or on SLURM."""
        config = self.build_config()
        if config is None:
            self.notify(self._problems() or "Fix the marked problems first.", title="Cannot sweep yet", severity="warning")
            return
        from .sweep_launch import SweepLaunchScreen

        self.app.push_screen(SweepLaunchScreen(config, self.app.logdir),
                             lambda report: report and self.notify(report, title="Sweep started"))  # fmt: skip

    @on(ActionButton.Pressed, "#train")
    def _train_pressed(self) -> None:
        self.action_train()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("train", "sweep"):
            return True if self.can_train else None
        if action == "leave_field":  # shown (and bound) only while typing in a field
            return isinstance(self.focused, (Input, Choice))
        return self.tweak_check(action)

    def action_leave_field(self) -> None:
        """Out of a text field, so that single keys (t, v, r, q) act again."""
        self.query_one("#datasets", OptionList).focus()

    # -- status ---------------------------------------------------------------------------
    def _problems(self) -> str:
        problems = []
        if self.notation_error:
            problems.append("notation")
        elif not self.stack:
            problems.append("empty stack")
        elif self.model_blocked:
            problems.append("model errors")
        problems += [k.replace("_", " ") for k in self.settings_errors if k != "_"]
        if "_" in self.settings_errors:
            problems.append(self.settings_errors["_"])
        return f"Fix before training: {', '.join(problems)}" if problems else ""

    def _update_status(self) -> None:
        if not self.is_mounted:
            return
        status = self.query_one("#launch-status", Static)
        button = self.query_one("#train", ActionButton)
        app = self.app
        current = getattr(app, "current", None)
        text = Text()
        if current is not None:
            p = current.progress
            where = f"epoch {p.epoch + 1}/{p.epochs}" if p else (current.phase or current.status)
            text.append(f"▶ {current.name} {current.status}: {where}", style="cyan")
            queued = len(app.queued)
            if queued:
                text.append(f" (+{queued} queued)")
            text.append(" · v: view · ")
        problems = self._problems()
        if problems:
            text.append(problems, style="bold red")
        else:
            label = self._matching_preset()
            params = f" · {fmt.count(self.preview.total_params)} params" if self.preview else ""
            verb = "queue" if current is not None else "train"
            text.append(f"Ready: {self.info.name} · {label}{params} · t to {verb}", style="green")
        status.update(text, layout=False)  # one row in a fixed-height bar: no layout pass
        if button.disabled != (not self.can_train):
            button.disabled = not self.can_train
        label = "Queue (t)" if current is not None else "Train (t)"
        if str(button.label) != label:
            button.label = label
        self.refresh_bindings()  # train availability (KeyFooter redraws only on a change)

    def refresh_status(self) -> None:
        # hidden behind the training view, an update would only cost a layout pass of an
        # invisible screen on each epoch; on_screen_resume brings it up to date
        if is_visible(self):
            self._update_status()

    def on_screen_resume(self) -> None:
        self._update_status()
