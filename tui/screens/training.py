"""The live training view: curves, progress, per-epoch table, device, run directory and result."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from keraslab import core
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Static

from .. import fmt
from ..widgets.curves import CurvePlot
from ..widgets.diagnosis import DiagnosisView
from ..widgets.footer import KeyFooter
from ..widgets.line_table import LineTable
from ..widgets.progress_panel import ProgressPanel
from ..widgets.system_panel import HISTORY, SystemPanel
from .visibility import is_visible

# Curve redraws while a run streams in. Drawing both plots costs tens of milliseconds of the UI
# thread, which competes with training for the CPU (and the GIL), so redraws are paced to
# spend at most PLOT_BUDGET of one core: at least PLOT_MIN_INTERVAL apart, further when
# drawing is slow (a big terminal, many points, a busy machine), never more than
# PLOT_MAX_INTERVAL. A finished run draws at once.
PLOT_TICK = 0.25  # seconds between checks for a pending redraw
PLOT_MIN_INTERVAL = 1.0
PLOT_MAX_INTERVAL = 5.0
PLOT_BUDGET = 0.02  # share of one core


@dataclass
class QueuedRun:
    """Everything the app knows about one run of this session (queued, training or done)."""

    run_id: int
    config: core.RunConfig
    session: core.TrainingSession | None = None
    resume_from: Path | None = None  # a stopped run's directory this run resumes
    run_dir: Path | None = None
    status: str = "queued"  # queued | starting | running | stopping | completed | stopped | failed | dropped
    phase: str = ""
    device: str = ""
    params: int | None = None
    steps_per_epoch: int = 0
    train_samples: int = 0
    progress: core.BatchProgress | None = None
    epochs: list[core.EpochEnd] = field(default_factory=list)
    batch_points: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    system: list[core.SystemSample] = field(default_factory=list)  # the latest HISTORY samples
    finished: core.Finished | None = None
    error: str | None = None
    events: int = 0
    started_at: float | None = None  # time.monotonic() when the session started
    ended_at: float | None = None

    @property
    def name(self) -> str:
        if self.run_dir is not None:
            return self.run_dir.name
        return self.config.name or self.config.default_name()

    def apply(self, event: core.SessionEvent) -> None:
        self.events += 1
        if isinstance(event, core.Phase):
            self.phase = event.message
        elif isinstance(event, core.Started):
            self.status = "stopping" if self.status == "stopping" else "running"
            self.phase = "training"
            self.run_dir = event.run_dir
            self.device = event.device
            self.params = event.params
            self.steps_per_epoch = event.steps_per_epoch
            self.train_samples = event.train_samples
        elif isinstance(event, core.BatchProgress):
            self.progress = event
            self.batch_points.append((event.position, event.logs))
        elif isinstance(event, core.EpochEnd):
            self.epochs.append(event)
        elif isinstance(event, core.SystemSample):
            self.system = [*self.system[1 - HISTORY:], event]
        elif isinstance(event, core.Finished):
            self.ended_at = time.monotonic()
            self.finished = event
            self.status = event.status
            self.run_dir = event.run_dir

    def eta(self) -> float | None:
        p = self.progress
        if p is None:
            return None
        done = p.epoch * p.batches + p.batch
        total = p.epochs * p.batches
        if done <= 0 or p.elapsed <= 0:
            return None
        return p.elapsed / done * (total - done)

    def curve(self, metric: str) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """(train points, validation points) of ``metric`` with x in epochs."""
        train: list[tuple[float, float]] = [
            (x, logs[metric]) for x, logs in self.batch_points if metric in logs
        ]
        val: list[tuple[float, float]] = []
        for e in self.epochs:
            if metric in e.logs:
                train.append((float(e.epoch), e.logs[metric]))
            if f"val_{metric}" in e.logs:
                val.append((float(e.epoch), e.logs[f"val_{metric}"]))
        train.sort(key=lambda p: p[0])
        return train, val


class TrainingScreen(Screen):
    """Shows the run being trained (or the last one); installed once and reused for every run."""

    BINDINGS = [
        Binding("s", "stop", "Stop run"),
        Binding("o", "open_run", "Open run"),
        Binding("escape,l", "back", "Launch screen"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.state: QueuedRun | None = None
        self._plot_dirty = False
        self._last_plot = 0.0
        self._rows = 0
        self._diag_context: tuple[QueuedRun, core.CurveContext] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="run-info"):
            yield Static("", id="run-title")
            yield Static("", id="run-where")
        with Horizontal(id="progress-row"):
            yield ProgressPanel(id="progress")
            yield SystemPanel(id="system-panel")
        with Horizontal(id="curves"):
            yield CurvePlot("loss", id="loss-plot")
            yield CurvePlot("accuracy", id="acc-plot")
        with Horizontal(id="run-bottom"):
            yield LineTable(id="epoch-table")
            yield Static("", id="run-result")
        yield DiagnosisView("", id="run-diagnosis")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#epoch-table", LineTable)
        for label in ("epoch", "loss", "acc", "val_loss", "val_acc", "lr", "time"):
            table.add_column(label, key=label, justify="left" if label == "epoch" else "right")
        self.set_interval(PLOT_TICK, self._flush_plots)
        app = self.app
        if getattr(app, "current", None) is not None:
            self.show_state(app.current)
        elif getattr(app, "runs", None):
            self.show_state(app.runs[-1])

    def on_screen_resume(self) -> None:
        """Show the run in progress, else the last one that ran (a queued run may have
        started and ended while this screen was hidden)."""
        app = self.app
        ran = [r for r in getattr(app, "runs", ()) if r.status not in ("queued", "dropped")]
        state = getattr(app, "current", None) or (ran[-1] if ran else self.state)
        if state is not None:
            self.show_state(state)

    # -- updates --------------------------------------------------------------------------
    def show_state(self, state: QueuedRun) -> None:
        """Bring everything up to date for ``state`` (a new run, or coming back to this screen).

        Coming back to the same run only adds the epochs that ended meanwhile, and the curves
        are redrawn right after the screen is painted, so switching screens stays quick
        while a model trains.
        """
        if state is not self.state:
            self.state = state
            self.query_one("#epoch-table", LineTable).clear()
            self._rows = 0
        self._add_epoch_rows()
        self._update_header()
        self.query_one(ProgressPanel).show(state)
        self._show_system()
        self._update_result()
        self._update_diagnosis()
        self._plot_dirty = True
        self.call_after_refresh(self._draw_plots)
        self.refresh_bindings()  # stop/open availability (KeyFooter redraws only on a change)

    def show_event(self, state: QueuedRun, event: core.SessionEvent) -> None:
        """One event of a run (the app already applied it to ``state``).

        While the screen is hidden nothing is drawn: ``on_screen_resume`` redraws it all.
        """
        if not self.is_mounted or not is_visible(self):
            return
        if state is not self.state:
            if isinstance(event, (core.Phase, core.Started)) or self.state is None or (
                self.state.finished is not None and state.finished is None
            ):
                self.show_state(state)
            return
        if isinstance(event, core.BatchProgress):
            self.query_one(ProgressPanel).show(state)
            self._plot_dirty = True
        elif isinstance(event, core.SystemSample):
            self._show_system()
        elif isinstance(event, core.EpochEnd):
            self._add_epoch_rows()
            self.query_one(ProgressPanel).show(state)
            self._update_result()  # the best epoch so far
            self._update_diagnosis()
            self._plot_dirty = True  # drawn by _flush_plots, within the redraw budget
        else:
            self._update_header()
            self.query_one(ProgressPanel).show(state)
            self._update_result()
            if isinstance(event, core.Finished):
                self._draw_plots()
            self.refresh_bindings()

    def _show_system(self) -> None:
        state = self.state
        training = state is not None and state.finished is None and state.progress is not None
        self.query_one(SystemPanel).show(state.system if state is not None else [], training)

    def refresh_status(self) -> None:
        """The run's status or the queue changed (not its metrics)."""
        if self.is_mounted and is_visible(self):
            self._update_header()
            if self.state is not None:
                self._update_result()
            self.refresh_bindings()

    def plot_interval(self) -> float:
        """Seconds to wait between two curve redraws, from what the last drawing cost."""
        cost = sum(plot.draw_seconds for plot in self.query(CurvePlot))
        return min(PLOT_MAX_INTERVAL, max(PLOT_MIN_INTERVAL, cost / PLOT_BUDGET))

    def _flush_plots(self) -> None:
        if not self._plot_dirty or self.state is None:
            return
        if time.monotonic() - self._last_plot >= self.plot_interval():
            self._draw_plots()

    def _draw_plots(self) -> None:
        self._plot_dirty = False
        state = self.state
        if state is None:
            return
        for metric, widget_id in (("loss", "#loss-plot"), ("accuracy", "#acc-plot")):
            train, val = state.curve(metric)
            self.query_one(widget_id, CurvePlot).set_data(train, val, state.config.epochs)
        self._last_plot = time.monotonic()

    def _add_epoch_rows(self) -> None:
        state = self.state
        if state is None:
            return
        table = self.query_one("#epoch-table", LineTable)
        for e in state.epochs[self._rows:]:
            logs = e.logs
            mark = Text(f"{e.epoch}" + (" *" if e.improved else ""),
                        style="bold green" if e.improved else "")
            table.add_row(
                mark,
                fmt.metric(logs.get("loss")),
                fmt.metric(logs.get("accuracy")),
                fmt.metric(logs.get("val_loss")),
                fmt.metric(logs.get("val_accuracy")),
                f"{logs['learning_rate']:.2g}" if "learning_rate" in logs else "-",
                fmt.duration(e.elapsed),
            )
        self._rows = len(state.epochs)
        if self._rows:
            table.move_cursor(row=self._rows - 1)

    def _update_header(self) -> None:
        state = self.state
        title = self.query_one("#run-title", Static)
        where = self.query_one("#run-where", Static)
        if state is None:
            title.update("No run yet: press escape and then t to train.", layout=False)
            where.update("", layout=False)
            return
        app = self.app
        queued = len(getattr(app, "queued", []))
        text = Text()
        text.append(state.name, style="bold")
        text.append("  ")
        text.append(state.status, style=_status_style(state.status))
        text.append(f"  {state.config.dataset} · {state.config.model_label}")
        if state.config.precision != "float32":
            text.append(f" · {state.config.precision}")
        if state.params is not None:
            text.append(f" · {fmt.count(state.params)} params")
        if queued:
            text.append(f"  ({queued} queued)", style="italic")
        text.no_wrap, text.overflow = True, "ellipsis"
        # both lines have a fixed height of one row (app.tcss): no layout pass on updates
        title.update(text, layout=False)
        device = state.device or "device: (loading TensorFlow)"
        where.update(Text(f"{device}  ·  {state.run_dir or '(run directory pending)'}",
                          style="dim", overflow="ellipsis", no_wrap=True), layout=False)

    def _update_diagnosis(self) -> None:
        """The curve diagnosis of the epochs so far (pure Python on a few numbers per epoch)."""
        state = self.state
        view = self.query_one("#run-diagnosis", DiagnosisView)
        if state is None:
            view.show([], 0)
            return
        if self._diag_context is None or self._diag_context[0] is not state or not self._diag_context[1].steps_per_epoch:
            cfg = state.config
            try:
                stack = core.resolve_stack(cfg)
            except core.KeraslabError:
                stack = None
            self._diag_context = (state, core.config_context(cfg.dataset, stack, state.steps_per_epoch, cfg.data_dir))
        context = self._diag_context[1]
        series = core.series_from_records([e.logs for e in state.epochs])
        view.show(core.diagnose_curves(series, context), len(state.epochs))

    def _update_result(self) -> None:
        state = self.state
        panel = self.query_one("#run-result", Static)
        if state is None:
            panel.update("", layout=False)
            return
        f = state.finished
        if f is None:
            if state.error:
                panel.update(Text(state.error, style="red"), layout=False)
                return
            best = [e.epoch for e in state.epochs if e.improved]
            lines = [state.phase or state.status]
            if best:
                lines.append(f"best epoch so far: {best[-1]}")
            lines.append("s: stop after this batch")
            panel.update(Text(fmt.visible("\n".join(lines), multiline=True)), layout=False)
            return
        text = Text()
        text.append(f"{f.status}\n", style=_status_style(f.status))
        if f.reason:
            text.append(f"{f.reason}\n", style="italic")
        if f.test:
            text.append("test: ", style="bold")
            text.append("  ".join(f"{k} {v:.4f}" for k, v in f.test.items()) + "\n")
        if f.best_epoch is not None:
            text.append(f"best epoch: {f.best_epoch}\n")
        text.append(f"{f.epochs_done} epochs in {fmt.duration(f.elapsed)}\n")
        text.append("o: open the run", style="dim")
        panel.update(text, layout=False)  # a fixed-size panel (app.tcss)

    # -- actions --------------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "stop":
            return True if getattr(self.app, "current", None) is not None else None
        if action == "open_run":
            return True if self.state is not None and self.state.run_dir is not None else None
        return True

    def action_stop(self) -> None:
        self.app.stop_current()

    def action_open_run(self) -> None:
        if self.state is None or self.state.run_dir is None:
            return
        self.app.action_runs(str(self.state.run_dir))

    def action_back(self) -> None:
        if len(self.app.screen_stack) > 1:
            self.app.pop_screen()


def _status_style(status: str) -> str:
    return {
        "completed": "bold green",
        "stopped": "bold yellow",
        "stopping": "yellow",
        "failed": "bold red",
        "running": "bold cyan",
        "starting": "cyan",
    }.get(status, "")
