"""Running a Textual app so that quitting always ends the process, even with a worker thread stuck.

Textual runs ``@work(thread=True)`` workers in the event loop's default executor; ``asyncio.run``
(what ``App.run()`` uses) joins those threads when the app has ended, and Python joins them again
at exit. A worker stuck in a blocking call (a read of a hung network mount, say) would keep the
process alive forever after the screen was restored, ignoring q, Ctrl+C and SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from textual.app import App

EXIT_GRACE_S = 2.0  # how long threads the app started get to end once it has quit


class AppRunner:
    """Runs one app (:meth:`run`), then ends the process if its threads are stuck (:meth:`finish`)."""

    def __init__(self, app: App):
        self.app = app
        self._before = set(threading.enumerate())

    def run(self) -> Any:
        """``app.run()`` on an event loop of its own, closed without waiting for worker threads.

        The screen is restored when this returns (Textual closes its driver before the loop ends).
        """
        loop = asyncio.new_event_loop()
        try:
            return self.app.run(loop=loop)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()  # (shuts the default executor down without waiting for its threads)

    def stuck_threads(self, grace: float = EXIT_GRACE_S) -> list[threading.Thread]:
        """The non-daemon threads started since this runner was made still alive after ``grace`` seconds."""
        deadline = time.monotonic() + grace
        stuck = []
        for t in threading.enumerate():
            if t in self._before or t.daemon or t is threading.current_thread():
                continue
            t.join(max(0.0, deadline - time.monotonic()))
            if t.is_alive():
                stuck.append(t)
        return stuck

    def finish(self, status: int, grace: float = EXIT_GRACE_S) -> None:
        """Return when every thread the app started has ended within ``grace`` seconds; else
        say so on stderr and end the process with ``status`` at once.

        HACK: ``os._exit`` because Python joins the executor's threads at exit (threading's
        atexit hook) and a thread blocked in a system call cannot be interrupted; the app has
        already restored the terminal and written its files when this runs.
        """
        stuck = self.stuck_threads(grace)
        if not stuck:
            return
        names = ", ".join(t.name for t in stuck)
        with contextlib.suppress(Exception):
            print(f"keraslab: {len(stuck)} worker thread(s) did not stop ({names}); exiting anyway", file=sys.stderr)
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


@contextlib.contextmanager
def exit_on_signals(app: App, action: Callable[[], Any] | None = None) -> Iterator[None]:
    """SIGTERM and an external SIGINT call ``action`` (default: ``app.exit``) in the app's loop
    while the block runs; the previous handlers come back after it."""

    def on_signal(signum, frame) -> None:
        loop = app._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(action or app.exit)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
