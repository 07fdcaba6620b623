"""Benchmark: every scalar of logs written by each common writer, keraslab against EventAccumulator.

The corpus is written with the real libraries, one directory per encoding:

- ``simple_value``: tensorboardX's ``SummaryWriter`` (its default, PyTorch's default too);
- ``float_val``: TensorBoard's pure-Python ``tensorboard.summary.Writer`` (its tail names
  the scalar's data class) and ``summary_v2.scalar_pb`` through TensorBoard's
  ``EventFileWriter`` (as PyTorch's ``new_style=True`` writes it);
- ``double_val``: a float64 tensor, as PyTorch's ``new_style`` with ``double_precision``;
- ``tensor_content``: keraslab's own writer (TensorFlow 2 / Keras' layout).

EventAccumulator runs in a subprocess where ``import tensorflow`` fails, as a TF-free user
has it (TensorBoard then uses its own TensorFlow stub; the script checks it does). The
first table is ``keraslab runs DIR`` in a fresh process, timed from process start.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TAGS = ("Loss/train", "Loss/val", "Accuracy/train", "Accuracy/val", "learning_rate")

# Makes ``import tensorflow`` fail in the process that runs it (a TF-free user).
_NO_TF = r"""
import importlib.abc, sys
class _NoTF(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("tensorflow is blocked (a TF-free user)")
        return None
sys.meta_path.insert(0, _NoTF())
"""

# Run in a subprocess: EventAccumulator with TensorFlow blocked, printing JSON.
_TB_SIDE = (
    _NO_TF
    + r"""
import json, time
from tensorboard.compat import tf
stub = tf.io.gfile.exists.__module__  # (tf is lazy: an attribute loads it)
assert "tensorflow_stub" in stub and "tensorflow" not in sys.modules, stub
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.util import tensor_util
dirs, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
best, points = None, 0
cpu = None
for _ in range(repeat):
    t, c = time.perf_counter(), time.process_time()
    points = 0
    for d in dirs:
        acc = event_accumulator.EventAccumulator(d, size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        tags = acc.Tags()
        for tag in tags["tensors"]:
            if acc.SummaryMetadata(tag).plugin_data.plugin_name == "scalars":
                points += len([float(tensor_util.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)])
        for tag in tags["scalars"]:
            points += len(acc.Scalars(tag))
    dt, dc = time.perf_counter() - t, time.process_time() - c
    best = dt if best is None else min(best, dt)
    cpu = dc if cpu is None else min(cpu, dc)
print(json.dumps({"seconds": best, "cpu": cpu, "points": points, "tf": stub}))
"""
)

# Run in a subprocess: keraslab's reader of every scalar (read_runs_scalars, as compare/export).
_OURS_SIDE = r"""
import json, sys, time
from keraslab.core.tfevents import read_runs_scalars
dirs, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
best, first, cpu = None, None, None
for _ in range(repeat):
    t, c = time.perf_counter(), time.process_time()
    points = sum(len(s) for res in read_runs_scalars(dirs) for s in res.scalars.values())
    dt, dc = time.perf_counter() - t, time.process_time() - c
    first = dt if first is None else first
    best = dt if best is None else min(best, dt)
    cpu = dc if cpu is None else min(cpu, dc)
print(json.dumps({"seconds": best, "cpu": cpu, "first": first, "points": points}))
"""


def curve(r: int, e: int, rng: random.Random) -> list[float]:
    loss = 2.0 * math.exp(-e / 15) + 0.1 * rng.random()
    acc = 1 - math.exp(-e / 10) * rng.random()
    return [loss, loss * 1.1, acc, acc * 0.95, 1e-3 * 0.97**e]


def write_simple_value(run: Path, epochs: int, seed: int) -> None:
    from tensorboardX import SummaryWriter

    rng = random.Random(seed)
    w = SummaryWriter(str(run), flush_secs=3600)
    for e in range(epochs):
        for tag, x in zip(TAGS, curve(seed, e, rng), strict=True):
            w.add_scalar(tag, x, e, walltime=1.7e9 + seed * 100 + e)
    w.close()


def write_tb_writer(run: Path, epochs: int, seed: int) -> None:
    from tensorboard.summary import Writer

    rng = random.Random(seed)
    w = Writer(str(run))
    for e in range(epochs):
        for tag, x in zip(TAGS, curve(seed, e, rng), strict=True):
            w.add_scalar(tag, x, e, wall_time=1.7e9 + seed * 100 + e)
    w.close()


def _tb_event_writer(run: Path, epochs: int, seed: int, value) -> None:
    """TensorBoard's pure-Python EventFileWriter, each scalar a Summary made by ``value``."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    rng = random.Random(seed)
    w = EventFileWriter(str(run), flush_secs=3600)
    for e in range(epochs):
        for tag, x in zip(TAGS, curve(seed, e, rng), strict=True):
            w.add_event(
                event_pb2.Event(wall_time=1.7e9 + seed * 100 + e, step=e, summary=value(tag, x))
            )
    w.close()


def write_scalar_pb(run: Path, epochs: int, seed: int) -> None:
    from tensorboard.plugins.scalar import summary_v2

    _tb_event_writer(run, epochs, seed, summary_v2.scalar_pb)


def write_double_val(run: Path, epochs: int, seed: int) -> None:
    from tensorboard.compat.proto import summary_pb2, tensor_pb2, tensor_shape_pb2

    def value(tag, x):
        tensor = tensor_pb2.TensorProto(
            dtype=2, double_val=[x], tensor_shape=tensor_shape_pb2.TensorShapeProto()
        )
        meta = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
        )
        return summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)]
        )

    _tb_event_writer(run, epochs, seed, value)


