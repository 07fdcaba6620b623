"""The run's system metrics while it trains: a SystemSampler recording into the run's files and events."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..rundir.writer import RunWriter
from ..system.devices import DevicePlan
from ..system.nvml import GpuInfo
from ..system.sampler import DEFAULT_INTERVAL, SystemSampler
from .progress import SystemSample


def watched_gpus(plan: DevicePlan, gpus: Sequence[GpuInfo] | None) -> list[tuple[int, int]]:
    """(visible index, NVML index) of the GPUs the run trains on (none on the CPU)."""
    if plan.kind != "gpu" or not gpus:
        return []
    return [(g.index, g.nvml_index) for g in gpus if g.index in plan.gpus]


@contextlib.contextmanager
def recording(
    writer: RunWriter,
    emit: Callable[[SystemSample], Any],
    plan: DevicePlan,
    gpus: Sequence[GpuInfo] | None,
    interval: float = DEFAULT_INTERVAL,
    nvml: Any | None = None,
) -> Iterator[SystemSampler]:
    """Sample while the block runs: into metrics.jsonl and TensorBoard (``system/...``) and as
    SystemSample events; the sampler has stopped (its last sample written) when the block ends."""
    t0 = time.monotonic()

    def record(values: dict[str, float]) -> None:
        elapsed = time.monotonic() - t0
        writer.log_system(values, elapsed)
        emit(SystemSample(elapsed, values))

    with SystemSampler(record, gpus=watched_gpus(plan, gpus), interval=interval, nvml=nvml) as sampler:
        yield sampler
