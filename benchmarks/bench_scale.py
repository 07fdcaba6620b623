"""Benchmark browsing at sweep scale: 10,000 keraslab runs x 50 epochs in one log directory, cold and warm, `keraslab runs` and the browser."""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from gen_logs import keraslab_run  # noqa: E402

TEMPLATES = 50  # distinct runs written by the real writer; the corpus copies them
KERASLAB = str(Path(sys.executable).with_name("keraslab"))
TARGETS = {"warm": 1.0, "first": 1.0, "cold": 10.0}  # seconds (issue #17, "Scale")

# child processes run as an installed app would: they write bytecode (some shells forbid it)
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def make_corpus(root: Path, runs: int, epochs: int, seed: int = 0) -> None:
    """``runs`` keraslab run directories under ``root``: TEMPLATES of them written by the
    run writer (config, status with its metrics tally, metrics.jsonl, results, event files),
    the rest byte-for-byte copies of those (what the writer wrote, under another name)."""
    rng = random.Random(seed)
    t0 = time.time() - runs * 100 - 3600
    templates = []
    for r in range(min(TEMPLATES, runs)):
        path = root / f"run-{r:05d}"
        keraslab_run(path, r, epochs, rng, t0)
        templates.append([(p.relative_to(path), p.read_bytes()) for p in sorted(path.rglob("*")) if p.is_file()])
    for r in range(len(templates), runs):
        path = root / f"run-{r:05d}"
        for rel, data in templates[r % len(templates)]:
            target = path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)


def drop_summary_cache(root: Path) -> None:
    from keraslab.core.browse.cache import cache_paths

    for path in cache_paths(root):
        path.unlink(missing_ok=True)


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), then read Python's and keraslab's own
    modules back in (a cold log directory, not a cold interpreter); whether it was done."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
    except OSError:
        return False
    warm = "import keraslab.tui.cli, keraslab.tui.cli_runs, keraslab.tui.browse_app, keraslab.core.browse.discovery"
    subprocess.run([sys.executable, "-c", warm], env=CHILD_ENV, check=True)
    return True


def children_cpu() -> float:
    """CPU seconds (user + system) of the finished child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def runs_command(root: Path, *extra: str, env: dict | None = None) -> tuple[float, float, int, float]:
    """Run `keraslab runs` in a fresh process, its output on a pipe: seconds until its first
    run's row, until it ended, the rows printed, and the CPU seconds it took."""
    cpu = children_cpu()
    t = time.perf_counter()
    proc = subprocess.Popen([KERASLAB, "runs", "--logdir", str(root), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env or CHILD_ENV)  # fmt: skip
    first, lines = None, 0
    for _ in proc.stdout:
        lines += 1
        if lines == 3:  # (a header, its rule, then the first run)
            first = time.perf_counter() - t
    err = proc.stderr.read()
    if proc.wait() != 0:
        raise SystemExit(f"keraslab runs failed: {err[-500:]}")
    return first or float("nan"), time.perf_counter() - t, max(0, lines - 2), children_cpu() - cpu


BROWSER_CHILD = """
import asyncio, json, sys, time
t0 = time.perf_counter()
from pathlib import Path
from keraslab.tui.browse_app import BrowseApp
from keraslab.tui.policy import install
from keraslab.tui.widgets.line_table import LineTable
root, expected = Path(sys.argv[1]), int(sys.argv[2])
install(switch_interval=False)  # as `keraslab browse` runs
marks = {}
render_line = LineTable.render_line

def timed(self, y):  # the table drawn with rows: first ones, then all of them
    strip = render_line(self, y)
    if y > 0 and self.id == "runs-table" and self.row_count:
        marks.setdefault("first", time.perf_counter())
        if self.row_count >= expected:
            marks.setdefault("all", time.perf_counter())
    return strip

LineTable.render_line = timed
lags = []

async def main():
    app = BrowseApp([root], follow=False)
    async with app.run_test(size=(160, 50)) as pilot:
        last = [time.perf_counter()]

        def tick():  # the event loop's lateness while the scan goes on: is the UI responsive?
            now = time.perf_counter()
            lags.append(now - last[0] - 0.05)
            last[0] = now

        app.set_interval(0.05, tick)
        while "all" not in marks:
            await pilot.pause(0.01)
        await pilot.press("down")  # a key goes through while the table is full
        await pilot.pause(0.05)

asyncio.run(main())
lags.sort()
print(json.dumps({"first": marks["first"] - t0, "all": marks["all"] - t0,
                  "lag_max": lags[-1] if lags else 0.0, "lag_p95": lags[int(len(lags) * 0.95)] if lags else 0.0}))
"""


def browser(root: Path, runs: int) -> dict:
    """The browser in a fresh process (headless Pilot, 160x50): seconds from the process's
    start (its imports included) until the first rows and all rows are drawn, and the
    event loop's worst lateness meanwhile."""
    cpu = children_cpu()
    proc = subprocess.run([sys.executable, "-c", BROWSER_CHILD, str(root), str(runs)], capture_output=True,
                          text=True, env=CHILD_ENV, timeout=600)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"browser child failed: {proc.stderr[-800:]}")
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), "cpu": children_cpu() - cpu}


