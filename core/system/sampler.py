"""SystemSampler: a thread that reads GPU (NVML) and process/host (psutil) state every few seconds."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import nvml as nvml_lib

DEFAULT_INTERVAL = 2.0  # seconds between samples
PREFIX = "system/"
# one sample's metric names (per GPU: system/gpu<N>/<name>, N the visible index)
GPU_METRICS = ("util_percent", "memory_used_mb", "memory_total_mb", "temperature_c", "power_w")
HOST_METRICS = ("cpu_percent", "rss_mb", "host_memory_percent")


def gpu_metric(index: int, name: str) -> str:
    return f"{PREFIX}gpu{index}/{name}"


class SystemSampler:
    """Calls ``record(values)`` with one sample at start, every ``interval`` seconds, and at stop.

    ``gpus``: (visible index, NVML index) pairs to read; a GPU whose reading fails (it fell
    off the bus, the driver went away) is left out of that sample and tried again next time.
    Without psutil or a driver the sample simply holds less; reading never raises.
    """

    def __init__(
        self,
        record: Callable[[dict[str, float]], Any],
        *,
        gpus: Sequence[tuple[int, int]] = (),
        interval: float = DEFAULT_INTERVAL,
        nvml: Any | None = None,
    ):
        self.record = record
        self.gpus = list(gpus)
        self.interval = interval
        self._nvml = nvml if nvml is not None or not self.gpus else nvml_lib.load()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._process = _process()
        self._first = True  # (the process's CPU % needs a span: none in the first sample)

    def sample(self) -> dict[str, float]:
        """One reading of everything there is to read."""
        values: dict[str, float] = {}
        for index, nvml_index in self.gpus:
            values.update(self._gpu(index, nvml_index))
        if self._process is not None:
            try:
                import psutil

                with self._process.oneshot():
                    cpu = float(self._process.cpu_percent(None))
                    if not self._first:
                        values[PREFIX + "cpu_percent"] = cpu
                    values[PREFIX + "rss_mb"] = self._process.memory_info().rss / 2**20
                values[PREFIX + "host_memory_percent"] = float(psutil.virtual_memory().percent)
            except Exception:  # noqa: BLE001 - a reading that fails is left out
                pass
        self._first = False
        return values

    def _gpu(self, index: int, nvml_index: int) -> dict[str, float]:
        n = self._nvml
        if n is None:
            return {}
        out: dict[str, float] = {}
        try:
            handle = n.nvmlDeviceGetHandleByIndex(nvml_index)
            util = n.nvmlDeviceGetUtilizationRates(handle)
            memory = n.nvmlDeviceGetMemoryInfo(handle)
        except Exception:  # noqa: BLE001 - the GPU is gone (for now): no values of it
            return {}
        out[gpu_metric(index, "util_percent")] = float(util.gpu)
        out[gpu_metric(index, "memory_used_mb")] = memory.used / 2**20
        out[gpu_metric(index, "memory_total_mb")] = memory.total / 2**20
        try:
            out[gpu_metric(index, "temperature_c")] = float(
                n.nvmlDeviceGetTemperature(handle, n.NVML_TEMPERATURE_GPU))
        except Exception:  # noqa: BLE001 - not every board reports it
            pass
        try:
            out[gpu_metric(index, "power_w")] = n.nvmlDeviceGetPowerUsage(handle) / 1000.0
        except Exception:  # noqa: BLE001
            pass
        return out

    def _emit(self) -> None:
        values = self.sample()
        if values:
            try:
                self.record(values)
            except Exception:  # noqa: BLE001 - a sample that cannot be recorded must not end the run
                pass

    def _loop(self) -> None:
        self._emit()
        while not self._stop.wait(self.interval):
            self._emit()

    def start(self) -> SystemSampler:
        self._thread = threading.Thread(target=self._loop, name="keraslab-system", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """End the thread after one last sample (so a short run has a start and an end)."""
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._emit()

    def __enter__(self) -> SystemSampler:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _process():
    """psutil's view of this process, its CPU counter primed (the first reading is always 0)."""
    try:
        import psutil

        process = psutil.Process(os.getpid())
        process.cpu_percent(None)
        return process
    except Exception:  # noqa: BLE001 - no psutil: no process metrics
        return None



def split_sample(values: dict[str, float]) -> tuple[dict[int, dict[str, float]], dict[str, float]]:
    """A sample split into per-GPU readings (visible index -> metric name -> value) and the
    process/host ones (metric name -> value), the ``system/`` prefixes taken off."""
    gpus: dict[int, dict[str, float]] = {}
    host: dict[str, float] = {}
    for key, value in values.items():
        if not key.startswith(PREFIX):
            continue
        head, _, name = key[len(PREFIX):].partition("/")
        if name and head.startswith("gpu") and head[3:].isdigit():
            gpus.setdefault(int(head[3:]), {})[name] = value
        elif not name:
            host[head] = value
    return dict(sorted(gpus.items())), host
