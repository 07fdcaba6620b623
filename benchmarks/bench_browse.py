"""Benchmark the runs browser: table-ready cold/warm, full scalar load vs EventAccumulator, idle rescan, RSS."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gen_logs import generate  # noqa: E402
from keraslab.core import RunWatcher, discover_runs  # noqa: E402

TB_SIDE = """
import sys, time
from pathlib import Path
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util
root = Path(sys.argv[1])
dirs = sorted({p.parent for p in root.rglob("events.out.tfevents.*")})

def load():
    t = time.perf_counter()
    points = 0
    for d in dirs:
        acc = event_accumulator.EventAccumulator(str(d), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        tags = acc.Tags()
        for tag in tags["tensors"]:
            if acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                continue
            points += len([float(tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)])
        for tag in tags["scalars"]:
            points += len(acc.Scalars(tag))
    return time.perf_counter() - t, points

first, points = load()  # as a fresh process meets it: tensorboard imports TensorFlow on the way
tf = "tensorflow" in sys.modules
again = min(load()[0] for _ in range(2))  # TensorFlow already loaded
print(first, again, points, tf)
"""


OURS_SIDE = """
import json, sys, time
from keraslab.core.tfevents import read_run_scalars, read_runs_scalars
paths = json.loads(sys.stdin.read())

def load(together):
    t = time.perf_counter()
    results = read_runs_scalars(paths) if together else map(read_run_scalars, paths)
    points = sum(len(s) for res in results for s in res.scalars.values())
    return time.perf_counter() - t, points

first, points = load(True)  # as a fresh `keraslab compare`/`export` meets it (numpy & co. load)
again = min(load(True)[0] for _ in range(3))
one_by_one = min(load(False)[0] for _ in range(3))
print(first, again, one_by_one, points, "tensorflow" in sys.modules)
"""


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def drop_cache(root: Path) -> None:
    for p in root.glob(".keraslab-cache.json"):
        p.unlink()


FIRST_ROWS: dict[str, float] = {}  # table_ready's last: seconds until the first rows were drawn


def table_ready(root: Path, which: str) -> float:
    """Seconds until every run is in the runs table and the table has been drawn (the
    compositor asked it for a line of rows; headless Textual): from the start of `keraslab
    browse`'s app, and from pressing `r` (Runs) in the main app."""
    from keraslab.tui.app import KeraslabApp
    from keraslab.tui.browse_app import BrowseApp
    from keraslab.tui.screens.launch import LaunchScreen
    from keraslab.tui.widgets.line_table import LineTable

    expected = len(discover_runs(root, use_cache=False))  # (writes no cache)
    drawn: list[float] = []
    first_rows: list[float] = []  # a first scan shows the runs read so far
    render_line = LineTable.render_line

    def timed(self, y):
        strip = render_line(self, y)
        if y > 0 and self.id == "runs-table" and self.row_count:
            if not first_rows:
                first_rows.append(time.perf_counter())
            if not drawn and self.row_count >= expected:
                drawn.append(time.perf_counter())
        return strip

    async def filled(pilot, t: float) -> float:
        while not drawn:
            await pilot.pause(0.002)
        FIRST_ROWS[which] = first_rows[0] - t
        return drawn[0] - t

    async def browse() -> float:
        drawn.clear()
        first_rows.clear()
        app = BrowseApp([root], follow=False)
        t = time.perf_counter()
        async with app.run_test(size=(160, 50)) as pilot:
            return await filled(pilot, t)

    async def runs_key() -> float:
        app = KeraslabApp(logdir=root)
        async with app.run_test(size=(160, 50)) as pilot:
            while not isinstance(app.screen, LaunchScreen):
                await pilot.pause(0.01)
            await pilot.pause(0.3)
            drawn.clear()
            first_rows.clear()
            t = time.perf_counter()
            await pilot.press("r")
            return await filled(pilot, t)

    LineTable.render_line = timed
    try:
        return asyncio.run(browse() if which == "browse" else runs_key())
    finally:
        LineTable.render_line = render_line


# child processes run as an installed app would: they write bytecode (some shells forbid it)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def browse_process(root: Path, runs: int) -> float:
    """Seconds from starting the `keraslab browse` process (in a pseudo-terminal) until its
    table of every run is on the terminal (the status line, drawn with the rows, says so)."""
    from bench_app_startup import PtyApp

    app = PtyApp([str(Path(sys.executable).with_name("keraslab")), "browse", str(root)], size=(160, 50))
    try:
        return app.wait_text(f"{runs} of {runs} runs", limit=60) - app.t0
    finally:
        app.close()


def gc_pause_comparison(root: Path, rounds: int) -> None:
    """The app's gc_paused around bulk reads (tui/policy.py) against none, interleaved: a cold
    discover (no cache) and every scalar of every run, in this process, imports frozen as the app's."""
    from keraslab.core import set_bulk_read
    from keraslab.core.tfevents import read_runs_scalars
    from keraslab.tui.policy import freeze_imported_objects, gc_paused

    freeze_imported_objects()
    paths = [r.path for r in discover_runs(root, use_cache=False)]
    times: dict[str, dict[str, list[float]]] = {"paused": {}, "none": {}}
    for _ in range(rounds):
        for variant in ("paused", "none"):
            set_bulk_read(gc_paused if variant == "paused" else None)
            drop_cache(root)
            t = time.perf_counter()
            discover_runs(root, use_cache=False)
            times[variant].setdefault("discover", []).append(time.perf_counter() - t)
            t = time.perf_counter()
            read_runs_scalars(paths)
            times[variant].setdefault("scalars", []).append(time.perf_counter() - t)
    set_bulk_read(None)
    for what in ("discover", "scalars"):
        paused, none = sorted(times["paused"][what]), sorted(times["none"][what])
        print(f"{what} of {len(paths)} runs, median of {rounds} (min): gc paused "
              f"{paused[len(paused) // 2] * 1000:.0f} ms ({paused[0] * 1000:.0f}), collector on "
              f"{none[len(none) // 2] * 1000:.0f} ms ({none[0] * 1000:.0f})")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=500)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--dir", type=Path, help="reuse/generate logs here (default: a temp dir)")
    p.add_argument("--skip-tb", action="store_true", help="skip TensorBoard's EventAccumulator side")
    p.add_argument("--gc-pause", type=int, metavar="ROUNDS",
                   help="only compare the app's gc pause around bulk reads with none, ROUNDS times each")
    args = p.parse_args()
    tmp = None
    root = args.dir
    if root is None:
        tmp = tempfile.mkdtemp(prefix="keraslab-bench-")
        root = Path(tmp) / "logs"
    if not root.exists():
        t = time.perf_counter()
        generate(root, args.runs, args.epochs)
        print(f"generated {args.runs} runs x {args.epochs} epochs in {time.perf_counter() - t:.1f} s")
    try:
        if args.gc_pause:
            gc_pause_comparison(root, args.gc_pause)
            return
        from keraslab.tui.policy import install

        install(switch_interval=False)  # as `keraslab browse` runs (run_browser)
        # 1. table-ready data: cold (no cache) and warm (summary cache)
        drop_cache(root)
        t = time.perf_counter()
        runs = discover_runs(root)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        runs2 = discover_runs(root)
        warm = time.perf_counter() - t
        assert len(runs) == len(runs2) == args.runs, (len(runs), len(runs2))
        print(f"discover {len(runs)} runs: cold {cold * 1000:.0f} ms (target < 1000), "
              f"warm {warm * 1000:.0f} ms (target < 200)")
        drop_cache(root)
        cold_app = table_ready(root, "browse")  # (each cold run writes the cache)
        first_app = FIRST_ROWS["browse"]
        drop_cache(root)
        cold_key = table_ready(root, "key")
        first_key = FIRST_ROWS["key"]
        warm_app = min(table_ready(root, "browse") for _ in range(3))
        warm_key = min(table_ready(root, "key") for _ in range(3))
        drop_cache(root)
        cold_proc = browse_process(root, len(runs))
        warm_proc = min(browse_process(root, len(runs)) for _ in range(3))
        print(f"table filled: `keraslab browse` from its start: cold {cold_app * 1000:.0f} ms "
              f"(target < 1000), warm {warm_app * 1000:.0f} ms (best of 3); the app's Runs key "
              f"(r) to the table: cold {cold_key * 1000:.0f} ms, warm {warm_key * 1000:.0f} ms "
              f"(best of 3; target < 200)")
        print(f"cold, the first runs (a first scan shows them as it reads them): from the start of "
              f"`keraslab browse` {first_app * 1000:.0f} ms, from the Runs key {first_key * 1000:.0f} ms")
        print(f"table on the terminal, from starting the `keraslab browse` process (Python and "
              f"its imports included): cold {cold_proc * 1000:.0f} ms, warm {warm_proc * 1000:.0f} ms "
              f"(best of 3)")

        # 2. idle follow rescan
        watcher = RunWatcher(root)
        watcher.scan()
        times = []
        for _ in range(10):
            t = time.perf_counter()
            changed = watcher.scan()
            times.append(time.perf_counter() - t)
            assert not changed
        times.sort()
        print(f"follow rescan of {len(watcher.states)} idle runs: median {times[5] * 1000:.1f} ms "
              f"(target < 100)")

        rss = rss_mb()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"RSS of this browsing process {rss:.0f} MiB (peak {peak:.0f} MiB; target < 200)")
        print(f"tensorflow imported by browsing: {'tensorflow' in sys.modules}")
        assert "tensorflow" not in sys.modules

        # 3. every scalar of every run, each side in a fresh process of its own (first
        # load, then again warm): ours all runs at once as compare/export read them
        # (read_runs_scalars), and one run after another
        proc = subprocess.run([sys.executable, "-c", OURS_SIDE], capture_output=True, text=True,
                              input=json.dumps([str(r.path) for r in runs]), env=CHILD_ENV, check=True)  # fmt: skip
        first_ours, ours, one_by_one, points, tf_ours = proc.stdout.split()[-5:]
        first_ours, ours, one_by_one = float(first_ours), float(ours), float(one_by_one)
        print(f"load every scalar (ours, fresh process): {first_ours * 1000:.0f} ms, {points} points; "
              f"again, best of 3: {ours * 1000:.0f} ms all runs at once, {one_by_one * 1000:.0f} ms "
              f"one run after another; imported TensorFlow: {tf_ours}")
        assert tf_ours == "False"

        # 4. TensorBoard's EventAccumulator on the same files, in a subprocess (it imports TF)
        if not args.skip_tb:
            proc = subprocess.run([sys.executable, "-c", TB_SIDE, str(root)], capture_output=True,
                                  text=True, env={**CHILD_ENV, "TF_CPP_MIN_LOG_LEVEL": "3"})  # fmt: skip
            if proc.returncode != 0:
                print("EventAccumulator side failed:", proc.stderr[-500:])
            else:
                first, again, tb_points, tf = proc.stdout.split()[-4:]
                first, again = float(first), float(again)
                print(f"load every scalar (EventAccumulator, fresh process; imported TensorFlow: {tf}): "
                      f"{first * 1000:.0f} ms, {tb_points} points")
                print(f"load every scalar (EventAccumulator, again, best of 2): {again * 1000:.0f} ms")
                print(f"speed-up: {first / first_ours:.1f}x fresh process against fresh process, "
                      f"{again / ours:.1f}x warm against warm (target >= 20x)")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
