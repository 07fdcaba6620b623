"""The run detail screen: config, model summary, every scalar curve, its console (output.log), editable notes and tags, archive/delete."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keraslab.core import (
    RESUMABLE,
    SYSTEM_PREFIX,
    KeraslabError,
    RunCurves,
    RunSummary,
    archive_run,
    axis_label,
    delete_run,
    diagnose_run,
    has_last_checkpoint,
    load_curves,
    load_summary,
    parse_tags,
    read_notes,
    read_run_text,
    read_tags,
    resume_point,
    run_architecture,
    sketch_stack,
    write_notes,
    write_report,
    write_tags,
)
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Input, Static, TabbedContent, TabPane, TextArea

from .. import fmt
from ..fmt import visible
from ..widgets.curves import CurvePlot
from ..widgets.diagnosis import DiagnosisView
from ..widgets.evaluation import EvaluationPanel
from ..widgets.footer import KeyFooter
from ..widgets.output_log import OutputLogView
from .confirm import ConfirmScreen
from .sketch import SketchScreen


def curve_groups(names) -> dict[str, list[str]]:
    """Metric names grouped into charts: ``loss`` with ``val_loss``, each other tag alone.

    Charts come in reading order: loss, accuracy, other epoch metrics, then the
    batch-level curves.
    """
    groups: dict[str, list[str]] = {}
    for name in names:
        base = name[4:] if name.startswith("val_") else name
        groups.setdefault(base, []).append(name)

    def rank(base: str) -> tuple:
        return (base.startswith("batch/"), base != "loss", base != "accuracy", base)

    return {base: sorted(groups[base]) for base in sorted(groups, key=rank)}


def run_signature(path: Path) -> tuple:
    """Names, sizes and mtimes of every file of a run (to notice that it grew)."""
    sig = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            try:
                st = os.stat(os.path.join(root, name))
            except OSError:
                continue
            sig.append((root, name, st.st_size, st.st_mtime_ns))
    return tuple(sig)


class CurvesLoaded(Message):
    """Curves of the shown run were (re)read; a newer load replaces an older one."""

    def __init__(self, curves: RunCurves, summary: RunSummary | None, diagnosis=None):
        super().__init__()
        self.curves = curves
        self.summary = summary
        self.diagnosis = diagnosis

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CurvesLoaded)


class RunDetailScreen(Screen):
    """One run in depth; dismisses with True when the run was changed (notes, tags, archive, delete)."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("ctrl+s", "save", "Save notes"),
        Binding("A", "archive", "Archive"),
        Binding("D", "delete", "Delete"),
        Binding("u", "resume", "Resume"),
        Binding("k", "sketch", "Sketch"),
        Binding("P", "report", "Report"),
        Binding("e", "edit_run", "Edit as new"),
    ]

    def __init__(self, run: RunSummary | str | Path, *, follow: bool = True, interval: float = 1.5):
        super().__init__()
        self.run = run if isinstance(run, RunSummary) else load_summary(run)
        self.path = self.run.path
        self.follow = follow
        self.interval = interval
        self.changed = False
        self.curves: RunCurves | None = None
        self._signature: tuple | None = None
        self._plots: dict[str, CurvePlot] = {}

    def compose(self) -> ComposeResult:
        yield Static(self._header(), id="detail-title")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Curves", id="tab-curves"):
                yield VerticalScroll(Static("loading ...", id="curves-empty"), id="curves")
            with TabPane("Diagnosis", id="tab-diagnosis"):
                yield VerticalScroll(DiagnosisView("reading the curves ...", id="diagnosis-view"))
            with TabPane("System", id="tab-system"):
                yield VerticalScroll(Static("no system metrics recorded", id="system-empty"), id="system-curves")
            with TabPane("Config", id="tab-config"):
                yield VerticalScroll(Static(Text(self._config_text()), id="config-text"))
            with TabPane("Model", id="tab-model"):
                yield VerticalScroll(Static("", id="model-text"))
            with TabPane("Notes", id="tab-notes"):
                yield Input(visible(", ".join(read_tags(self.path))), placeholder="tags, separated by commas",
                            id="tags-input")
                self._notes_shown = visible(read_notes(self.path), multiline=True)
                yield TextArea(self._notes_shown, id="notes-area")
                with Horizontal(id="notes-buttons"):
                    yield Button("Save (ctrl+s)", id="save-notes", variant="primary")
                    yield Button("Archive (A)", id="archive-run")
                    yield Button("Delete (D)", id="delete-run", variant="error")
            if self.run.kind == "keraslab":
                with TabPane("Evaluation", id="tab-eval"):
                    yield EvaluationPanel(self.path, id="evaluation")
            with TabPane("Output", id="tab-output"):
                yield OutputLogView(self.path, follow=self.follow, interval=self.interval, id="output-log")
            with TabPane("Warnings", id="tab-warnings"):
                yield VerticalScroll(Static(Text(self._warnings_text()), id="warnings-text"))
        yield KeyFooter()

    def _header(self) -> Text:
        r = self.run
        text = Text()
        text.append(visible(r.name), style="bold")
        text.append(f"  [{r.kind}]  {visible(r.status)}  ")
        bits = [
            f"dataset {visible(r.dataset)}" if r.dataset else "",
            f"model {visible(r.model)}" if r.model else "",
            f"{fmt.count(r.params)} params" if r.params else "",
            f"epochs {r.epochs}" if r.epochs is not None else "",
            f"best val acc {fmt.metric(r.best_val_accuracy)}" if r.best_val_accuracy is not None else "",
            f"test acc {fmt.metric(r.test_accuracy)}" if r.test_accuracy is not None else "",
            f"duration {fmt.duration(r.duration)}" if r.duration is not None else "",
        ]
        text.append("  ".join(b for b in bits if b))
        text.append(f"\n{visible(r.path)}", style="dim")
        return text

    def _config_text(self) -> str:
        lines = []
        if self.run.hparams:
            names = {k: visible(k) for k in self.run.hparams}
            width = max(len(k) for k in names.values()) + 2
            lines += ["Hyperparameters", ""]
            lines += [f"  {names[k]:<{width}}{fmt.hp_text(v)}" for k, v in sorted(self.run.hparams.items())]
        config = self.path / "config.json"
        if config.exists():
            try:
                data = json.loads(read_run_text(config))
                lines += ["", "config.json", "", json.dumps(data, indent=2)]  # (escapes controls)
            except (OSError, ValueError, RecursionError) as exc:
                lines += ["", f"config.json unreadable: {visible(exc)}"]
        if self.run.metrics:
            lines += ["", "Metrics (first / last / best)", ""]
            for name, s in sorted(self.run.metrics.items()):
                lines.append(
                    f"  {visible(name):<28}{fmt.metric(s.first)}  {fmt.metric(s.last)}  "
                    f"{fmt.metric(s.best(name))}  ({s.count} points)"
                    + (f"  tag {visible(self.run.metric_tags[name])}" if name in self.run.metric_tags else "")
                )
        return "\n".join(lines) or "no configuration recorded (a plain TensorBoard log)"

    def _warnings_text(self) -> str:
        warnings = list(self.run.warnings) + (list(self.curves.warnings) if self.curves else [])
        return "\n".join(dict.fromkeys(visible(w) for w in warnings)) or "no warnings"

    @on(TabbedContent.TabActivated, pane="#tab-eval")
    def _evaluation_shown(self) -> None:
        self.query_one(EvaluationPanel).start()  # (read only when asked for)

    def on_mount(self) -> None:
        self._load()
        if self.follow:
            self.set_interval(self.interval, self._poll)

    # -- loading (thread workers)
    @work(thread=True, exclusive=True, group="detail-load")
    def _load(self) -> None:
        if not self.path.is_dir():
            return
        self._signature = run_signature(self.path)
        try:
            curves = load_curves(self.path)
            summary = load_summary(self.path, self.run.logdir)
            diagnosis = diagnose_run(self.path, curves)
        except KeraslabError:
            return
        self.post_message(CurvesLoaded(curves, summary, diagnosis))

    def _poll(self) -> None:
        self._check_growth()

    @work(thread=True, exclusive=True, group="detail-poll")
    def _check_growth(self) -> None:
        if self.path.is_dir() and run_signature(self.path) != self._signature:
            self._load()

    def on_curves_loaded(self, message: CurvesLoaded) -> None:
        self.curves = message.curves
        if message.summary is not None:
            message.summary.name = self.run.name
            self.run = message.summary
            self.query_one("#detail-title", Static).update(self._header())
            self.refresh_bindings()  # (whether the run can resume may have changed)
        self._show_curves()
        if message.diagnosis is not None:
            d = message.diagnosis
            self.query_one("#diagnosis-view", DiagnosisView).show(d.findings, d.epochs, d.notes)
        texts = self.curves.texts
        model = self.path / "summary.txt"
        body = ""
        if model.exists():
            try:
                body = read_run_text(model)
            except OSError as exc:
                body = f"summary.txt unreadable: {exc}"
        elif texts:
            body = "\n\n".join(f"{tag} (step {step})\n{text}" for tag, items in texts.items() for step, text in items[-1:])
        self.query_one("#model-text", Static).update(Text(visible(body, multiline=True) or "no model summary recorded"))
        self.query_one("#warnings-text", Static).update(Text(self._warnings_text()))

    def _show_curves(self) -> None:
        names = [n for n in self.curves.curves if not n.startswith(SYSTEM_PREFIX)]
        system = [n for n in self.curves.curves if n.startswith(SYSTEM_PREFIX)]
        self._show_plots("curves", curve_groups(names), "epoch", "no scalars recorded yet")
        self._show_plots("system-curves", {n: [n] for n in system}, "step", None)  # (x: seconds)

    def _show_plots(self, where: str, groups: dict[str, list[str]], axis: str, none: str | None) -> None:
        """Plots of ``groups`` (title -> curve names) in the container ``#where``."""
        container = self.query_one(f"#{where}", VerticalScroll)
        empty = container.query("#curves-empty, #system-empty")
        if not groups:
            if none is not None and empty:
                empty.first(Static).update(none)
            return
        empty.remove()
        for title, names in groups.items():
            plot = self._plots.get(title)
            if plot is None:
                plot = self._plots[title] = CurvePlot(classes="detail-plot")
                container.mount(plot)
            curves = [self.curves.curves[n] for n in names]
            series = [(n, c.xs(axis), c.values) for n, c in zip(names, curves, strict=True)]
            xlabel = "seconds into training" if axis == "step" else axis_label(curves, axis)
            plot.show(title, series, xlabel=xlabel)

    # -- editing
    @on(Button.Pressed, "#save-notes")
    def action_save(self) -> None:
        try:
            notes = self.query_one("#notes-area", TextArea).text
            if notes != self._notes_shown:  # (unedited notes stay as the file has them)
                write_notes(self.path, notes)
                self._notes_shown = notes
            write_tags(self.path, parse_tags(self.query_one("#tags-input", Input).value))
        except KeraslabError as exc:
            self.notify(visible(exc), severity="error", markup=False)
            return
        self.changed = True
        self.notify("notes and tags saved")

    @on(Button.Pressed, "#archive-run")
    def action_archive(self) -> None:
        def done(ok: bool | None) -> None:
            if not ok:
                return
            try:
                target = archive_run(self.path, self.run.logdir)
            except KeraslabError as exc:
                self.notify(visible(exc), severity="error", markup=False)
                return
            self.notify(f"archived to {visible(target)}", markup=False)
            self.dismiss(True)

        self.app.push_screen(
            ConfirmScreen(f"Archive {visible(self.run.name)}?\nIt moves to .archive/ in its log directory.", "Archive"),
            done,
        )

    @on(Button.Pressed, "#delete-run")
    def action_delete(self) -> None:
        def done(ok: bool | None) -> None:
            if not ok:
                return
            try:
                delete_run(self.path, self.run.logdir)
            except KeraslabError as exc:
                self.notify(visible(exc), severity="error", markup=False)
                return
            self.notify(f"deleted {visible(self.run.name)}", markup=False)
            self.dismiss(True)

        self.app.push_screen(
            ConfirmScreen(f"Delete {visible(self.run.name)} and all its files?\n{visible(self.path)}", "Delete"), done
        )

    def _resuming(self) -> bool:
        """This app's training queue holds a resume of this run not yet ended."""
        return any(r.resume_from == self.path and r.status in ("queued", "starting", "running", "stopping")
                   for r in getattr(self.app, "runs", ()))  # fmt: skip

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit_run":  # in an app that trains (not `keraslab browse`)
            return hasattr(self.app, "edit_as_new_run")
        if action == "resume":  # offered in an app that trains, for a stopped keraslab run that can resume
            return (hasattr(self.app, "submit") and self.run.kind == "keraslab" and self.run.status in RESUMABLE
                    and has_last_checkpoint(self.path) and not self._resuming())  # fmt: skip
        if action == "sketch":  # only a keraslab run records its layer stack
            return self.run.kind == "keraslab"
        return True

    def action_resume(self) -> None:
        if not hasattr(self.app, "submit") or self._resuming():
            return
        try:
            point = resume_point(self.path)
        except KeraslabError as exc:
            self.notify(visible(exc), title="Cannot resume", severity="error", markup=False)
            return
        self.app.submit(point.config, resume_from=self.path)
        self.notify(f"resuming {visible(self.run.name)} after epoch {point.epoch}", markup=False)
        self.refresh_bindings()

    def action_sketch(self) -> None:
        """The run's layer stack as a block diagram (keraslab runs; others record none)."""
        try:
            lines = sketch_stack(*run_architecture(self.path))
        except KeraslabError as exc:
            lines = [str(exc)]
        self.app.push_screen(SketchScreen(self.run.name, lines))

    @work(thread=True, exclusive=True, group="detail-report")
    def action_report(self) -> None:
        """The run's report (as `keraslab report`) written to report-<run>.md in the current folder."""
        target = Path.cwd() / f"report-{self.path.name}.md"
        try:
            written = write_report([self.path], target)
        except KeraslabError as exc:
            self.app.call_from_thread(self.notify, visible(exc), title="No report", severity="error")
            return
        self.app.call_from_thread(self.notify, visible(f"{written[0]} (and {len(written) - 1} figure(s))"),
                                  title="Report written")
    def action_edit_run(self) -> None:
        self.app.edit_as_new_run(self.run)

    def action_back(self) -> None:
        self.dismiss(self.changed)
