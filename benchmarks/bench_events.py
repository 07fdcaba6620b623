"""Benchmark: keraslab's pure-Python event reader against TensorBoard's EventAccumulator."""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

from keraslab.core.tfevents import EventWriter, read_run_scalars, read_runs_scalars

TRAIN_TAGS = ("epoch_loss", "epoch_accuracy", "epoch_learning_rate")
VAL_TAGS = ("epoch_loss", "epoch_accuracy")


def rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) of this process in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    try:
        with open("/proc/self/statm") as f:
            cur = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        cur = float("nan")
    return cur, peak


def fmt_rss() -> str:
    cur, peak = rss_mb()
    return f"RSS {cur:.0f} MiB (peak {peak:.0f} MiB)"


def generate_runs(root: Path, runs: int, epochs: int) -> int:
    """Keras-callback-shaped runs: <run>/train and <run>/validation event files."""
    rng = random.Random(0)
    n = 0
    t0 = 1.7e9
    for r in range(runs):
        run = root / f"run-{r:04d}"
        with EventWriter(run / "train") as tw, EventWriter(run / "validation") as vw:
            tw.add_text("summary", f"run {r}: Dense(64)-Dense(10)", 0, wall_time=t0)
            loss = 2.0 + rng.random()
            for e in range(epochs):
                wt = t0 + r * 100 + e
                loss *= 0.9 + 0.05 * rng.random()
                acc = 1 - math.exp(-e / 10) * rng.random()
                tw.add_scalar("epoch_loss", loss, e, wall_time=wt)
                tw.add_scalar("epoch_accuracy", acc, e, wall_time=wt)
                tw.add_scalar("epoch_learning_rate", 1e-3, e, wall_time=wt)
                vw.add_scalar("epoch_loss", loss * 1.1, e, wall_time=wt)
                vw.add_scalar("epoch_accuracy", acc * 0.95, e, wall_time=wt)
                n += 5
                tw.flush()
                vw.flush()
    return n


def generate_big(path_dir: Path, megabytes: float, tags: int) -> int:
    """One big event file with ``tags`` tags, stepping until it reaches ``megabytes``."""
    limit = megabytes * 2**20
    n = 0
    with EventWriter(path_dir) as w:
        step = 0
        while True:
            for t in range(tags):
                w.add_scalar(f"group{t % 10}/metric_{t}", math.sin(step * 0.01 + t), step,
                             wall_time=1.7e9 + step)  # fmt: skip
            n += tags
            step += 1
            if step % 256 == 0:
                w.flush()
                if w.path.stat().st_size >= limit:
                    break
    return n


def event_dirs(run: Path) -> list[Path]:
    return sorted({p.parent for p in run.rglob("events.out.tfevents.*")})


def load_ours(runs: list[Path]) -> int:
    """As ``keraslab compare`` and ``export`` read them: all runs at once."""
    return sum(len(s) for res in read_runs_scalars(runs) for s in res.scalars.values())


def load_ours_one_by_one(runs: list[Path]) -> int:
    return sum(len(s) for run in runs for s in read_run_scalars(run).scalars.values())


def load_tensorboard(runs: list[Path]) -> int:
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    points = 0
    for run in runs:
        for d in event_dirs(run):
            acc = event_accumulator.EventAccumulator(
                str(d), size_guidance={"tensors": 0, "scalars": 0}
            )
            acc.Reload()
            tags = acc.Tags()
            for tag in tags["tensors"]:
                evs = acc.Tensors(tag)
                if acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                    continue
                vals = [float(tensor_util.make_ndarray(e.tensor_proto)) for e in evs]
                points += len(vals)
            for tag in tags["scalars"]:
                points += len(acc.Scalars(tag))
    return points


def timed(label: str, fn, runs: list[Path], repeat: int) -> tuple[float, int]:
    """Best wall time of ``repeat`` calls (the machine may be shared: take the minimum)."""
    times = []
    points = 0
    for _ in range(max(1, repeat)):
        t = time.perf_counter()
        points = fn(runs)
        times.append(time.perf_counter() - t)
    dt = min(times)
    print(
        f"  {label:<28} {dt:8.3f} s  {points:>9} points  {points / dt:>12,.0f} points/s"
        f"  (best of {len(times)})  {fmt_rss()}"
    )
    return dt, points


def compare(title: str, runs: list[Path], skip_tb: bool, repeat: int) -> None:
    print(title)
    ours, p1 = timed("keraslab reader", load_ours, runs, repeat)
    if len(runs) > 1:
        timed("  (one run after another)", load_ours_one_by_one, runs, repeat)
    if skip_tb:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    t = time.perf_counter()
    import tensorflow  # noqa: F401  - import cost shown apart, not counted below

    print(f"  {'(import tensorflow)':<28} {time.perf_counter() - t:8.3f} s  {fmt_rss()}")
    tb, p2 = timed("TensorBoard EventAccumulator", load_tensorboard, runs, repeat)
    if p1 != p2:
        print(f"  !! point counts differ: ours {p1}, TensorBoard {p2}")
    print(f"  speed-up: {tb / ours:.1f}x (target >= 20x)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=100, help="number of Keras-style runs (100)")
    ap.add_argument("--epochs", type=int, default=50, help="epochs per run (50)")
    ap.add_argument("--big-mb", type=float, default=0, help="also time one big file of this size")
    ap.add_argument("--big-tags", type=int, default=50, help="tags in the big file (50)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N loads of the runs (3)")
    ap.add_argument("--big-repeat", type=int, default=1, help="best of N loads of the big file (1)")
    ap.add_argument("--skip-tensorboard", action="store_true", help="time only our reader")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="keraslab-bench-"))
    try:
        print(f"python {sys.version.split()[0]}, data in {root}")
        if args.runs > 0:
            t = time.perf_counter()
            n = generate_runs(root / "runs", args.runs, args.epochs)
            dt = time.perf_counter() - t
            size = sum(p.stat().st_size for p in (root / "runs").rglob("*tfevents*"))
            print(f"generated {args.runs} runs x {args.epochs} epochs: {n} scalars, "
                  f"{size / 2**20:.1f} MiB in {dt:.2f} s ({n / dt:,.0f} scalars/s written)")  # fmt: skip
            runs = sorted((root / "runs").iterdir())
            compare(
                f"load all scalars of {len(runs)} runs:", runs, args.skip_tensorboard, args.repeat
            )
        if args.big_mb > 0:
            t = time.perf_counter()
            n = generate_big(root / "big", args.big_mb, args.big_tags)
            dt = time.perf_counter() - t
            size = sum(p.stat().st_size for p in (root / "big").iterdir())
            print(f"generated one file, {args.big_tags} tags, {n} scalars, "
                  f"{size / 2**20:.1f} MiB in {dt:.2f} s")  # fmt: skip
            compare("load the big file:", [root / "big"], args.skip_tensorboard, args.big_repeat)
    finally:
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
