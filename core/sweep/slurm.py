"""A sweep as one SLURM job array: the sbatch script, its submission, and the queue's view of each task (squeue, sacct)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError, KeraslabError
from ..rundir.fileio import write_text_atomic, writing
from .store import LOGS_DIR, POINTS_DIR, SBATCH_FILE, Sweep

QUEUE_TIMEOUT = 20.0  # seconds a squeue, sacct or sbatch call may take before it is given up


class SlurmError(KeraslabError):
    """sbatch refused the job, or is not installed; the message is one line."""


@dataclass(frozen=True)
class SlurmOptions:
    """The job array's resources, as sbatch options (None: SLURM's default)."""

    partition: str | None = None
    time: str | None = None
    gpus: int | None = None  # --gres=gpu:N
    cpus_per_task: int | None = None
    mem: str | None = None
    max_parallel: int | None = None  # the array's %M
    job_name: str | None = None
    requeue: bool = False
    extra: tuple[str, ...] = field(default_factory=tuple)  # --sbatch-arg, as given

    def lines(self, sweep: Sweep) -> list[str]:
        """The ``#SBATCH`` lines of the script."""
        last = len(sweep.points) - 1
        array = f"0-{last}" + (f"%{self.max_parallel}" if self.max_parallel else "")
        opts = [f"--job-name={self.job_name or 'keraslab-' + sweep.id}", f"--array={array}",
                f"--output={sweep.dir.absolute() / LOGS_DIR}/%a.log", "--open-mode=append"]  # fmt: skip
        for flag, value in (("--partition", self.partition), ("--time", self.time),
                            ("--cpus-per-task", self.cpus_per_task), ("--mem", self.mem)):  # fmt: skip
            if value is not None:
                opts.append(f"{flag}={value}")
        if self.gpus:
            opts.append(f"--gres=gpu:{self.gpus}")
        opts.append("--requeue" if self.requeue else "--no-requeue")
        opts += self.extra
        for opt in opts:
            if any(c in opt for c in "\n\r\0"):
                raise ConfigError(f"sbatch option {opt!r} holds a line break")
        return [f"#SBATCH {opt}" for opt in opts]


def sbatch_script(sweep: Sweep, options: SlurmOptions, keraslab: list[str]) -> str:
    """The job array script: task ``i`` trains point ``i`` with ``keraslab train --config
    <sweep dir>/points/<i>.json``; ``exec`` so that scancel's SIGTERM reaches the training
    process, which stops after its batch and keeps the run as 'stopped'. With requeue, a
    restarted task resumes its point's run instead of starting another."""
    train = [*keraslab, "train", "--logdir", str(sweep.logdir.absolute())]
    if options.requeue:
        train.append("--resume-existing")
    point = f"{shlex.quote(str(sweep.dir.absolute() / POINTS_DIR))}/\"$SLURM_ARRAY_TASK_ID\".json"
    return "\n".join([
        "#!/bin/bash",
        f"# keraslab sweep {sweep.id}: {len(sweep.points)} points as one job array; task i trains point i",
        *options.lines(sweep),
        "",
        f"exec {shlex.join(train)} --config {point}",
        "",
    ])  # fmt: skip


def write_script(sweep: Sweep, text: str) -> Path:
    path = sweep.dir / SBATCH_FILE
    with writing(path):
        write_text_atomic(path, text, mode=0o755)
    return path


def slurm_available() -> bool:
    """Whether sbatch is on PATH."""
    return shutil.which("sbatch") is not None


def submit(script: Path) -> str:
    """Submit a script with ``sbatch --parsable``; the job id. SlurmError with sbatch's
    own message when it refuses."""
    if not slurm_available():
        raise SlurmError("sbatch is not installed here (is this a SLURM login node?)")
    try:
        done = subprocess.run(["sbatch", "--parsable", str(script)], capture_output=True,
                              text=True, timeout=QUEUE_TIMEOUT, stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"sbatch failed: {exc}") from None
    job = done.stdout.strip().split(";")[0]
    if done.returncode != 0 or not job.isdigit():
        message = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise SlurmError(f"sbatch refused the job: {message[-1] if message else f'exit status {done.returncode}'}")
    return job


def _query(args: list[str]) -> list[str] | None:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=QUEUE_TIMEOUT,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.splitlines() if done.returncode == 0 else None


def task_states(job_id: str) -> dict[int, str] | None:
    """SLURM's state of each task of a job array (``{task: "PENDING" | "RUNNING" | ...}``):
    squeue for tasks in the queue, sacct (when accounting is on) for those that left it.
    None when neither command answers (no SLURM here)."""
    if not job_id.isdigit():
        return None
    states: dict[int, str] = {}
    answered = False
    for args, sep in ((["sacct", "-n", "-P", "-X", "-j", job_id, "-o", "JobID,State"], "|"),
                      (["squeue", "-h", "-r", "-j", job_id, "-o", "%i|%T"], "|")):  # fmt: skip
        lines = _query(args)
        if lines is None:
            continue
        answered = True
        for line in lines:
            ident, _, state = line.partition(sep)
            _, _, task = ident.partition("_")
            if task.isdigit() and state:
                states[int(task)] = state.split()[0]  # ("CANCELLED by 0" -> CANCELLED)
    return states if answered else None


def cancel(job_id: str) -> None:
    """``scancel`` a job (SIGTERM to its tasks); SlurmError with scancel's message on a refusal."""
    if not job_id.isdigit():
        raise SlurmError(f"{job_id!r:.40} is not a SLURM job id")
    try:
        done = subprocess.run(["scancel", job_id], capture_output=True, text=True, timeout=QUEUE_TIMEOUT,
                              stdin=subprocess.DEVNULL)  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SlurmError(f"scancel failed: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()
        raise SlurmError(f"scancel refused: {message[-1] if message else f'exit status {done.returncode}'}")
