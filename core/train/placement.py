"""Where and how a run trains on the backend: GPU choice, memory growth/limit, CPU replicas,
data-parallel strategy, mixed precision policy, XLA. Applied in the training thread, before
the backend sets up its devices."""

from __future__ import annotations

import contextlib
import dataclasses
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..system.devices import DevicePlan

JIT = {"auto": "auto", "on": True, "off": False}


@dataclass
class Placement:
    """What the backend was told: the devices used, the replica count and the scope to build,
    compile and fit the model in (a distribution strategy, or nothing)."""

    devices: list[str]
    replicas: int = 1
    engine: str = ""  # the data-parallel engine, e.g. "MirroredStrategy"
    scope: Any = field(default_factory=contextlib.nullcontext)
    notes: list[str] = field(default_factory=list)
    even: bool = False  # every batch must split evenly over the replicas (JAX's data parallel)

    def evened(self, data):
        """A Dataset whose splits are cut to a multiple of the replicas where every batch must
        split evenly (at most replicas - 1 samples a split left out, said in ``notes``)."""
        if not self.even:
            return data
        cut: dict[str, Any] = {}
        for split in ("train", "val", "test"):
            x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
            n = len(x) - len(x) % self.replicas
            if n != len(x):
                cut[f"x_{split}"], cut[f"y_{split}"] = x[:n], y[:n]
                self.notes.append(f"{len(x) - n} {split} sample(s) left out: JAX splits every "
                                  f"batch evenly over the {self.replicas} replicas")  # fmt: skip
        return dataclasses.replace(data, **cut) if cut else data

    def describe(self, device: str, batch_size: int) -> str:
        """The run header's device text: the device, and with replicas the per-replica batch."""
        if self.replicas == 1:
            return device
        per = batch_size / self.replicas
        per_text = f"{per:g}" if per == int(per) else f"~{per:.1f}"
        return (f"{device} · {self.replicas} replicas ({self.engine}), "
                f"batch {batch_size} = {per_text} per replica")  # fmt: skip

    def to_json(self, batch_size: int) -> dict:
        return {"devices": self.devices, "replicas": self.replicas, "engine": self.engine or None,
                "per_replica_batch": batch_size / self.replicas, "notes": self.notes}  # fmt: skip


def prepare_environment(plan: DevicePlan) -> None:
    """Before Keras loads: JAX neither grabs all GPU memory (unless the user said so) nor,
    for ``cpu:N``, sees fewer than N host devices. (Both are read once, at JAX's import.)"""
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    if plan.kind == "cpu" and plan.replicas > 1 and os.environ.get("KERAS_BACKEND") == "jax":
        flag = f"--xla_force_host_platform_device_count={plan.replicas}"
        if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()


