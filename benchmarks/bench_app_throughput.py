"""Benchmark: training throughput of plain `model.fit` vs a TrainingSession vs the app driving one.

One process, the same model (keraslab's own builder), data, batch size and optimizer, three ways:

- fit      plain `model.fit(verbose=0)` with the data, input batches and model a session would
           use (on TensorFlow the batches of `core.train.pipeline`: tf.data without its autotuner),
- session  a headless `core.TrainingSession` (its progress events drained),
- app      the real `KeraslabApp` under `run_test()` (headless, 120x36): the settings are typed
           into the launch screen and `t` starts the run, so the live curves, progress bar and
           epoch table update as in real use; `sys.setswitchinterval` is set as `run_app` sets it,
- app-nofreeze, app-5ms  (only with `--only`) the app without its session hooks' gc freezing,
           or with Python's default 5 ms switch interval instead of the app's,
- numpy    (only with `--only numpy`, add `--only fit` to compare) `model.fit` on the NumPy
           arrays as Keras batches them itself, with tf.data's autotuner.

Samples/s is the median over epochs 2..N (epoch 1 holds tracing and compilation) of
train samples / epoch wall time; an epoch's time is the gap between consecutive epoch ends
(`time` of the epoch lines in metrics.jsonl for session and app, the same clock in a callback
for fit), so validation and checkpointing count. The variants alternate (ABCABC...) because a
small VM is noisy; the script prints every round, the spread and the overhead ratios against the
goal (the app loses at most 3% against plain fit): medians over rounds, paired rounds, and the
upper quartile of all epochs (the least swayed by epochs that a busy machine slows down; with
Keras' autotuned pipeline, the numpy variant, a third of the epochs ran 25-35% slower). It
also reports how much CPU the UI (main) thread used while the app trained, and how often and
how long the curve plots drew.

The default data is scikit-learn digits tiled to about 15,000 samples (written once to a
temporary .npz that all three variants load); `--dataset mnist --limit 6000` works when MNIST
is available offline.

    .venv/bin/python benchmarks/bench_app_throughput.py [--epochs 6] [--batch-size 128] [--rounds 6]
    .venv/bin/python benchmarks/bench_app_throughput.py --only app --rounds 1 --profile
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import logging
import math
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from keraslab import core  # noqa: E402

GOAL = 0.03  # the app may cost at most 3% of plain fit's throughput
# numpy, app-nofreeze, app-5ms: only when asked (--only); the last two are the app without the
# run freezing of tui/policy.py's session hooks, and with Python's default switch interval
VARIANTS = ("fit", "session", "app", "numpy", "app-nofreeze", "app-5ms")


# -- data ------------------------------------------------------------------------------------
def make_npz(dataset: str, tile: int, limit: int | None, folder: Path) -> Path:
    """The benchmark data as one .npz every variant loads (same arrays, same split)."""
    import numpy as np

    data = core.load_dataset(dataset, validation_split=0.0, limit=limit)
    x = np.concatenate([data.x_train] * tile) if tile > 1 else data.x_train
    y = np.concatenate([data.y_train] * tile) if tile > 1 else data.y_train
    path = folder / f"{dataset}-x{tile}.npz"
    np.savez(path, x_train=x, y_train=y, x_test=data.x_test, y_test=data.y_test)
    return path


def samples_per_second(n_train: int, epoch_ends: list[float]) -> list[float]:
    """Samples/s of epochs 2..N from the wall-clock times at which epochs 1..N ended."""
    return [n_train / (b - a) for a, b in zip(epoch_ends, epoch_ends[1:], strict=False) if b > a]


def epoch_ends_from_metrics(run_dir: Path) -> list[float]:
    ends = []
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("type") == "epoch" and not record.get("partial"):
            ends.append(float(record["time"]))
    return ends


def train_size(config: core.RunConfig) -> int:
    data = core.load_dataset(config.dataset, validation_split=config.validation_split,
                             seed=config.seed, limit=config.limit)
    return int(data.x_train.shape[0])


# -- the three variants ------------------------------------------------------------------------
def run_fit(config: core.RunConfig, logdir: Path, numpy: bool = False) -> dict:
    """Plain model.fit with what a session would build: same stack, scaling, optimizer, loss
    and input batches (or, with ``numpy``, the arrays as they are, batched by Keras)."""
    import numpy as np
    from keraslab.core.model.layers import output_is_probabilities
    from keraslab.core.train.backend import import_keras
    from keraslab.core.train.build import build_model
    from keraslab.core.train.optim import make_loss, make_optimizer, needs_one_hot
    from keraslab.core.train.pipeline import fit_data, keras_batched

    keras = import_keras()
    data = core.load_dataset(config.dataset, validation_split=config.validation_split,
                             seed=config.seed, limit=config.limit)
    stack = core.resolve_stack(config)
    keras.utils.set_random_seed(config.seed)
    model = build_model(stack, data.info.input_shape, data.info.num_classes,
                        input_scaling=data.input_scaling(config.normalization),
                        l2=config.l2 or None)
    n_train = int(data.x_train.shape[0])
    steps = max(1, math.ceil(n_train / config.batch_size))
    from_logits = (not output_is_probabilities(stack)) if config.from_logits is None \
        else config.from_logits
    model.compile(optimizer=make_optimizer(keras, config, steps),
                  loss=make_loss(keras, config, from_logits), metrics=["accuracy"])
    y_train, y_val = data.y_train, data.y_val
    if needs_one_hot(config):
        eye = np.eye(data.info.num_classes, dtype="float32")
        y_train, y_val = eye[y_train], eye[y_val]
    ends: list[float] = []
    clock = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.time()))
    validation = (data.x_val, y_val) if data.x_val.shape[0] else None
    if numpy:  # Keras' own input pipeline for NumPy arrays (tf.data with AUTOTUNE)
        inputs = keras_batched(data.x_train, y_train, validation, config.batch_size)
    else:  # the batches a session feeds fit()
        inputs = fit_data(keras.backend.backend(), data.x_train, y_train, validation,
                          config.batch_size, config.seed)  # fmt: skip
    t0 = time.perf_counter()
    model.fit(**inputs, epochs=config.epochs, callbacks=[clock], verbose=0)
    return {"ends": ends, "n_train": n_train, "wall": time.perf_counter() - t0}


def run_session(config: core.RunConfig, logdir: Path) -> dict:
    session = core.TrainingSession(config, logdir, progress_interval=0.2)
    t0 = time.perf_counter()
    run_dir = session.start()
    events = 0
    while not session.done:
        events += len(session.poll(timeout=0.5))
    result = session.wait()
    events += len(session.poll())
    assert result is not None and result.status == "completed", result
    return {"ends": epoch_ends_from_metrics(run_dir), "events": events,
            "wall": time.perf_counter() - t0}


class PlotTimer:
    """Counts and times CurvePlot.build_strips (plotext drawing into screen lines) while installed."""

    def __init__(self) -> None:
        self.calls = 0
        self.seconds = 0.0

    def __enter__(self) -> PlotTimer:
        from keraslab.tui.widgets.curves import CurvePlot

        original = CurvePlot.build_strips
        timer = self

        def build_strips(widget, size):
            t = time.perf_counter()
            try:
                return original(widget, size)
            finally:
                timer.calls += 1
                timer.seconds += time.perf_counter() - t

        CurvePlot.build_strips = build_strips
        return self

    def __exit__(self, *exc) -> None:
        from keraslab.tui.widgets.curves import CurvePlot

        del CurvePlot.build_strips  # (inherited: back to PlotextLines' own)


async def _drive_app(config: core.RunConfig, logdir: Path, profile: cProfile.Profile | None) -> dict:
    from keraslab.tui.app import KeraslabApp
    from keraslab.tui.screens.launch import LaunchScreen
    from keraslab.tui.widgets.layer_table import LayerTable
    from keraslab.tui.widgets.settings_form import SettingsForm

    app = KeraslabApp(dataset=config.dataset, model=config.model, logdir=logdir)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.screen
        assert isinstance(screen, LaunchScreen)
        form = screen.query_one(SettingsForm)
        form.set_value("epochs", config.epochs)
        form.set_value("batch_size", config.batch_size)
        await pilot.pause()
        assert screen.can_train, screen.settings_errors
        screen.query_one(LayerTable).focus()
        await pilot.pause()
        ui_cpu0, t0 = time.thread_time(), time.perf_counter()
        if profile is not None:
            profile.enable()
        await pilot.press("t")  # the launch screen's own binding: submit, show the training view
        state = app.runs[0]
        marks: list[tuple[float, float]] = []  # (UI CPU, wall) at the end of epoch 1 and of the last
        while state.finished is None:
            await asyncio.sleep(0.2)  # no pilot.pause: it forces extra screen updates
            done = len(state.epochs)
            if (not marks and done >= 1) or (len(marks) == 1 and done >= config.epochs):
                marks.append((time.thread_time(), time.perf_counter()))
        if profile is not None:
            profile.disable()
        ui_cpu, wall = time.thread_time() - ui_cpu0, time.perf_counter() - t0
        await asyncio.sleep(0.3)
        run = state.config
        same = (run.dataset, run.model, run.epochs, run.batch_size) == (
            config.dataset, config.model, config.epochs, config.batch_size)
        assert same, f"the app trained {run} instead of {config}"
        assert state.finished.status == "completed", state.finished
        run_dir = state.finished.run_dir
        events = state.events
    steady = (marks[1][0] - marks[0][0], marks[1][1] - marks[0][1]) if len(marks) == 2 else (0.0, 0.0)
    return {"ends": epoch_ends_from_metrics(run_dir), "events": events, "wall": wall,
            "ui_cpu": ui_cpu, "ui_steady": steady}


def run_app(config: core.RunConfig, logdir: Path, profile: cProfile.Profile | None = None,
            switch_interval: float | None = None, freeze: bool = True) -> dict:
    from keraslab.tui import policy

    previous = sys.getswitchinterval()
    # as run_app() does for the real terminal app, unless the command line asks otherwise
    sys.setswitchinterval(switch_interval or policy.UI_SWITCH_INTERVAL)
    hooks = policy.session_hooks
    if not freeze:
        policy.session_hooks = lambda: core.SessionHooks(on_worker_start=policy.nice_this_thread)
    try:
        with PlotTimer() as plots:
            out = asyncio.run(_drive_app(config, logdir, profile))
    finally:
        sys.setswitchinterval(previous)
        policy.session_hooks = hooks
    out["plots"], out["plot_s"] = plots.calls, plots.seconds
    return out


def warm_tensorflow_niced() -> None:
    """Load Keras and run one op in a thread niced like the app's training thread.

    TensorFlow's worker pools are created by the first op and inherit that thread's niceness;
    in the app the niced training thread creates them, so do the same here (once per process).
    """
    from keraslab.core.train.backend import import_keras
    from keraslab.tui.policy import nice_this_thread

    def warm() -> None:
        nice_this_thread()
        keras = import_keras()
        keras.ops.convert_to_numpy(keras.ops.sum(keras.ops.ones((64, 64)) @ keras.ops.ones((64, 64))))

    thread = threading.Thread(target=warm)
    thread.start()
    thread.join()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # no retracing warnings mid-table


# -- report ------------------------------------------------------------------------------------
def spread(values: list[float]) -> str:
    lo, hi = min(values), max(values)
    mid = statistics.median(values)
    return f"{lo:8.0f}..{hi:<8.0f} (±{(hi - lo) / 2 / mid * 100:4.1f}%)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--dataset", default="digits", help="a dataset name or an .npz path")
    parser.add_argument("--tile", type=int, default=12, help="repeat the training set this often")
    parser.add_argument("--limit", type=int, default=None, help="cap the training samples")
    parser.add_argument("--model", default="cnn", help="a preset name or a layer notation")
    parser.add_argument("--only", choices=VARIANTS, action="append",
                        help="measure only these variants (repeatable)")
    parser.add_argument("--switch-interval", type=float, default=None,
                        help="sys.setswitchinterval for the app variant (default: the app's own)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile the UI (main) thread during the app runs; print the top")
    args = parser.parse_args()
    if args.epochs < 3:
        parser.error("--epochs must be at least 3 (epoch 1 is excluded)")
    variants = tuple(v for v in VARIANTS if (v in args.only if args.only else v in ("fit", "session", "app")))

    tmp = Path(tempfile.mkdtemp(prefix="keraslab-bench-"))
    logdir = tmp / "runs"
    if args.dataset.endswith(".npz") or args.dataset.startswith("npz:"):
        npz = Path(args.dataset.removeprefix("npz:")).expanduser().resolve()
    else:
        npz = make_npz(args.dataset, args.tile, args.limit, tmp)
    config = core.RunConfig(dataset=str(npz), model=args.model, epochs=args.epochs,
                            batch_size=args.batch_size).validate()
    n_train = train_size(config)
    print(f"data: {args.dataset} x{args.tile} -> {n_train} train samples "
          f"({math.ceil(n_train / args.batch_size)} batches of {args.batch_size}), model {args.model}, "
          f"{args.epochs} epochs, {os.cpu_count()} CPUs, rounds {args.rounds} "
          f"({''.join(v[0].upper() for v in variants)} order)", flush=True)
    t_start = time.perf_counter()
    warm_tensorflow_niced()
    import keras

    runners = {"fit": run_fit, "session": run_session, "app": run_app,
               "numpy": lambda config, logdir: run_fit(config, logdir, numpy=True),
               "app-nofreeze": lambda config, logdir, **kw: run_app(config, logdir, **kw, freeze=False),
               "app-5ms": lambda config, logdir, **kw: run_app(config, logdir, **{**kw, "switch_interval": 0.005})}
    rates: dict[str, list[float]] = {v: [] for v in variants}
    per_epoch: dict[str, list[float]] = {v: [] for v in variants}
    profile = cProfile.Profile() if args.profile else None
    app_stats: list[dict] = []
    for r in range(args.rounds):
        for v in variants:
            keras.backend.clear_session()
            gc.collect()
            kwargs = {"profile": profile, "switch_interval": args.switch_interval} if v.startswith("app") else {}
            out = runners[v](config, logdir, **kwargs)
            ends = out["ends"]
            assert len(ends) == args.epochs, f"{v}: {len(ends)} epoch ends for {args.epochs} epochs"
            sps = samples_per_second(n_train, ends)
            rate = statistics.median(sps)
            rates[v].append(rate)
            per_epoch[v] += sps
            extra = ""
            if v.startswith("app"):
                if v == "app":
                    app_stats.append(out)
                extra = (f"  UI thread CPU {out['ui_cpu']:.2f}s ({out['ui_cpu'] / out['wall'] * 100:.1f}% "
                         f"of a core)  plots {out['plots']} x {out['plot_s'] / max(1, out['plots']) * 1000:.1f}ms"
                         f"  events {out['events']}")
            elif v == "session":
                extra = f"  events {out['events']}"
            print(f"  round {r + 1} {v:<8} {rate:8.0f} samples/s  (epochs 2..{args.epochs}: "
                  f"{' '.join(f'{s:.0f}' for s in sps)}; {out['wall']:.1f}s){extra}", flush=True)

    print(f"\nthroughput, median over rounds of the per-round median over epochs 2..{args.epochs}:")
    med = {v: statistics.median(rates[v]) for v in variants}
    for v in variants:
        print(f"  {v:<8} {med[v]:8.0f} samples/s   rounds {spread(rates[v])}   "
              f"all epochs {spread(per_epoch[v])}")
    if "fit" in variants:
        print("overhead against plain fit (1 - variant/fit; positive = slower):")
        for v in variants[1:]:
            loss = 1 - med[v] / med["fit"]
            pooled = 1 - statistics.median(per_epoch[v]) / statistics.median(per_epoch["fit"])
            goal = f"  goal <= {GOAL:.0%}: {'OK' if loss <= GOAL else 'ABOVE'}" if v == "app" else ""
            print(f"  {v:<8} ratio {med[v] / med['fit']:.3f}  loss {loss * 100:+5.1f}%  "
                  f"(pooled epochs: {pooled * 100:+5.1f}%){goal}")
    if "fit" in variants and len(variants) > 1:
        print("upper quartile of all epochs 2..N (the least swayed by epochs that something else "
              "on the machine slowed down):")
        uq = {v: statistics.quantiles(per_epoch[v], n=4)[2] for v in variants}
        for v in variants[1:]:
            loss = 1 - uq[v] / uq["fit"]
            goal = f"  goal <= {GOAL:.0%}: {'OK' if loss <= GOAL else 'ABOVE'}" if v == "app" else ""
            print(f"  {v:<8} {uq[v]:8.0f} vs fit {uq['fit']:.0f} samples/s  loss {loss * 100:+5.1f}%{goal}")
    if "fit" in variants and len(variants) > 1 and args.rounds > 1:
        print("paired by round (each variant against the fit run just before it; the noise of a "
              "shared VM drifts slower than a round):")
        for v in variants[1:]:
            ratios = [a / f for a, f in zip(rates[v], rates["fit"], strict=True)]
            loss = 1 - statistics.median(ratios)
            goal = f"  goal <= {GOAL:.0%}: {'OK' if loss <= GOAL else 'ABOVE'}" if v == "app" else ""
            print(f"  {v:<8} ratios {' '.join(f'{r:.3f}' for r in ratios)}  median loss "
                  f"{loss * 100:+5.1f}%{goal}")
    if app_stats:
        ui = sum(s["ui_cpu"] for s in app_stats)
        wall = sum(s["wall"] for s in app_stats)
        plots = sum(s["plots"] for s in app_stats)
        plot_s = sum(s["plot_s"] for s in app_stats)
        steady_cpu = sum(s["ui_steady"][0] for s in app_stats)
        steady_wall = sum(s["ui_steady"][1] for s in app_stats)
        if steady_wall:
            print(f"app UI thread from the end of epoch 1 to the last (what the measured epochs pay): "
                  f"{steady_cpu / steady_wall * 100:.1f}% of one core")
        print(f"app UI thread: {ui:.2f}s CPU over {wall:.1f}s ({ui / wall * 100:.1f}% of one core); "
              f"curve plots drawn {plots}x, {plot_s:.2f}s in all "
              f"({plot_s / wall * 100:.1f}% of one core)")
    if profile is not None:
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(30)
        print("\ncProfile of the UI thread during the app runs (cumulative):")
        print(text.getvalue())
        profile.dump_stats(tmp / "app.prof")
        print(f"(all of it: python -m pstats {tmp / 'app.prof'})")
    print(f"total {time.perf_counter() - t_start:.0f}s; load average at the end "
          f"{os.getloadavg()[0]:.2f} (other processes on the machine add noise)")


if __name__ == "__main__":
    main()
