"""The keraslab Textual app: launch screen, live training view, run queue, and `run_app()`."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from keraslab import core
from textual import events, on, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from . import fmt, headless, images, policy, reattach
from .messages import QueueChanged, TrainingEvent
from .quitting import AppRunner
from .screens.confirm import ConfirmScreen
from .screens.launch import LaunchScreen

if TYPE_CHECKING:
    from .screens.training import QueuedRun

STDERR_LOG = ".keraslab-stderr.log"


class KeraslabApp(App[int]):
    """Design a layer stack, train it, watch the curves; runs queue one after another."""

    TITLE = "keraslab"
    # The browser's styles load with the app's: a screen's own CSS_PATH is read when it is
    # first shown, and Textual then restyles every widget of every screen.
    CSS_PATH = [Path(__file__).with_name("app.tcss"), Path(__file__).with_name("browser.tcss")]
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("q", "quit", "Quit"),
        Binding("f1", "help", "Help", priority=True),
        Binding("question_mark", "help", "Help", show=False),
        Binding("r", "runs", "Runs"),
    ]

    def __init__(
        self,
        *,
        dataset: str = "digits",
        model: str | None = None,
        logdir: str | os.PathLike | None = None,
        progress_interval: float = 0.5,  # seconds between batch-progress repaints
    ) -> None:
        super().__init__()
        self.initial_dataset = dataset
        self.initial_model = model
        self.logdir = core.default_logdir(logdir)
        self.progress_interval = progress_interval
        self.runs: list[QueuedRun] = []  # every run of this session: finished, current, queued
        self.current: QueuedRun | None = None
        self.quitting = False
        self.detached = False  # the terminal went away: the queue finishes headless (run_headless)
        self.elsewhere: list[reattach.LiveRun] = []  # runs another process trains in this logdir
        self._next_id = 1

    # -- lifecycle ------------------------------------------------------------------------
    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown)):
            self._give_way()
        await super().on_event(event)

    def _give_way(self) -> None:
        """While a run trains in this process, pause it from a key press until the screen
        has answered (at most GIVE_WAY seconds): the answer comes twice as fast."""
        state = self.current
        session = state.session if state is not None else None
        if session is None or session.done:
            return
        session.give_way(self.GIVE_WAY)
        self.call_after_refresh(session.give_way, 0)

    GIVE_WAY = 0.25

    def on_mount(self) -> None:
        if self.detached:  # (the terminal hung up while the app started)
            self.exit(0)
            return
        self._find_live_runs()

    def get_default_screen(self) -> Screen:
        return LaunchScreen(dataset=self.initial_dataset, model=self.initial_model)

    # -- run queue ------------------------------------------------------------------------
    @property
    def training(self) -> bool:
        """A run is in progress (its session has not finished)."""
        return self.current is not None

    @property
    def queued(self) -> list[QueuedRun]:
        return [r for r in self.runs if r.status == "queued"]

    def submit(self, config: core.RunConfig, *, resume_from: Path | None = None) -> QueuedRun:
        """Start this config now, or queue it behind the run in progress; ``resume_from``:
        a stopped run's directory to resume (``config`` its own, see core.resume_point)."""
        from .screens.training import QueuedRun, TrainingScreen

        state = QueuedRun(self._next_id, config, resume_from=resume_from)
        self._next_id += 1
        self.runs.append(state)
        if not self.is_screen_installed("training"):
            self.install_screen(TrainingScreen(), "training")
        if self.current is None:
            self._start(state)
        else:
            self.notify(
                f"Queued {config.name or config.default_name()} "
                f"({len(self.queued)} waiting); it starts when the current run ends.",
                title="Queued",
            )
        self.post_message(QueueChanged())
        return state

    def _start(self, state: QueuedRun) -> None:
        session = core.TrainingSession(
            state.config,
            self.logdir,
            command=core.config_command(state.config) if state.resume_from is None else core.resume_command(state.resume_from),
            progress_interval=self.progress_interval,
            hooks=policy.session_hooks(),
            resume_from=state.resume_from,
        )
        run_id = state.run_id

        def listener(event: core.SessionEvent) -> None:  # runs in the training thread
            if not self.detached:  # (headless, nothing shows it)
                self.post_message(TrainingEvent(run_id, event))

        session.subscribe(listener)
        state.session = session
        state.status = "starting"
        state.started_at = time.monotonic()
        self.current = state
        try:
            state.run_dir = session.start()
        except core.KeraslabError as exc:
            state.status = "failed"
            state.error = str(exc)
            self.current = None
            if self.detached:
                headless.log(fmt.visible(f"cannot start {state.name}: {exc}"))
                return
            self.notify(fmt.visible(exc), title="Cannot start the run", severity="error", timeout=10, markup=False)
            self._start_next()

    def _start_next(self) -> None:
        if self.quitting:
            return
        waiting = self.queued
        if waiting:
            self._start(waiting[0])
        self.post_message(QueueChanged())

    @on(TrainingEvent)
    def _on_training_event(self, message: TrainingEvent) -> None:
        state = next((r for r in self.runs if r.run_id == message.run_id), None)
        if state is None:
            return
        state.apply(message.event)
        if self.is_screen_installed("training"):
            self.get_screen("training").show_event(state, message.event)
        if not isinstance(message.event, (core.BatchProgress, core.SystemSample)):
            self.refresh_status()
        if isinstance(message.event, core.Finished):
            if self.current is state:
                self.current = None
            result = message.event
            severity = "information" if result.status == "completed" else "warning"
            if result.status == "failed":
                severity = "error"
            self.notify(
                _ended(result.run_dir.name, result),
                title="Run finished",
                severity=severity,
                timeout=8,
                markup=False,  # (a reason quotes an exception: brackets are not markup)
            )
            if self.quitting:
                return
            self._start_next()

    @on(QueueChanged)
    def refresh_status(self) -> None:
        """Bring the status lines of both screens (and their footers' bindings) up to date.

        Each screen refreshes its bindings itself, and only when they changed: a footer
        re-composes on every refresh, far too costly for each epoch of a run.
        """
        launch = self._launch_screen()
        if launch is not None:
            launch.refresh_status()
        if self.is_screen_installed("training"):
            self.get_screen("training").refresh_status()

    # -- actions --------------------------------------------------------------------------
    def stop_current(self) -> None:
        """Stop the run in progress after its current batch (it is kept, marked stopped)."""
        state = self.current
        if state is None or state.session is None:
            self.notify("No run is training.")
            return
        if state.session.stopping:
            return
        state.session.stop()
        state.status = "stopping"
        self.notify("Stopping after the current batch; the run is kept.", title="Stopping")
        self.post_message(QueueChanged())

    def action_show_training(self) -> None:
        if not self.is_screen_installed("training"):
            self.notify("Nothing has trained yet: press t on the launch screen.")
            return
        if self.screen is not self.get_screen("training"):
            self.push_screen("training")

    def action_help(self) -> None:
        from .screens.help import show_help  # (imported on first need, not at start-up)

        show_help(self)

    def action_runs(self, run_dir: str | None = None) -> None:
        """Open the runs browser, or a run's detail when ``run_dir`` names one."""
        from .screens.run_detail import RunDetailScreen
        from .screens.runs_browser import RunsBrowserScreen

        if run_dir:
            try:
                self.push_screen(RunDetailScreen(run_dir))
                return
            except core.KeraslabError:  # (unreadable or gone: the browser shows what is there)
                pass
        self.push_screen(RunsBrowserScreen(logdirs=[self.logdir]))

    def edit_as_new_run(self, run) -> None:
        """`e` on a run: its whole setup in the launch screen, as a new run based on it."""
        try:
            config = core.config_of(run)
        except core.KeraslabError as exc:
            self.notify(fmt.visible(exc), title="Cannot edit as a new run", severity="error", markup=False)
            return
        while len(self.screen_stack) > 1 and not isinstance(self.screen, LaunchScreen):
            self.pop_screen()
        self._launch_screen().load_based_on(run.name, core.parent_ref(run, self.logdir), config)

    async def action_quit(self) -> None:
        """Quit; while a run trains, confirm first, then stop it and wait for it to be saved."""
        if self.quitting:
            return
        if self.current is None:
            self.exit(0)
            return
        if isinstance(self.screen, ConfirmScreen):
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self.stop_and_exit()

        self.push_screen(
            ConfirmScreen(
                "A run is training. Stop it and quit?",
                "Stop and quit",
                detail="Training stops after the current batch; the run is kept and marked stopped."
                + (f" {len(self.queued)} queued run(s) are dropped." if self.queued else ""),
                cancel_label="Keep training",
            ),
            answer,
        )

    def stop_and_exit(self) -> None:
        """Drop the queue, stop the run in progress, wait for it to finish, then exit."""
        self.quitting = True
        for state in self.queued:
            state.status = "dropped"
        state = self.current
        if state is None or state.session is None:
            self.exit(0)
            return
        if not state.session.stopping:
            state.session.stop()
        state.status = "stopping"
        self.notify("Stopping the run and saving it...", title="Quitting", timeout=30)
        self.post_message(QueueChanged())
        self._wait_and_exit(state.session)

    @work(thread=True, exclusive=True, group="quit")
    def _wait_and_exit(self, session: core.TrainingSession) -> None:
        session.wait()
        self.call_from_thread(self.exit, 0)

    # -- when the terminal goes away ------------------------------------------------------
    def detach(self, reason: str) -> None:
        """The terminal went away: stop drawing and exit the UI; ``run_app`` then sees the run
        in progress and the queue through headless (:meth:`run_headless`). Main thread."""
        if self.detached:
            return
        self.detached = True
        headless.ignore_terminal_signals()
        if self._driver is not None:  # HACK: Textual has no public switch for this: a SIGCONT
            self._driver._auto_restart = False  # (sent with SIGHUP) would start drawing again
        headless.log(f"{reason}; training goes on without a screen")
        self.exit(0)

    def run_headless(self) -> None:
        """After :meth:`detach`, in the main thread: wait for the run in progress, start each
        queued run in turn exactly as the app does, and return when none is left. Each run's
        end is logged to fd 2 (the app's stderr log)."""
        waiting = len(self.queued)
        if self.current is not None or waiting:
            headless.log(f"{'1 run in progress, ' if self.current else ''}{waiting} queued")
        while True:
            state = self.current
            if state is not None and state.session is not None:
                result = state.session.wait()
                self.current = None
                if result is not None:
                    state.apply(result)
                    headless.log(_ended(state.name, result))
            waiting_runs = self.queued
            if self.quitting or not waiting_runs:
                break
            self._start(waiting_runs[0])
        headless.log("no run left to train; exiting")

    def stop_headless(self) -> None:
        """SIGTERM while headless: drop the queue, stop the run in progress (it is kept)."""
        self.quitting = True
        for state in self.queued:
            state.status = "dropped"
        state = self.current
        if state is not None and state.session is not None:
            state.session.stop()
        headless.log("SIGTERM: stopping the run in progress, the queue dropped")

    # -- runs another process trains ------------------------------------------------------
    @work(thread=True, exclusive=True, group="elsewhere")
    def _find_live_runs(self) -> None:
        runs = reattach.live_runs_elsewhere(self.logdir)
        if runs:
            self.call_from_thread(self._show_live_runs, runs)

    def _show_live_runs(self, runs: list[reattach.LiveRun]) -> None:
        self.elsewhere = runs
        names = ", ".join(run.label for run in runs[:3]) + (" ..." if len(runs) > 3 else "")
        self.notify(
            f"{names}. r: runs browser (f follows them); the command palette offers "
            "\"Stop run started elsewhere\".",
            title=f"{len(runs)} run(s) training in another process",
            timeout=20,
            markup=False,
        )

    def stop_elsewhere(self, run: reattach.LiveRun) -> None:
        """Ask the process training ``run`` to stop it after its current batch (its stop file)."""
        if not reattach.still_live(run):
            self.notify(f"{run.label} is no longer training.", markup=False)
            return
        error = reattach.request_stop(run)
        if error:
            self.notify(error, title="Cannot stop", severity="error", markup=False)
        else:
            self.notify(f"Asked {run.label} to stop after its current batch; it is kept.",
                        title="Stopping", markup=False)  # fmt: skip

    # -- command palette ------------------------------------------------------------------
    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        launch = self._launch_screen()
        if launch is not None:
            yield SystemCommand(
                "Train", "Start training the current design (queued if a run is training)",
                launch.action_train,
            )
        yield SystemCommand("Stop training", "End the current run after this batch", self.stop_current)
        for run in self.elsewhere:
            yield SystemCommand(
                f"Stop run started elsewhere: {run.label}",
                "Ask the process training it to stop after its current batch (the run is kept)",
                lambda run=run: self.stop_elsewhere(run),
            )
        yield SystemCommand("Training view", "Show the live curves of the current run",
                            self.action_show_training)
        yield SystemCommand("Runs browser", "Browse past runs in the log directory", self.action_runs)
        yield SystemCommand("Help", "Keys and notation", self.action_help)
        yield from super().get_system_commands(screen)

    def _launch_screen(self) -> LaunchScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, LaunchScreen):
                return screen
        return None