def place(keras, plan: DevicePlan, memory_limit_mb: int | None, batch_size: int) -> Placement:
    """Set the backend's devices up for ``plan``; ConfigError when it lacks the devices asked for
    (or, with JAX, when the batch does not split evenly over them)."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _place_tensorflow(plan, memory_limit_mb)
    if backend == "jax":
        placement = _place_jax(keras, plan)
        if placement.replicas > 1 and batch_size % placement.replicas:
            raise ConfigError(f"batch_size: {batch_size} does not split over {placement.replicas} "
                              f"replicas; with JAX use a multiple of {placement.replicas}")  # fmt: skip
        if memory_limit_mb:
            placement.notes.append("gpu_memory_limit is TensorFlow's; with JAX set XLA_PYTHON_CLIENT_MEM_FRACTION")
        return placement
    if plan.replicas > 1 or plan.kind == "gpu" and plan.gpus != (0,):
        raise ConfigError(f"device: {plan.label()} is not supported with the {backend} backend")
    return Placement([plan.label()])


def _place_tensorflow(plan: DevicePlan, memory_limit_mb: int | None) -> Placement:
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if plan.kind == "auto":
        plan = DevicePlan("gpu", (0,)) if gpus else DevicePlan("cpu")
    wanted = plan.gpus if plan.kind == "gpu" else ()
    missing = [i for i in wanted if i >= len(gpus)]
    if missing:
        raise ConfigError(f"device: gpu:{missing[0]} does not exist; TensorFlow sees {len(gpus)} GPU(s)")
    selected = [gpus[i] for i in wanted]
    notes: list[str] = []
    try:
        tf.config.set_visible_devices(selected, "GPU")
        for gpu in selected:
            if memory_limit_mb:
                config = tf.config.LogicalDeviceConfiguration(memory_limit=memory_limit_mb)
                tf.config.set_logical_device_configuration(gpu, [config])
            else:
                tf.config.experimental.set_memory_growth(gpu, True)
        if plan.kind == "cpu" and plan.replicas > 1:
            cpu = tf.config.list_physical_devices("CPU")[0]
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(plan.replicas)])
        names = ([f"/gpu:{i}" for i in range(len(selected))] if selected
                 else [f"/cpu:{i}" for i in range(plan.replicas)])  # fmt: skip
        narrowed = True
    except RuntimeError:  # TensorFlow already set its devices up in this process (an earlier run)
        names = [f"/gpu:{i}" for i in wanted] or [f"/cpu:{i}" for i in range(plan.replicas)]
        narrowed = False
        have = {d.name.lower() for d in tf.config.list_logical_devices()}
        gone = [n for n in names if "/device:" + n[1:] not in have]
        if gone:
            raise ConfigError(
                f"device: {plan.label()}: TensorFlow's devices were set up by an earlier run in "
                "this process; start keraslab again to train on these") from None
        if memory_limit_mb:
            notes.append("gpu_memory_limit not applied: TensorFlow's devices were set up by an earlier run")
    if len(names) > 1:
        return Placement(names, len(names), "MirroredStrategy",
                         tf.distribute.MirroredStrategy(devices=names).scope(), notes)  # fmt: skip
    if not narrowed:
        return Placement(names, 1, "", tf.device(names[0]), notes)
    return Placement(names, notes=notes)


def _place_jax(keras, plan: DevicePlan) -> Placement:
    import jax

    if plan.kind == "cpu":
        devices = jax.devices("cpu")
        if len(devices) < plan.replicas:
            raise ConfigError(f"device: {plan.label()}: JAX sees {len(devices)} CPU device(s) "
                              f"(set XLA_FLAGS=--xla_force_host_platform_device_count={plan.replicas} "
                              "before keraslab starts)")  # fmt: skip
        devices = devices[: plan.replicas]
    elif plan.kind == "gpu":
        try:
            gpus = jax.devices("gpu")
        except RuntimeError:
            gpus = []
        missing = [i for i in plan.gpus if i >= len(gpus)]
        if missing:
            raise ConfigError(f"device: gpu:{missing[0]} does not exist; JAX sees {len(gpus)} GPU(s)")
        devices = [gpus[i] for i in plan.gpus]
    else:
        devices = jax.devices()[:1]
    names = [f"{d.platform}:{d.id}" for d in devices]
    distribution = keras.distribution.DataParallel(devices=names)
    engine = "keras.distribution.DataParallel" if len(devices) > 1 else ""
    return Placement(names, len(devices), engine, distribution.scope(), even=len(devices) > 1)


def jit_compile(value: str) -> Any:
    """``model.compile``'s jit_compile for a RunConfig's ``jit_compile``."""
    return JIT[value]


def oom_reason(exc: BaseException, batch_size: int) -> str | None:
    """One line for a backend's out-of-memory error (None for any other error)."""
    name = type(exc).__name__
    text = str(exc)
    if not (name in ("ResourceExhaustedError", "OutOfMemoryError") or "RESOURCE_EXHAUSTED" in text
            or "out of memory" in text.lower()):  # fmt: skip
        return None
    smaller = max(1, batch_size // 2)
    return (f"out of device memory at batch size {batch_size} ({name}); try a smaller batch, "
            f"e.g. --batch-size {smaller}, or --precision mixed_float16 / mixed_bfloat16")  # fmt: skip
