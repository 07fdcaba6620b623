"""The launch screen's tweak loop: a past run's setup loaded ("based on RUN") with the live diff
against it, undo/redo of stack edits, reset to the based-on run, and a Keras model file imported."""

from __future__ import annotations

import dataclasses

from keraslab import core
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static

from .. import fmt
from ..fmt import visible
from ..stack_history import History
from ..widgets.settings_form import FIELDS, SettingsForm
from ..widgets.tweak_diff import BasedOnPanel, diff_text

TWEAK_BINDINGS = [
    Binding("ctrl+z", "undo_stack", "Undo", show=False),
    Binding("ctrl+y", "redo_stack", "Redo", show=False),
    Binding("ctrl+r", "reset_based_on", "Reset to based-on"),
    Binding("i", "import_model", "Import", show=False),  # (in the help: the footer is full)
]


class PathPrompt(ModalScreen[str | None]):
    """One line of text (a file path); enter gives it, escape gives None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PathPrompt { align: center middle; }
    #path-prompt { width: 90; height: auto; border: thick $accent; background: $surface; padding: 1 2; }
    """

    def __init__(self, title: str, placeholder: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="path-prompt"):
            yield Static(self.title_text, classes="section-title")
            yield Input(placeholder=self.placeholder, id="path-input")

    @on(Input.Submitted, "#path-input")
    def _submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TweakMixin:
    """Mixed into LaunchScreen: ``based_on`` is (run name, parent reference) once a run is loaded."""

    based_on: tuple[str, str] | None = None
    based_config: core.RunConfig | None = None

    def tweak_panel(self) -> Static:
        panel = BasedOnPanel("", id="based-on")
        panel.display = False
        return panel

    @property
    def stack_history(self) -> History:
        if "_stack_history" not in self.__dict__:
            self._stack_history: History = History()
        return self._stack_history

    # -- loading a run's setup
    def load_based_on(self, name: str, parent: str, config: core.RunConfig) -> None:
        """Load a run's whole setup (dataset, stack, every setting) as the next run's, based on it."""
        self.based_on, self.based_config = (name, parent), config
        self.base = config
        self._apply(config)
        self.stack_history.clear()
        self.query_one("#based-on", Static).display = True
        self._show_tweak_diff()

    def _apply(self, config: core.RunConfig) -> None:
        try:
            info = core.get_dataset_info(config.dataset)
        except core.KeraslabError as exc:
            self.notify(visible(exc), title="Dataset", severity="warning", markup=False)
            info = self.info
        datasets = self.query_one("#datasets", OptionList)
        if all(d.name != info.name for d in self.datasets):
            self.datasets.append(info)
            datasets.add_option(self._dataset_options()[-1])
        self.info, self.dataset = info, config.dataset if info.kind == "npz" else info.name
        datasets.highlighted = next(i for i, d in enumerate(self.datasets) if d.name == info.name)
        self._show_dataset_detail()
        form = self.query_one(SettingsForm)
        for f in FIELDS:
            form.set_value(f.key, getattr(config, f.key))
        try:
            self.set_stack(config.stack(), cursor=0)
        except core.SpecError as exc:
            self.notify(visible(exc), title="Model", severity="error", markup=False)

    # -- the live diff
    def current_config(self) -> core.RunConfig:
        """The setup as the screen shows it now (values not yet valid keep the base's)."""
        values, _ = self.query_one(SettingsForm).raw_values()
        model = core.format_stack(self.stack) if self.stack else self.base.model
        return dataclasses.replace(self.base, dataset=self.dataset, model=model, layers=None, **values)

    def _show_tweak_diff(self) -> None:
        if self.based_on is None or not self.is_mounted:
            return
        diff = core.config_diff(self.based_config, self.current_config())
        title = f"Based on {visible(self.based_on[0])} · ctrl+r resets"
        fmt.set_content(self.query_one("#based-on", Static), diff_text(diff, title=title))

    def record_lineage(self, config: core.RunConfig) -> None:
        """A run started from this screen records the run it is based on, and the diff."""
        if self.based_on is not None:
            config.parent = self.based_on[1]
            config.diff = core.config_diff(self.based_config, config).to_dict()

    # -- undo / redo / reset
    def remember_stack(self, stack) -> None:
        """Called by set_stack before a change: the stack it replaces can be gone back to."""
        if list(stack) != self.stack and not getattr(self, "_replaying", False):
            self.stack_history.record(list(self.stack))

    def _replay(self, stack) -> None:
        self._replaying = True
        try:
            self.set_stack(stack, cursor=0)
        finally:
            self._replaying = False

    def action_undo_stack(self) -> None:
        self._step(self.stack_history.undo, "undo")

    def action_redo_stack(self) -> None:
        self._step(self.stack_history.redo, "redo")

    def _step(self, go, word: str) -> None:
        stack = go(list(self.stack))
        if stack is None:
            self.notify(f"nothing to {word}")
        else:
            self._replay(stack)

    def action_reset_based_on(self) -> None:
        if self.based_config is not None:
            self._apply(self.based_config)
            self.notify(f"reset to {visible(self.based_on[0])}", markup=False)

    # -- import
    def action_import_model(self) -> None:
        def chosen(path: str | None) -> None:
            if path:
                self.import_model(path)

        self.app.push_screen(PathPrompt("Import a Keras model (.keras, .h5 or .json): its layers become the stack",
                                        "path/to/model.keras"), chosen)  # fmt: skip

    def import_model(self, path: str) -> bool:
        """Read a Keras model file's architecture (as data) into the stack; unsupported layers refuse it."""
        try:
            model = core.import_model(core.read_model_config(path))
        except core.KeraslabError as exc:
            self.notify(visible(exc), title="Cannot import", severity="error", markup=False)
            return False
        if model.unsupported or not model.stack:
            names = ", ".join(f"{n} ({c}): {why}" for _, n, c, why in model.unsupported) or "no layers"
            self.notify(visible(f"layers keraslab cannot express: {names}"), title="Cannot import",
                        severity="error", markup=False)  # fmt: skip
            return False
        self.set_stack(model.stack, cursor=0)
        self.notify(visible(f"imported {model.name}: {len(model.stack)} layers"), markup=False)
        return True

    def tweak_check(self, action: str) -> bool | None:
        """check_action for the tweak actions: reset only once based on a run (hidden before:
        the footer has room for the keys that act)."""
        if action == "reset_based_on":
            return self.based_on is not None
        return True