# -- running in a terminal ----------------------------------------------------------------


def _ended(name: str, result: core.Finished) -> str:
    """One line on how a run ended, for a notice or the headless log (made visible: a reason
    can quote a run file)."""
    return fmt.visible(f"{name}: {result.status}" + (f" ({result.reason})" if result.reason else ""))


def _stderr_log_path(logdir: Path) -> Path:
    try:
        logdir.mkdir(parents=True, exist_ok=True)
        path = logdir / STDERR_LOG
        with open(path, "a"):
            pass
        return path
    except OSError:
        return Path(tempfile.gettempdir()) / f"keraslab-{os.getuid()}-stderr.log"


@contextlib.contextmanager
def terminal_on_private_fd(log_path: Path) -> Iterator[headless.TerminalFile]:
    """Point fd 2 at a log file while the UI draws through a private copy of the terminal fd.

    Textual's Linux driver writes the screen to ``sys.__stderr__``; TensorFlow's native
    code (absl) writes straight to fd 2. Separating them keeps TF's messages off the screen,
    and lets the app drop the terminal alone when it goes away (see ``headless``).
    """
    try:
        log = open(log_path, "a", buffering=1)
    except OSError:
        log = open(os.devnull, "a")
    saved_fd = os.dup(2)
    terminal = headless.TerminalFile(saved_fd)
    old = sys.__stderr__, sys.stderr
    sys.stderr.flush()
    os.dup2(log.fileno(), 2)
    sys.__stderr__ = sys.stderr = terminal
    try:
        yield terminal
    finally:
        terminal.flush()
        os.dup2(saved_fd, 2)
        sys.__stderr__, sys.stderr = old
        terminal.close()
        log.close()


