"""``--device`` values: their syntax, and the GPUs (or CPU) a run takes on this node."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import ConfigError
from .nvml import GpuInfo

MAX_CPU_REPLICAS = 64
DEVICE_HELP = "auto, cpu, cpu:N (N logical CPU replicas), gpu:N[,M...] or gpu:all"
# set by SLURM for a job (or step) given GPUs: its allocation is CUDA_VISIBLE_DEVICES, first GPU first
SCHEDULER_GPU_VARS = ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS", "SLURM_JOB_ID")


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed ``--device``: ``kind`` auto | cpu | gpu; ``gpus`` the GPU indices asked for
    (None: every visible one); ``replicas`` the CPU split (``cpu:N``)."""

    kind: str
    gpus: tuple[int, ...] | None = None
    replicas: int = 1


@dataclass(frozen=True)
class DevicePlan:
    """Where a run trains: ``kind`` cpu | gpu | auto (no driver answered: the backend's first GPU,
    else the CPU); ``gpus`` visible indices as the backend numbers them; ``replicas`` how many
    copies of the model train data-parallel; ``why`` how ``auto`` chose."""

    kind: str
    gpus: tuple[int, ...] = ()
    replicas: int = 1
    why: str = ""

    def label(self) -> str:
        if self.kind == "gpu":
            return "gpu:" + ",".join(map(str, self.gpus))
        return self.kind if self.replicas == 1 else f"{self.kind}:{self.replicas}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "gpus": list(self.gpus), "replicas": self.replicas, "why": self.why}


def parse_device(text: object) -> DeviceSpec:
    """A ``--device`` value parsed, or ConfigError with one line saying what is accepted."""
    bad = ConfigError(f"device: {text!r} is not one of {DEVICE_HELP}")
    if not isinstance(text, str):
        raise bad
    value = text.strip().lower()
    if value in ("auto", "cpu"):
        return DeviceSpec(value)
    kind, _, rest = value.partition(":")
    if kind == "cpu" and rest.isdigit() and 1 <= int(rest) <= MAX_CPU_REPLICAS:
        return DeviceSpec("cpu", replicas=int(rest))
    if kind != "gpu" or not rest:
        raise bad
    if rest == "all":
        return DeviceSpec("gpu")
    parts = rest.split(",")
    if not all(p.strip().isdigit() for p in parts):
        raise bad
    gpus = tuple(int(p) for p in parts)
    if len(set(gpus)) != len(gpus):
        raise ConfigError(f"device: {text!r} names a GPU twice")
    return DeviceSpec("gpu", gpus)


def scheduler_allocated(env: dict[str, str] | None = None) -> bool:
    """Whether a scheduler gave this job its GPUs (then CUDA_VISIBLE_DEVICES is the allocation)."""
    env = os.environ if env is None else env
    return "CUDA_VISIBLE_DEVICES" in env and any(env.get(k) for k in SCHEDULER_GPU_VARS)


def resolve_device(text: str, gpus: list[GpuInfo] | None, env: dict[str, str] | None = None) -> DevicePlan:
    """The plan for ``--device text`` on this node; ``gpus`` as nvml.visible_gpus() lists them
    (None: no driver answered). A GPU that is not there is a ConfigError naming the visible ones."""
    spec = parse_device(text)
    if spec.kind == "cpu":
        return DevicePlan("cpu", replicas=spec.replicas)
    if spec.kind == "auto":
        if gpus is None:
            return DevicePlan("auto", why="no NVIDIA driver answered: the backend's first GPU, else the CPU")
        if not gpus:
            return DevicePlan("cpu", why="no GPU visible")
        if scheduler_allocated(env):
            return DevicePlan("gpu", (gpus[0].index,), why="the scheduler's allocation")
        best = max(gpus, key=lambda g: (g.memory_free_mb, -g.index))
        return DevicePlan("gpu", (best.index,), why=f"most free memory ({best.memory_free_mb:,.0f} MB)")
    seen = ", ".join(f"gpu:{g.index}" for g in gpus or ())
    if not gpus:
        raise ConfigError(f"device: {text}: no GPU is visible here"
                          + ("" if gpus is not None else " (no NVIDIA driver answered)"))  # fmt: skip
    indices = tuple(g.index for g in gpus)
    wanted = indices if spec.gpus is None else spec.gpus
    missing = [i for i in wanted if i not in indices]
    if missing:
        raise ConfigError(f"device: gpu:{missing[0]} does not exist; visible: {seen}")
    return DevicePlan("gpu", wanted, replicas=len(wanted))


def plan_device(text: str, env: dict[str, str] | None = None) -> tuple[DevicePlan, list[GpuInfo] | None]:
    """The plan for ``--device text`` on this node, with the visible GPUs (None: no driver)."""
    from . import nvml

    lib = nvml.load()
    gpus = None if lib is None else nvml.visible_gpus(lib, env)
    return resolve_device(text, gpus, env), gpus


def device_facts(text: str) -> tuple[str | None, tuple[int, int] | None]:
    """Where ``--device text`` would train, for the linter: (cpu | gpu | None when not known,
    the first GPU's compute capability)."""
    try:
        plan, gpus = plan_device(text)
    except ConfigError:
        return None, None
    if plan.kind == "gpu":
        first = next((g for g in gpus or () if g.index == plan.gpus[0]), None)
        return "gpu", first.compute_capability if first else None
    return ("cpu" if plan.kind == "cpu" else None), None


def device_lint_args(device: str | None, precision: str | None) -> dict:
    """lint_stack's device arguments for a run on ``device`` (default auto) in ``precision``
    (default float32), as `keraslab lint` and the launch screen pass them."""
    kind, capability = device_facts(device or "auto")
    return {"precision": precision or "float32", "device_kind": kind, "capability": capability}
