"""Benchmark: key press to repaint latency of the real app while a CNN trains on the CPU.

The app runs in a pseudo-terminal (120x36) with the `cnn` preset on digits and many epochs.
Once training streams progress, the script presses keys whose effect is visible and times
until the new text arrives in the terminal output:

- `down`/`up` in the dataset list on the launch screen (the dataset detail changes), and
- `v`/`l` switching between the training view and the launch screen (a full repaint), and
- `escape` for that switch too, reported apart: a terminal sends a lone ESC byte, and
  Textual waits ESCDELAY (100 ms by default, like curses) for more bytes before taking it
  as the Escape key, so that wait is in every escape's latency, whatever the app does.

Prints p50/p95/max in milliseconds (goal: p95 under 100 ms).

    .venv/bin/python benchmarks/bench_app_latency.py [--presses 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_app_startup import PtyApp  # noqa: E402

CHILD = """
import sys
from keraslab.tui.app import KeraslabApp, run_app
from keraslab.tui.widgets.settings_form import SettingsForm

class BenchApp(KeraslabApp):
    def on_ready(self):
        screen = self.screen
        form = screen.query_one(SettingsForm)  # (its fields may not be mounted yet)
        form.set_value("epochs", 1000)
        form.set_value("batch_size", 32)
        screen.query_one("#datasets").focus()

import keraslab.tui.app as app_module
import keraslab.tui.policy as policy
app_module.KeraslabApp = BenchApp
without = sys.argv[2].split(",") if len(sys.argv) > 2 else []
if "nice" in without:
    policy.nice_this_thread = lambda: 0
if "switch" in without:
    policy.UI_SWITCH_INTERVAL = sys.getswitchinterval()
if "freeze" in without:
    policy.freeze_imported_objects = lambda: None
    policy.RunFreeze.settle = lambda self: None
sys.exit(run_app(model="cnn", logdir=sys.argv[1]))
"""

DOWN, UP, ESC = b"\x1b[B", b"\x1b[A", b"\x1b"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def timed(app: PtyApp, key: bytes, text: str) -> float:
    import time

    mark = app.send(key)
    t0 = time.perf_counter()
    return app.wait_text(text, limit=30, since=mark) - t0


def report(label: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(f"  {label:<34} n={len(ms):3d}  p50 {statistics.median(ms):6.1f}  "
          f"p95 {percentile(ms, 95):6.1f}  max {max(ms):6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presses", type=int, default=40)
    parser.add_argument("--idle", action="store_true", help="measure without training (baseline)")
    parser.add_argument("--without", default="", metavar="TRICKS",
                        help="leave out parts of the app's policy (tui/policy.py), comma-separated: "
                        "nice (training thread priority), switch (switch interval), freeze (gc freezing)")
    args = parser.parse_args()
    logdir = tempfile.mkdtemp(prefix="keraslab-bench-")
    app = PtyApp([sys.executable, "-c", CHILD, logdir, args.without])
    try:
        app.wait_text("Ready: digits")
        app.drain(0.5)
        if not args.idle:
            mark = app.send(b"t")
            app.wait_text("samples/s", limit=120, since=mark)  # training streams progress
            app.drain(1.0)
        else:
            mark = app.send(b"v")  # the training view exists only after a run: stay on launch
        app.drain(0.5)
        to_launch: list[float] = []
        to_training: list[float] = []
        escapes: list[float] = []
        for i in range(0 if args.idle else args.presses // 2):
            to_launch.append(timed(app, b"l", "Dataset"))
            app.drain(0.1)
            to_training.append(timed(app, b"v", "Stop run"))
            app.drain(0.1)
            if i % 2 == 0:
                escapes.append(timed(app, ESC, "Dataset"))
                app.drain(0.1)
                app.send(b"v")
                app.wait_text("Stop run")
                app.drain(0.1)
        switch = to_launch + to_training
        app.send(ESC)
        app.wait_text("Dataset")
        app.drain(0.3)
        lists: list[float] = []
        for _ in range(args.presses // 2):
            lists.append(timed(app, DOWN, "MNIST"))
            app.drain(0.1)
            lists.append(timed(app, UP, "scikit-learn digits"))
            app.drain(0.1)
        still = b"samples/s" in app.buffer or b"epoch" in app.buffer
    finally:
        app.close()
    print("key press -> repaint " + ("with nothing training" if args.idle else
          "while the cnn preset trains on digits (CPU)") + ", 120x36 pty"
          + (f", without {args.without}" if args.without else "") + ":")
    report("dataset list down/up (launch)", lists)
    if switch:
        report("screen switch l (to launch)", to_launch)
        report("screen switch v (to training)", to_training)
        report("screen switch v/l", switch)
    report("all", lists + switch)
    if escapes:
        report("escape (to launch; + ESCDELAY wait)", escapes)
    if args.idle:
        print("  idle: no training (baseline)  (goal: p95 < 100 ms)")
    else:
        print(f"  training was running throughout: {still}  (goal: p95 < 100 ms)")


if __name__ == "__main__":
    main()