def write_keraslab(run: Path, epochs: int, seed: int) -> None:
    from keraslab.core.tfevents import EventWriter

    rng = random.Random(seed)
    with EventWriter(run) as w:
        for e in range(epochs):
            for tag, x in zip(TAGS, curve(seed, e, rng), strict=True):
                w.add_scalar(tag, x, e, wall_time=1.7e9 + seed * 100 + e)


ENCODINGS = {
    "simple_value": ("tensorboardX SummaryWriter (= PyTorch default)", write_simple_value),
    "float_val": ("tensorboard.summary.Writer (pure Python)", write_tb_writer),
    "float_val/scalar_pb": (
        "summary_v2.scalar_pb + EventFileWriter (= PyTorch new_style)",
        write_scalar_pb,
    ),
    "double_val": ("float64 tensor (= PyTorch new_style, double_precision)", write_double_val),
    "tensor_content": ("keraslab EventWriter (= TensorFlow 2 / Keras)", write_keraslab),
}


def write_big(path: Path, writer, megabytes: float, tags: int = 50) -> None:
    """One event file of about ``megabytes``: ``tags`` tags, stepping until it is that big."""
    calls = {
        "simple_value": lambda w, t, x, s: w.add_scalar(t, x, s, walltime=1.7e9 + s),
        "tensor_content": lambda w, t, x, s: w.add_scalar(t, x, s, wall_time=1.7e9 + s),
        "float_val": lambda w, t, x, s: w.add_scalar(t, x, s, wall_time=1.7e9 + s),
    }
    if writer == "simple_value":
        from tensorboardX import SummaryWriter

        w = SummaryWriter(str(path), flush_secs=3600, max_queue=100_000)
    elif writer == "float_val":
        from tensorboard.summary import Writer

        w = Writer(str(path))
    else:
        from keraslab.core.tfevents import EventWriter

        w = EventWriter(path)
    limit = megabytes * 2**20
    step = 0
    add = calls[writer]
    while True:
        for t in range(tags):
            add(w, f"group{t % 10}/metric_{t}", math.sin(step * 0.01 + t), step)
        step += 1
        if step % 1000 == 0:
            w.flush()
            if sum(p.stat().st_size for p in path.iterdir()) >= limit:
                break
    w.close()


def line(ours: dict, tb: dict | None) -> str:
    """keraslab against EventAccumulator: wall and CPU times, and their ratios."""
    text = (
        f"keraslab {ours['seconds']:.3f} s (CPU {ours['cpu']:.3f} s, first {ours['first']:.3f} s)"
    )
    if tb is None:
        return text
    same = "" if tb["points"] == ours["points"] else f"  !! points differ: TB {tb['points']}"
    return (
        f"{text}, EventAccumulator {tb['seconds']:.3f} s (CPU {tb['cpu']:.3f} s): "
        f"{tb['seconds'] / ours['seconds']:.1f}x wall, {tb['cpu'] / ours['cpu']:.1f}x CPU, "
        f"{ours['points']} points{same}"
    )


def load() -> str:
    """The machine's 1-minute load average (other work inflates wall times, less CPU times)."""
    return f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "?"


def python() -> str:
    return sys.executable


