"""Benchmark the runs table's sweep column: its share of a row's cells, and sorting by it, over 10,000 runs."""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from keraslab.core import RunSummary, filter_runs, sort_runs
from keraslab.tui.fmt import run_cells, sweep_cell


def corpus(n: int) -> list[RunSummary]:
    """``n`` summaries as a log directory of sweeps makes them: 100 sweeps of points, every
    fifth run in none."""
    return [
        RunSummary(name=f"mnist-cnn-p{i % 100}-1", path=Path(f"/runs/r{i:05d}"), kind="keraslab", status="completed",
                   dataset="mnist", model="cnn", params=1_234_567, epochs=50, epochs_planned=50,
                   best_val_accuracy=0.9 + (i % 97) / 1000, test_accuracy=0.9, duration=600.0 + i,
                   start_time=1.7e9 + i, sweep=None if i % 5 == 0 else f"sw-261207-{i // 100:06d}",
                   sweep_point=None if i % 5 == 0 else i % 100)
        for i in range(n)
    ]  # fmt: skip


def measure(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU (user + system of this process) seconds of ``fn()``."""
    walls, cpus = [], []
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        c1, t1 = time.process_time(), time.perf_counter()
        walls.append(t1 - t0)
        cpus.append(c1 - c0)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=7, help="measurements per figure (median reported)")
    args = p.parse_args()
    runs = corpus(args.runs)
    rows = measure(lambda: [run_cells(r) for r in runs], args.repeat)
    column = measure(lambda: [sweep_cell(r) for r in runs], args.repeat)
    by_name = measure(lambda: sort_runs(runs, "name"), args.repeat)
    by_sweep = measure(lambda: sort_runs(runs, "sweep"), args.repeat)
    by_filter = measure(lambda: filter_runs(runs, "sweep == sw-261207-000042"), args.repeat)
    print(f"{args.runs:,} runs, medians of {args.repeat}; load average {os.getloadavg()[0]:.1f}")
    for what, (wall, cpu) in [("a row's cells (run_cells, sweep cell included)", rows), ("the sweep cell alone", column),
                              ("sort by name", by_name), ("sort by sweep (id, then point)", by_sweep),
                              ("filter sweep == ID", by_filter)]:  # fmt: skip
        print(f"  {what:<48} wall {wall * 1000:7.1f} ms  cpu {cpu * 1000:7.1f} ms  ({wall / args.runs * 1e6:.2f} us a run)")
    print(f"the sweep cell is {column[0] / rows[0]:.0%} of a row's cells; sort by sweep / by name: {by_sweep[0] / by_name[0]:.2f}x")


if __name__ == "__main__":
    main()
