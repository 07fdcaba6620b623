"""A stand-in for ``pynvml`` (nvidia-ml-py): GPUs with set readings, one of which can fall off the bus."""

from __future__ import annotations

from types import SimpleNamespace


class NVMLError(Exception):
    pass


class FakeNvml:
    """``pynvml``'s calls keraslab makes, over a list of GPUs (dicts of readings)."""

    NVML_TEMPERATURE_GPU = 0
    NVMLError = NVMLError

    def __init__(self, gpus: list[dict]):
        self.gpus = gpus
        self.gone: set[int] = set()  # indices that raise, as a GPU fallen off the bus does

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, i):
        if i in self.gone or i >= len(self.gpus):
            raise NVMLError("GPU is lost")
        return i

    def _gpu(self, handle):
        if handle in self.gone:
            raise NVMLError("GPU is lost")
        return self.gpus[handle]

    def nvmlDeviceGetName(self, h):
        return self._gpu(h).get("name", "Fake GPU").encode()

    def nvmlDeviceGetUUID(self, h):
        return self._gpu(h).get("uuid", f"GPU-{h:08d}")

    def nvmlDeviceGetMemoryInfo(self, h):
        g = self._gpu(h)
        total = g.get("total_mb", 16384) * 2**20
        used = g.get("used_mb", 0) * 2**20
        return SimpleNamespace(total=total, used=used, free=total - used)

    def nvmlDeviceGetUtilizationRates(self, h):
        return SimpleNamespace(gpu=self._gpu(h).get("util", 0), memory=0)

    def nvmlDeviceGetTemperature(self, h, sensor):
        return self._gpu(h).get("temp", 50)

    def nvmlDeviceGetPowerUsage(self, h):
        return self._gpu(h).get("power_w", 100) * 1000

    def nvmlDeviceGetCudaComputeCapability(self, h):
        return self._gpu(h).get("cc", (8, 0))
