"""Benchmark: time from launch to first paint of `keraslab` against a bare Textual "hello" app.

Each app runs in a pseudo-terminal (120x36); the clock stops when its first screen's text
appears in the terminal output. Both are measured alternately in the same run; the script
prints the medians and the ratio (goal: keraslab under 1 s and under 1.5x hello).

    .venv/bin/python benchmarks/bench_app_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

ANSI = re.compile(rb"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[P\]X^_][^\x1b]*\x1b\\|\x1b[=>()][0-9A-Za-z]?")
KERASLAB = Path(sys.executable).with_name("keraslab")
HELLO = """
from textual.app import App
from textual.widgets import Footer, Static

class Hello(App):
    def compose(self):
        yield Static("Hello, keraslab benchmark")
        yield Footer()

Hello().run()
"""

# the app with its start-up gc.freeze left out (tui/policy.py), for --compare-freeze
NO_FREEZE = """
import sys
import keraslab.tui.policy as policy
policy.freeze_imported_objects = lambda: None
from keraslab.tui.cli import main
sys.exit(main(sys.argv[1:]))
"""


# Python compiles the app's modules on each start when it may not write their bytecode
# (some shells set PYTHONDONTWRITEBYTECODE): ~0.3 s an installed app never pays.
BASE_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class PtyApp:
    """A process on a pseudo-terminal whose screen output we can wait on."""

    def __init__(self, argv: list[str], size=(120, 36), env: dict | None = None) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.master = master
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, close_fds=True, start_new_session=True,
            env={**BASE_ENV, "TERM": "xterm-256color", "COLORTERM": "truecolor", **(env or {})},
        )
        os.close(slave)
        self.buffer = b""

    def read(self, timeout: float) -> bytes:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return b""
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return b""
        self.buffer += data
        return data

    def wait_text(self, text: str, limit: float = 120.0, since: int = 0) -> float:
        """Seconds (perf_counter) at which ``text`` has appeared in the output after ``since``."""
        needle = text.encode()
        end = time.perf_counter() + limit
        while time.perf_counter() < end:
            if needle in ANSI.sub(b"", self.buffer[since:]):
                return time.perf_counter()
            self.read(0.05)
        raise TimeoutError(f"{text!r} never appeared")

    def drain(self, seconds: float = 0.0) -> None:
        end = time.perf_counter() + seconds
        while True:
            if not self.read(max(0.0, end - time.perf_counter())) and time.perf_counter() >= end:
                return

    def send(self, keys: bytes) -> float:
        self.drain()
        mark = len(self.buffer)
        os.write(self.master, keys)
        return mark

    def close(self) -> None:
        try:
            os.write(self.master, b"\x11")  # ctrl+q
            for _ in range(100):
                if self.proc.poll() is not None:
                    break
                self.read(0.05)
        except OSError:
            pass
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        os.close(self.master)


def first_paint(argv: list[str], text: str, env: dict | None = None, then: str | None = None):
    """Seconds until ``text`` is on the terminal; with ``then``, also until that is."""
    app = PtyApp(argv, env=env)
    try:
        first = app.wait_text(text) - app.t0
        if then is None:
            return first
        return first, app.wait_text(then) - app.t0
    finally:
        app.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--compare-freeze", action="store_true",
                        help="also time the app without its start-up gc.freeze, alternately")
    args = parser.parse_args()
    logdir = tempfile.mkdtemp(prefix="keraslab-bench-")
    hello_argv = [sys.executable, "-c", HELLO]
    app_argv = [str(KERASLAB), "--logdir", logdir]
    # warm the file cache once for each
    first_paint(hello_argv, "Hello, keraslab")
    first_paint(app_argv, "Ready: digits")
    hello, app, whole, unfrozen = [], [], [], []
    for _ in range(args.repeat):
        hello.append(first_paint(hello_argv, "Hello, keraslab"))
        if args.compare_freeze:
            unfrozen.append(first_paint([sys.executable, "-c", NO_FREEZE, "--logdir", logdir], "Ready: digits"))
        # the launch screen's first paint, then its settings fields (mounted right after)
        first, fields = first_paint(app_argv, "Ready: digits", then="limit samples")
        app.append(first)
        whole.append(fields)
    h, a = statistics.median(hello), statistics.median(app)
    print(f"first paint, median of {args.repeat} (min..max), 120x36 pty:")
    print(f"  bare Textual hello : {h * 1000:7.1f} ms  ({min(hello) * 1000:.0f}..{max(hello) * 1000:.0f})")
    print(f"  keraslab app       : {a * 1000:7.1f} ms  ({min(app) * 1000:.0f}..{max(app) * 1000:.0f})")
    print(f"  ratio app/hello    : {a / h:7.2f}x   (goal: < 1.5x and app < 1000 ms)")
    if unfrozen:
        u = statistics.median(unfrozen)
        print(f"  app without freeze : {u * 1000:7.1f} ms  ({min(unfrozen) * 1000:.0f}..{max(unfrozen) * 1000:.0f})")
    w = statistics.median(whole)
    print(f"  settings fields in : {w * 1000:7.1f} ms  ({min(whole) * 1000:.0f}..{max(whole) * 1000:.0f}; "
          f"{w / h:.2f}x hello; they are mounted right after the first paint)")
    print("  TensorFlow loaded before first paint: no (the launch path never imports it)")
    print("breakdown (one cold-ish subprocess each, seconds):")
    for label, code in [
        ("import textual.app", "import textual.app"),
        ("import keraslab.core", "import keraslab.core"),
        ("import keraslab.tui.cli + app", "import keraslab.tui.cli, keraslab.tui.app"),
    ]:
        t = []
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True)
            t.append(time.perf_counter() - t0)
        print(f"  {label:<32}{min(t):6.3f} (python start included)")


if __name__ == "__main__":
    main()
