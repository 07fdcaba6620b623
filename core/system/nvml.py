"""NVIDIA's management library (``pynvml`` of nvidia-ml-py), loaded lazily; inert without a driver."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any


@functools.lru_cache(maxsize=1)
def load() -> Any | None:
    """The initialized ``pynvml`` module, or None where there is no NVIDIA driver (or no module)."""
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - NVMLError_LibraryNotFound, DriverNotLoaded, ...: no GPU here
        return None
    return pynvml


@dataclass(frozen=True)
class GpuInfo:
    """One GPU the processes here may use: ``index`` as the frameworks number it (after
    CUDA_VISIBLE_DEVICES), ``nvml_index`` as the driver does."""

    index: int
    nvml_index: int
    name: str
    memory_free_mb: float
    memory_total_mb: float
    compute_capability: tuple[int, int] | None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def visible_order(nvml: Any, env: dict[str, str] | None = None) -> list[int]:
    """The NVML indices of the GPUs CUDA lets this process see, in CUDA's order: all of them,
    or those CUDA_VISIBLE_DEVICES names (by index or by UUID; an unknown entry ends the
    list, as CUDA's own parsing does)."""
    env = os.environ if env is None else env
    count = nvml.nvmlDeviceGetCount()
    listed = env.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return list(range(count))
    uuids: dict[str, int] = {}
    order: list[int] = []
    for item in (x.strip() for x in listed.split(",")):
        if item.isdigit() and int(item) < count:
            order.append(int(item))
            continue
        if not uuids and item:
            for i in range(count):
                try:
                    uuids[_text(nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i)))] = i
                except Exception:  # noqa: BLE001
                    continue
        found = next((i for u, i in uuids.items() if item and u.startswith(item)), None)
        if found is None:
            break
        order.append(found)
    return order


def visible_gpus(nvml: Any | None = None, env: dict[str, str] | None = None) -> list[GpuInfo]:
    """The GPUs this process may use, with their free memory now (none without a driver)."""
    nvml = load() if nvml is None else nvml
    if nvml is None:
        return []
    try:
        order = visible_order(nvml, env)
    except Exception:  # noqa: BLE001 - a driver that answers nothing: no GPU to offer
        return []
    gpus = []
    for index, nvml_index in enumerate(order):
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(nvml_index)
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            name = _text(nvml.nvmlDeviceGetName(handle))
        except Exception:  # noqa: BLE001 - a GPU that fell off the bus is not offered
            continue
        try:
            capability = tuple(nvml.nvmlDeviceGetCudaComputeCapability(handle))[:2]
        except Exception:  # noqa: BLE001
            capability = None
        gpus.append(GpuInfo(index, nvml_index, name, memory.free / 2**20, memory.total / 2**20, capability))
    return gpus