def against(root: Path, base: str, repeat: int) -> None:
    """Warm `keraslab runs`, the code on PYTHONPATH ``base`` and this tree alternately, each
    with its own summary cache (their versions may differ: each would drop the other's)."""
    from keraslab.core.browse.cache import cache_paths

    path = cache_paths(root)[0]
    sides = {"base": {**CHILD_ENV, "PYTHONPATH": base}, "this": CHILD_ENV}
    saved, cpu = {}, {side: [] for side in sides}
    for side, env in sides.items():  # (each side's cache, made by its own scan)
        drop_summary_cache(root)
        runs_command(root, env=env)
        saved[side] = path.read_bytes()
    for _ in range(repeat):
        for side, env in sides.items():
            path.write_bytes(saved[side])
            cpu[side].append(runs_command(root, env=env)[3])
    base_cpu, this_cpu = (statistics.median(cpu[side]) for side in sides)
    print(f"keraslab runs, warm, alternately {repeat} each, CPU: base {' '.join(f'{c:.2f}' for c in cpu['base'])} "
          f"(median {base_cpu:.2f} s), this {' '.join(f'{c:.2f}' for c in cpu['this'])} (median {this_cpu:.2f} s): "
          f"{base_cpu / this_cpu:.2f}x")


def verdict(seconds: float, target: float) -> str:
    return f"{seconds:6.2f} s  (target < {target:g} s: {'met' if seconds < target else 'MISSED'})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--dir", type=Path, default=Path("/tmp/keraslab-scale"), help="corpus (made if absent)")
    p.add_argument("--repeat", type=int, default=3, help="warm measurements (median reported)")
    p.add_argument("--skip-browser", action="store_true")
    p.add_argument("--against", metavar="PYTHONPATH", help="also time warm `keraslab runs` of the code there "
                   "(a directory holding a keraslab package) and this tree alternately, and print the ratio")  # fmt: skip
    args = p.parse_args()
    root = args.dir
    if not root.exists():
        t = time.perf_counter()
        make_corpus(root, args.runs, args.epochs)
        print(f"made {args.runs} runs x {args.epochs} epochs under {root} in {time.perf_counter() - t:.1f} s")
    runs = sum(1 for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    print(f"{runs} runs in {root}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f}")
    print(f"command: {Path(sys.executable).name} {' '.join(sys.argv)}  (wall times grow with the load; CPU times less)")

    drop_summary_cache(root)
    dropped = drop_page_cache()
    page = "page cache dropped" if dropped else "page cache warm (not root: cannot drop it)"
    first, total, rows, cpu = runs_command(root)
    assert rows == runs, (rows, runs)
    print(f"keraslab runs, cold ({page}, no summary cache), wall time:")
    print(f"  first rows {verdict(first, TARGETS['first'])}")
    print(f"  all rows   {verdict(total, TARGETS['cold'])}   CPU {cpu:.2f} s")
    drop_summary_cache(root)
    first, total, rows, cpu = runs_command(root)
    print(f"keraslab runs, no summary cache, page cache warm: first rows {first:.2f} s, all rows {total:.2f} s, "
          f"CPU {cpu:.2f} s")

    warm = [runs_command(root) for _ in range(args.repeat)]
    print(f"keraslab runs, warm (summary cache), median of {args.repeat}:")
    print(f"  first rows {verdict(statistics.median(w[0] for w in warm), TARGETS['first'])}")
    print(f"  all rows   {verdict(statistics.median(w[1] for w in warm), TARGETS['warm'])}   "
          f"CPU {statistics.median(w[3] for w in warm):.2f} s")
    sort = [runs_command(root, "--sort", "best_val_acc") for _ in range(args.repeat)]
    print(f"keraslab runs --sort best_val_acc, warm, median of {args.repeat}: {statistics.median(w[1] for w in sort):.2f} s, "
          f"CPU {statistics.median(w[3] for w in sort):.2f} s")

    if args.against:
        against(root, args.against, args.repeat)

    if not args.skip_browser:
        drop_summary_cache(root)
        drop_page_cache()
        cold = browser(root, runs)
        print(f"browser (`keraslab browse` headless, from its process start), cold ({page}):")
        print(f"  first rows {verdict(cold['first'], TARGETS['first'])}")
        print(f"  all rows   {verdict(cold['all'], TARGETS['cold'])}   CPU {cold['cpu']:.2f} s (to its exit)")
        print(f"  event loop late by at most {cold['lag_max'] * 1000:.0f} ms (p95 {cold['lag_p95'] * 1000:.0f} ms)")
        warm_b = [browser(root, runs) for _ in range(args.repeat)]
        print(f"browser, warm (summary cache), median of {args.repeat}:")
        print(f"  first rows {verdict(statistics.median(w['first'] for w in warm_b), TARGETS['first'])}")
        print(f"  all rows   {verdict(statistics.median(w['all'] for w in warm_b), TARGETS['warm'])}   "
              f"CPU {statistics.median(w['cpu'] for w in warm_b):.2f} s (to its exit)")
        print(f"  event loop late by at most {max(w['lag_max'] for w in warm_b) * 1000:.0f} ms "
              f"(p95 {max(w['lag_p95'] for w in warm_b) * 1000:.0f} ms)")
    print(f"load average at the end {os.getloadavg()[0]:.1f} (the machine is shared: figures vary with it)")


if __name__ == "__main__":
    main()
