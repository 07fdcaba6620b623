"""Helpers for the sweep tests: a sweep whose points have runs written by the real run writer (no training)."""

from __future__ import annotations

from pathlib import Path

from keraslab import core
from keraslab.core import RunConfig
from keraslab.core.rundir.writer import RunWriter, create_run_dir


def sweep_with_runs(logdir: Path, accuracies: dict[int, float | None]) -> core.Sweep:
    """A sweep over three learning rates whose points in ``accuracies`` have finished runs
    (written by the real run writer) with that best val_accuracy (None: still running)."""
    grid = core.make_grid(RunConfig(epochs=2), {"learning_rate": "0.1,0.01,0.001"})
    sweep = core.create_sweep(core.plan_sweep(logdir, grid, grid.positions(), "keraslab sweep --lr 0.1,0.01,0.001"))
    for index, acc in accuracies.items():
        point = sweep.points[index]
        config = sweep.point_config(point)
        run = create_run_dir(logdir, point.name)
        w = RunWriter(run)
        w.write_config({"run": config.to_dict(), "reproduce": f"keraslab train --lr {config.learning_rate}"})
        w.start(epochs=2)
        if acc is not None:
            w.log_epoch(1, {"loss": 1.0, "val_accuracy": acc / 2})
            w.log_epoch(2, {"loss": 0.5, "val_accuracy": acc})
            w.finish("completed")
        w.close()
    return sweep
