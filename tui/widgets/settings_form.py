"""Training settings as a compact form; each invalid value is marked in place with the reason."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from keraslab import core
from textual.containers import Grid
from textual.message import Message
from textual.widgets import Input, Static

from .choice import Choice


@dataclass(frozen=True)
class Field:
    key: str          # RunConfig attribute
    label: str
    kind: str         # select | int | float | optint | optstr | text (empty: the default)
    choices: tuple[str, ...] = ()
    hint: str = ""


FIELDS = (
    Field("optimizer", "optimizer", "select", core.OPTIMIZERS),
    Field("learning_rate", "learning rate", "float"),
    Field("lr_schedule", "lr schedule", "select", core.LR_SCHEDULES),
    Field("momentum", "momentum", "float", hint="sgd/rmsprop"),
    Field("loss", "loss", "select", core.LOSSES),
    Field("batch_size", "batch size", "int"),
    Field("epochs", "epochs", "int"),
    Field("validation_split", "validation split", "float"),
    Field("early_stopping", "early stopping", "int", hint="patience, 0 = off"),
    Field("seed", "seed", "int"),
    Field("limit", "limit samples", "optint", hint="empty = all"),
    Field("name", "run name", "optstr", hint="empty = automatic"),
    # GPU nodes
    Field("device", "device", "text", hint="auto, cpu, gpu:N[,M], gpu:all"),
    Field("precision", "precision", "select", core.PRECISIONS),
    Field("gpu_memory_limit", "GPU memory MB", "optint", hint="empty = grow as needed"),
    Field("jit_compile", "XLA compile", "select", core.JIT_COMPILE),
    Field("steps_per_execution", "batches / call", "int", hint="1; more amortizes per-batch work"),
)
BY_KEY = {f.key: f for f in FIELDS}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def validate_settings(values: dict[str, Any], base: core.RunConfig) -> dict[str, str]:
    """Every invalid setting with its reason (RunConfig.validate reports one at a time)."""
    errors: dict[str, str] = {}
    trial = dict(values)
    defaults = core.RunConfig()
    for _ in range(len(FIELDS) + 1):
        config = core.RunConfig(**{**_base_dict(base), **trial})
        try:
            config.validate()
            break
        except core.ConfigError as exc:
            message = str(exc)
            key = next((f.key for f in FIELDS if message.startswith(f.key)), None)
            if key is None or key in errors:
                errors.setdefault("_", message)
                break
            reason = message.split(":", 1)[1].strip() if message.startswith(key + ":") else message
            errors[key] = reason.replace("_", " ")
            trial[key] = getattr(defaults, key)
    return errors


def _base_dict(base: core.RunConfig) -> dict[str, Any]:
    data = base.to_dict()
    data.pop("extra", None)
    return data


class SettingsForm(Grid):
    """The settings of the next run; posts `SettingsForm.Changed` whenever a value changes.

    A two-column grid of labels and values; an invalid value gets a row under it with the
    reason, mounted only while it is invalid. (The launch screen is redrawn whole on every
    return to it: each widget less here is felt as a quicker switch while a model trains.)
    The fields are mounted right after the screen's first paint, which they would slow by
    a third; until then the form reads as its initial values.
    """

    class Changed(Message):
        pass

    def __init__(self, config: core.RunConfig, **kwargs) -> None:
        super().__init__(**kwargs)
        self.initial = config
        self.errors: dict[str, str] = {}  # what the form shows
        self.ready = False  # the fields are mounted

    def on_mount(self) -> None:
        self.call_after_refresh(self._mount_fields)

    async def _mount_fields(self) -> None:
        widgets = []
        for f in FIELDS:
            value = getattr(self.initial, f.key)
            widgets.append(Static(f.label, classes="field-label", id=f"label-{f.key}"))
            if f.kind == "select":
                widgets.append(Choice([(c, c) for c in f.choices], value=value, id=f"set-{f.key}"))
            else:
                widgets.append(Input(
                    _text(value), placeholder=f.hint, id=f"set-{f.key}", classes="compact",
                    select_on_focus=True, validate_on=(),  # (we validate: no -valid class restyles)
                ))  # fmt: skip
        await self.mount_all(widgets)
        self.ready = True
        errors, self.errors = self.errors, {}
        self.show_errors(errors)

    def raw_values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """Parsed values and the fields whose text is not even a number."""
        values: dict[str, Any] = {}
        errors: dict[str, str] = {}
        if not self.ready:
            return {f.key: getattr(self.initial, f.key) for f in FIELDS}, errors
        for f in FIELDS:
            widget = self.query_one(f"#set-{f.key}")
            if f.kind == "select":
                values[f.key] = widget.value
                continue
            text = widget.value.strip()
            try:
                if f.kind == "int":
                    values[f.key] = int(text)
                elif f.kind == "float":
                    values[f.key] = float(text)
                elif f.kind == "optint":
                    values[f.key] = int(text) if text else None
                elif f.kind == "text":
                    values[f.key] = text or getattr(core.RunConfig(), f.key)
                else:
                    values[f.key] = text or None
            except ValueError:
                kind = "a number" if f.kind == "float" else "a whole number"
                errors[f.key] = f"{text!r} is not {kind}" if text else f"enter {kind}"
        return values, errors

    def check(self, base: core.RunConfig) -> tuple[dict[str, Any], dict[str, str]]:
        """Values and every error (parse errors first, then RunConfig's own checks)."""
        values, errors = self.raw_values()
        defaults = core.RunConfig()
        trial = {k: v for k, v in values.items() if k not in errors}
        trial.update({k: getattr(defaults, k) for k in errors})
        for key, reason in validate_settings(trial, base).items():
            errors.setdefault(key, reason)
        self.show_errors(errors)
        return values, errors

    def show_errors(self, errors: dict[str, str]) -> None:
        if errors == self.errors:  # (a fresh form shows none: self.errors starts empty)
            return
        self.errors = errors
        if not self.ready:  # shown when the fields are mounted
            return
        for f in FIELDS:
            message = errors.get(f.key)
            widget = self.query_one(f"#set-{f.key}")
            self.query_one(f"#label-{f.key}").set_class(bool(message), "invalid")
            widget.set_class(bool(message), "invalid")
            shown = self.query(f"#error-{f.key}")
            if message and shown:
                shown.first(Static).update(f"✗ {message}")
            elif message:  # a row of its own: an empty label cell and the reason
                self.mount(
                    Static(classes="field-error-pad", id=f"error-pad-{f.key}"),
                    Static(f"✗ {message}", classes="field-error", id=f"error-{f.key}"),
                    after=widget,
                )
            elif shown:
                shown.remove()
                self.query(f"#error-pad-{f.key}").remove()

    def set_value(self, key: str, value: Any) -> None:
        self.initial = replace(self.initial, **{key: value})  # (the fields are made from it)
        for widget in self.query(f"#set-{key}"):  # none before the fields are mounted
            widget.value = value if BY_KEY[key].kind == "select" else _text(value)
        if not self.ready:
            self.post_message(self.Changed())

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())

    def on_choice_changed(self, event: Choice.Changed) -> None:
        event.stop()
        self.post_message(self.Changed())
