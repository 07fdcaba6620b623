"""A minimal App hosting the runs browser, so `keraslab browse PATH...` works on its own."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.binding import Binding

from . import images, policy
from .quitting import AppRunner, exit_on_signals
from .screens.runs_browser import RunsBrowserScreen


class BrowseApp(App):
    """The runs browser as a whole application (q, Ctrl+C or escape quits; F1 or ? for help)."""

    TITLE = "keraslab runs"
    CSS_PATH = "browser.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("f1", "help", "Help", priority=True),
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(self, logdirs, *, follow: bool = True, interval: float = 1.0, use_cache: bool = True):
        super().__init__()
        self.logdirs = [Path(p) for p in logdirs]
        self.follow = follow
        self.interval = interval
        self.use_cache = use_cache

    def get_default_screen(self) -> RunsBrowserScreen:
        # the first and only screen below any other: escape on it quits (see its action_back)
        return RunsBrowserScreen(self.logdirs, follow=self.follow, interval=self.interval, use_cache=self.use_cache)

    def action_help(self) -> None:
        from .screens.help import show_help

        show_help(self)


def run_browser(paths) -> int:
    """Open the runs browser on log directories; returns an exit status. q, Ctrl+C and
    SIGTERM quit it, even while a scan is stuck (:class:`.quitting.AppRunner`)."""
    undo_policy = policy.install(switch_interval=False)
    images.prepare_terminal_images()  # (before Textual takes the terminal)
    app = BrowseApp(paths)
    runner = AppRunner(app)
    try:
        with exit_on_signals(app):
            runner.run()
    finally:
        undo_policy()
    runner.finish(0)
    return 0