def side(code: str, dirs: list[Path], repeat: int) -> dict:
    out = subprocess.run(
        [python(), "-c", code, json.dumps([str(d) for d in dirs]), str(repeat)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def cold_table(root: Path, repeat: int) -> tuple[float, float]:
    """``keraslab runs ROOT`` from process start to exit, best of ``repeat`` (its summary
    cache removed before each, so every event file is read): wall and CPU seconds (the
    process's user + system time, which other work on the machine inflates less)."""
    beside = Path(sys.executable).with_name("keraslab")  # (this interpreter's, venv activated or not)
    exe = str(beside) if beside.exists() else shutil.which("keraslab") or "keraslab"
    best, best_cpu = math.inf, math.inf
    for _ in range(repeat + 1):  # (the first writes the bytecode and warms the disk cache)
        for cache in root.rglob(".keraslab-cache*"):
            shutil.rmtree(cache, ignore_errors=True) if cache.is_dir() else cache.unlink()
        # (bytecode cached as an installed package has it: the first call writes it)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="keraslab-bench-cache-")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(
            [exe, "runs", "--logdir", str(root)], check=True, capture_output=True, env=env
        )
        best = min(best, time.perf_counter() - t)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        best_cpu = min(best_cpu, cpu)
        shutil.rmtree(env["XDG_CACHE_HOME"], ignore_errors=True)
    return best, best_cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500, help="runs per encoding (500)")
    ap.add_argument("--epochs", type=int, default=50, help="epochs per run (50)")
    ap.add_argument("--encodings", default=",".join(ENCODINGS), help="which (comma-separated)")
    ap.add_argument("--repeat", type=int, default=3, help="best of N loads (3)")
    ap.add_argument(
        "--big-mb", type=float, default=0, help="also one file of this size (200 in the issue)"
    )
    ap.add_argument(
        "--big-writer",
        default="simple_value",
        choices=("simple_value", "float_val", "tensor_content"),
    )
    ap.add_argument("--big-repeat", type=int, default=1, help="best of N loads of the big file (1)")
    ap.add_argument("--data", type=Path, help="keep the corpus here and reuse it next time")
    ap.add_argument("--skip-tensorboard", action="store_true", help="time only keraslab")
    args = ap.parse_args(argv)
    exec(_NO_TF, {})  # the writers too (TensorBoard's would import TensorFlow to log)

    root = args.data or Path(tempfile.mkdtemp(prefix="keraslab-bench-writers-"))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, data in {root}")
    rows = []
    empty = Path(tempfile.mkdtemp(prefix="keraslab-bench-empty-"))
    wall, cpu = cold_table(empty, args.repeat)
    print(f"`keraslab runs` of an empty log directory (the floor of a cold table): "
          f"{wall:.3f} s (CPU {cpu:.3f} s), load average {load()}")  # fmt: skip
    empty.rmdir()
    try:
        for enc in filter(None, args.encodings.split(",")):
            who, write = ENCODINGS[enc]
            d = root / enc.replace("/", "-")
            if not d.is_dir():
                t = time.perf_counter()
                for r in range(args.runs):
                    write(d / f"run-{r:04d}", args.epochs, r)
                size = sum(p.stat().st_size for p in d.rglob("*tfevents*"))
                print(f"{enc}: wrote {args.runs} runs x {args.epochs} epochs, {size / 2**20:.1f} MiB "
                      f"in {time.perf_counter() - t:.1f} s")  # fmt: skip
            runs = sorted(p for p in d.iterdir() if p.is_dir())
            ours = side(_OURS_SIDE, runs, args.repeat)
            tb = None if args.skip_tensorboard else side(_TB_SIDE, runs, args.repeat)
            cold = cold_table(d, args.repeat)
            rows.append((enc, who, ours, tb, cold))
            print(f"  {enc:<20} {line(ours, tb)}, first table cold {cold[0]:.3f} s "
                  f"(CPU {cold[1]:.3f} s), "
                  f"load average {load()}", flush=True)  # fmt: skip
        if args.big_mb > 0:
            d = root / f"big-{args.big_writer}-{args.big_mb:g}"
            if not d.is_dir():
                t = time.perf_counter()
                d.mkdir(parents=True)
                write_big(d, args.big_writer, args.big_mb)
                print(
                    f"big: wrote {args.big_mb:g} MB with {args.big_writer} in {time.perf_counter() - t:.0f} s"
                )
            size = sum(p.stat().st_size for p in d.iterdir())
            ours = side(_OURS_SIDE, [d], args.big_repeat)
            tb = None if args.skip_tensorboard else side(_TB_SIDE, [d], 1)
            print(f"  big file {size / 2**20:.0f} MiB ({args.big_writer}, "
                  f"{size / 2**20 / ours['seconds']:.0f} MiB/s): {line(ours, tb)}; "
                  f"load average {load()}")  # fmt: skip
    finally:
        if args.data is None:
            shutil.rmtree(root, ignore_errors=True)
    if rows:
        print("\n| encoding | writer | all scalars, keraslab | EventAccumulator (no TF) | ratio "
              "(wall) | ratio (CPU time) | first table, cold (CPU) |")  # fmt: skip
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for enc, who, ours, tb, cold in rows:
            tbs = f"{tb['seconds']:.3f} s" if tb else "-"
            wall = f"**{tb['seconds'] / ours['seconds']:.1f}x**" if tb else "-"
            cpu = f"{tb['cpu'] / ours['cpu']:.1f}x" if tb else "-"
            print(
                f"| `{enc}` | {who} | {ours['seconds']:.3f} s | {tbs} | {wall} | {cpu} | {cold[0]:.2f} s ({cold[1]:.2f} s) |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