def run_app(*, dataset: str = "digits", model: str | None = None, logdir: str | None = None) -> int:
    """Open the app; returns the exit status. A run never stays marked running when it ends.

    If the terminal goes away (SIGHUP, or writing to it fails), the app lets go of it and
    the run in progress and the queued runs finish headless; then the process exits (0).
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    resolved = core.default_logdir(logdir)
    undo_policy = policy.install()
    images.prepare_terminal_images()  # (before Textual takes the terminal)
    with terminal_on_private_fd(_stderr_log_path(resolved)) as terminal:
        app = KeraslabApp(dataset=dataset, model=model, logdir=resolved)
        runner = AppRunner(app)  # (quits even while a worker thread is stuck)

        def on_signal(signum, frame) -> None:  # SIGTERM / external SIGINT: stop, save, exit
            if app.detached:
                app.stop_headless()
                return
            loop = app._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(app.stop_and_exit)

        def lose_terminal(reason: str) -> None:  # any thread
            terminal.let_go()
            loop = app._loop
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(app.detach, reason)
            else:
                app.detached = True  # (not started yet: it exits on mount; ended: see below)

        def on_hangup(signum, frame) -> None:
            headless.ignore_terminal_signals()  # (before the SIGCONT sent with it restarts drawing)
            lose_terminal("the terminal hung up (SIGHUP)")

        terminal.on_lost = lose_terminal
        watched = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
        previous = {s: signal.getsignal(s) for s in watched}
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGHUP, on_hangup)
        try:
            runner.run()
            if not app.detached and (terminal.gone or headless.hung_up(terminal.fd)):
                terminal.let_go()  # (the UI ended on a dead terminal before any SIGHUP came)
                app.detached = True
            if app.detached:
                headless.ignore_terminal_signals()
                app.run_headless()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            state = app.current
            if state is not None and state.session is not None and not state.session.done:
                state.session.stop()
                if state.session.wait(timeout=60) is None:
                    state.session.abort("the app exited while training")
            undo_policy()
    status = 0 if app.detached else app.return_code or 0
    runner.finish(status)
    return status
