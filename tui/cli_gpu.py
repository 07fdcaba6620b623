"""GPU-node options of `keraslab train` and `lint` (device, memory, precision, XLA) and `show`'s system metrics."""

from __future__ import annotations

import argparse

from keraslab import core

from . import fmt
from .argtypes import positive_int

# train's options that set the RunConfig field of the same name
DEVICE_OPTIONS = ("device", "gpu_memory_limit", "precision", "jit_compile", "steps_per_execution")


def _device(text: str) -> str:
    try:
        core.parse_device(text)
    except core.ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("device: ")) from None
    return text.strip().lower()


def add_device_options(p: argparse.ArgumentParser, *, train: bool = True) -> None:
    """--device and --precision (train and lint); --gpu-memory-limit and --jit-compile (train)."""
    g = p.add_argument_group("devices and precision (GPU nodes)")
    g.add_argument("--device", type=_device, metavar="DEVICE", help=(
        "where to train: auto (default: the scheduler's GPU, else the visible GPU with the most "
        "free memory, else the CPU; one GPU at most), cpu, gpu:N, gpu:N,M (data-parallel), "
        "gpu:all, or cpu:N (N logical CPU replicas, data-parallel: for tests)"))
    g.add_argument("--precision", choices=core.PRECISIONS, help=(
        "Keras dtype policy; mixed_* compute in 16 bits with float32 weights and output layer "
        "(default: float32)"))
    if not train:
        return
    g.add_argument("--gpu-memory-limit", type=positive_int, metavar="MB", help=(
        "cap the GPU memory TensorFlow takes, per GPU (default: none; memory grows as needed, "
        "so runs can share a card)"))
    g.add_argument("--jit-compile", choices=core.JIT_COMPILE, help=(
        "XLA compilation of the train step: auto (Keras decides), on, off (default: auto)"))
    g.add_argument("--steps-per-execution", type=positive_int, metavar="N", help=(
        "batches per call into the backend (default: 1); a larger N amortizes keraslab's and "
        "Keras' per-batch work when a step takes about a millisecond (progress, stop and "
        "give-way then act every N batches)"))


def print_system(curves) -> None:
    """`keraslab show`: peak and mean of each system metric a run recorded, if any."""
    rows = []
    for name, curve in curves.items():
        if name.startswith(core.SYSTEM_PREFIX) and curve.values:
            values = curve.values
            rows.append([fmt.visible(name.removeprefix(core.SYSTEM_PREFIX)), f"{max(values):,.1f}",
                         f"{sum(values) / len(values):,.1f}", str(len(values))])  # fmt: skip
    if rows:
        print("\nsystem (sampled while training)")
        print(fmt.table(["metric", "peak", "mean", "samples"], rows, right=(1, 2, 3)))

