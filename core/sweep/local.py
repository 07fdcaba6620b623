"""A sweep run on this machine: its points trained N at a time as `keraslab train --config` subprocesses."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..errors import RunStoreError
from ..rundir.reader import pid_alive
from .slurm import cancel
from .store import Sweep, point_run


@dataclass(frozen=True)
class PoolCounts:
    """How many points are queued, running, done (completed), stopped and failed."""

    queued: int
    running: int
    done: int
    stopped: int
    failed: int

    def line(self) -> str:
        parts = [f"{self.queued} queued", f"{self.running} running", f"{self.done} done"]
        if self.stopped:
            parts.append(f"{self.stopped} stopped")
        parts.append(f"{self.failed} failed")
        return ", ".join(parts)


class LocalPool:
    """Trains a sweep's points, at most ``parallel`` at once, each a subprocess in its own
    session (a terminal's Ctrl+C reaches the pool alone, which asks each child to stop:
    one SIGTERM, after which the train command ends its run 'stopped'). Each child's
    output goes to the sweep's ``logs/<i>.log``; each point's run directory is recorded
    in the sweep file as it appears. ``points``: those to train (default: all). Call
    :meth:`poll` until it returns False."""

    def __init__(self, sweep: Sweep, parallel: int, keraslab: list[str], *, points=None, env: dict | None = None):
        self.sweep = sweep
        self.parallel = max(1, parallel)
        self.keraslab = keraslab
        self.env = env
        self.queue = list(sweep.points if points is None else points)
        self.running: dict[int, subprocess.Popen] = {}
        self.exit_codes: dict[int, int] = {}
        self.stopping = False

    def _start(self, point) -> None:
        log = self.sweep.log_file(point.index)
        args = [*self.keraslab, "train", "--config", str(self.sweep.point_file(point.index)),
                "--logdir", str(self.sweep.logdir)]  # fmt: skip
        with open(log, "ab") as out:
            self.running[point.index] = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, env=self.env,
            )  # fmt: skip

    def poll(self) -> bool:
        """Reap finished children, start queued points while there is room, record run
        directories; whether anything is still queued or running."""
        for index, proc in list(self.running.items()):
            code = proc.poll()
            if code is not None:
                del self.running[index]
                self.exit_codes[index] = code
                self._record_run(index)
        while not self.stopping and self.queue and len(self.running) < self.parallel:
            self._start(self.queue.pop(0))
        for index in self.running:
            self._record_run(index)
        return bool(self.running or (self.queue and not self.stopping))

    def _record_run(self, index: int) -> None:
        point = self.sweep.points[index]
        if point.run is not None:
            return
        run = point_run(self.sweep, point)
        if run is not None:
            point.run = os.path.relpath(run, self.sweep.logdir)
            self.sweep.save()

    def stop(self, abort: bool = False) -> None:
        """Start no more points and ask each running one to stop after its batch (SIGTERM);
        ``abort``: end them now (two SIGINTs: the train command marks the run interrupted)."""
        self.stopping = True
        for proc in self.running.values():
            for sig in (signal.SIGINT, signal.SIGINT) if abort else (signal.SIGTERM,):
                try:
                    proc.send_signal(sig)
                except OSError:
                    pass

    def counts(self) -> PoolCounts:
        done = sum(1 for c in self.exit_codes.values() if c == 0)
        stopped = sum(1 for c in self.exit_codes.values() if c == 130)
        failed = len(self.exit_codes) - done - stopped
        queued = 0 if self.stopping else len(self.queue)
        return PoolCounts(queued, len(self.running), done, stopped, failed)

    def failed_logs(self) -> list[tuple[int, Path]]:
        """(point, log file) of each point whose train command failed."""
        return [(i, self.sweep.log_file(i)) for i, c in sorted(self.exit_codes.items()) if c not in (0, 130)]


def local_launcher(parallel: int) -> dict:
    """The sweep file's record of a local pool run by this process (for :func:`stop_sweep`)."""
    return {"kind": "local", "parallel": parallel, "pid": os.getpid(), "host": socket.gethostname()}


def stop_sweep(sweep: Sweep) -> str:
    """Ask a sweep's running points to stop after their batch (each run kept 'stopped'):
    scancel of its job array, or SIGTERM to the local pool running it on this host. A
    one-line report; RunStoreError when nothing runs it here."""
    launcher = sweep.launcher
    if launcher.get("kind") == "slurm" and isinstance(launcher.get("job_id"), str):
        cancel(launcher["job_id"])
        return f"asked SLURM to cancel job array {launcher['job_id']}: running tasks stop after their batch"
    pid = launcher.get("pid")
    if launcher.get("kind") == "local" and type(pid) is int and pid > 1:
        if launcher.get("host") != socket.gethostname():
            raise RunStoreError(f"sweep {sweep.id} runs on {launcher.get('host')!s:.64}, not on this machine")
        if pid_alive(pid):
            os.kill(pid, signal.SIGTERM)
            return f"asked the sweep's process {pid} to stop: no new points; running ones stop after their batch"
    raise RunStoreError(f"sweep {sweep.id} is not running")
