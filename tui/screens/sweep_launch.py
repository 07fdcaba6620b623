"""The sweep dialog of the launch screen: the current settings with one option given a list, run locally or submitted to SLURM."""

from __future__ import annotations

import subprocess
from pathlib import Path

from keraslab import core
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

from ..cli_sweep import keraslab_command
from ..fmt import visible
from ..widgets.choice import Choice

WHERE = (("on this machine", "local"), ("SLURM job array", "slurm"))


def start_local(sweep: core.Sweep, parallel: int) -> Path:
    """Start `keraslab sweep run ID --local N` detached from the app (it goes on when the
    app quits, as a SLURM job would); its output goes to the sweep's ``logs/sweep.log``."""
    log = sweep.dir / "logs" / "sweep.log"
    with open(log, "ab") as out:
        subprocess.Popen(
            [*keraslab_command(), "sweep", "run", sweep.id, "--local", str(parallel), "--logdir", str(sweep.logdir)],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
    return log


class SweepLaunchScreen(ModalScreen[str | None]):
    """Sweep one option of ``config`` over a list of values; dismisses with a one-line
    report of what started (None when cancelled)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("ctrl+s", "submit", "Start sweep")]
    DEFAULT_CSS = """
    SweepLaunchScreen { align: center middle; }
    SweepLaunchScreen #sweep-box { width: 76; height: auto; padding: 1 2; border: round $accent; background: $surface; }
    SweepLaunchScreen .field { height: 1; margin-bottom: 1; }
    SweepLaunchScreen .field-label { width: 14; }
    SweepLaunchScreen Input { width: 1fr; }
    SweepLaunchScreen #sweep-preview { height: auto; margin-bottom: 1; }
    SweepLaunchScreen #sweep-buttons { height: 3; align-horizontal: right; }
    """

    def __init__(self, config: core.RunConfig, logdir: str | Path) -> None:
        super().__init__()
        self.config = config
        self.logdir = Path(logdir)
        self.sweep: core.Sweep | None = None

    def compose(self) -> ComposeResult:
        options = [(key.replace("_", " "), key) for key in core.AXES]
        with Vertical(id="sweep-box"):
            yield Static(Text("Sweep the current settings: one option takes a list", style="bold"))
            with Horizontal(classes="field"):
                yield Static("option", classes="field-label")
                yield Choice(options, value="learning_rate", id="sweep-option")
            with Horizontal(classes="field"):
                yield Static("values", classes="field-label")
                yield Input(placeholder="1e-3,3e-4   or a range 0..4", id="sweep-values", compact=True)
            with Horizontal(classes="field"):
                yield Static("run", classes="field-label")
                yield Choice(WHERE, value="local", id="sweep-where")
            with Horizontal(classes="field"):
                yield Static("at a time", classes="field-label", id="sweep-extra-label")
                yield Input("1", id="sweep-extra", compact=True)
            yield Static("", id="sweep-preview")
            with Horizontal(id="sweep-buttons"):
                yield Button("Start (ctrl+s)", variant="primary", id="sweep-start")
                yield Button("Cancel (esc)", id="sweep-cancel")

    def on_mount(self) -> None:
        self.query_one("#sweep-values", Input).focus()
        self._preview()

    @on(Input.Changed)
    @on(Choice.Changed)
    def _preview(self) -> None:
        slurm = self.query_one("#sweep-where", Choice).value == "slurm"
        self.query_one("#sweep-extra-label", Static).update("partition" if slurm else "at a time")
        extra = self.query_one("#sweep-extra", Input)
        extra.placeholder = "(the default partition)" if slurm else "1"
        preview = self.query_one("#sweep-preview", Static)
        try:
            self.sweep = self._plan()
        except core.KeraslabError as exc:
            self.sweep = None
            preview.update(Text(visible(exc), style="red"))
            return
        names = ", ".join(visible(p.name) for p in self.sweep.points[:3])
        more = ", ..." if len(self.sweep.points) > 3 else ""
        preview.update(Text(f"{core.describe_grid(self.sweep.grid)}: {names}{more}"))

    def _plan(self) -> core.Sweep:
        key = self.query_one("#sweep-option", Choice).value
        text = self.query_one("#sweep-values", Input).value.strip()
        if not text:
            raise core.ConfigError("type the values, separated by ','")
        grid = core.make_grid(self.config, {key: text})
        command = f"keraslab app: sweep --{key.replace('_', '-')} {text}"
        return core.plan_sweep(self.logdir, grid, grid.positions(), command)

    def action_submit(self) -> None:
        self._start()

    @on(Button.Pressed, "#sweep-start")
    def _start(self) -> None:
        self._preview()
        sweep = self.sweep
        if sweep is None:
            self.notify("Fix the sweep first.", severity="warning")
            return
        extra = self.query_one("#sweep-extra", Input).value.strip()
        try:
            if self.query_one("#sweep-where", Choice).value == "slurm":
                options = core.SlurmOptions(partition=extra or None)
                if not core.slurm_available():
                    raise core.SlurmError("sbatch is not installed here")
                core.create_sweep(sweep)
                script = core.write_script(sweep, core.sbatch_script(sweep, options, keraslab_command()))
                job = core.submit(script)
                sweep.launcher = {"kind": "slurm", "job_id": job, "script": str(script.relative_to(sweep.logdir))}
                sweep.save()
                report = f"sweep {sweep.id}: submitted job array {job} ({len(sweep.points)} tasks)"
            else:
                if not extra.isdigit() or int(extra) < 1:
                    raise core.ConfigError(f"at a time: {extra!r} is not a whole number above 0")
                core.create_sweep(sweep)
                start_local(sweep, int(extra))
                report = f"sweep {sweep.id}: {len(sweep.points)} runs, {extra} at a time, in the background"
        except core.KeraslabError as exc:
            self.query_one("#sweep-preview", Static).update(Text(visible(exc), style="red"))
            return
        self.dismiss(report)

    @on(Button.Pressed, "#sweep-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
