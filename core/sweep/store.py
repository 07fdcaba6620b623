"""A sweep on disk: ``<logdir>/sweeps/<id>.json`` (grid, command, points and their runs) and ``<logdir>/sweeps/<id>/`` (point configs, script, logs).

The sweep file is written with the run directory's atomic writer and read back as
untrusted JSON: every field checked by type, every run path kept inside the log directory.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import RunConfig
from ..errors import ConfigError, KeraslabError, RunStoreError
from ..model.presets import resolve_model
from ..rundir.fileio import Warn, no_warning, read_json, write_json_atomic, writing
from ..rundir.layout import CONFIG_FILE, rel_stays_inside
from ..rundir.writer import now_iso
from ..tweak import config_diff
from .grid import Grid

SWEEPS_DIR = "sweeps"
POINTS_DIR = "points"
LOGS_DIR = "logs"
SBATCH_FILE = "sweep.sbatch"
SWEEP_VERSION = 1


@dataclass
class SweepPoint:
    """One point: its index in the sweep, its position in the grid, the values of the
    varying options, the run name it trains under, and its run directory once known
    (relative to the log directory)."""

    index: int
    position: int
    values: dict[str, Any]
    name: str
    run: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "position": self.position, "values": self.values,
                "name": self.name, "run": self.run}  # fmt: skip


@dataclass
class Sweep:
    """A sweep as its file holds it; ``logdir`` is where its runs go."""

    id: str
    logdir: Path
    command: str
    created: str
    grid: Grid
    points: list[SweepPoint]
    launcher: dict[str, Any] = field(default_factory=dict)  # {"kind": "local"|"slurm", "job_id": ...}
    sample: dict[str, Any] | None = None  # {"n": N, "seed": S} for --random
    # with --from: the run's config each point's diff is taken against (not in the sweep
    # file: the point files written by create_sweep keep each point's parent and diff)
    parent: RunConfig | None = None

    @property
    def path(self) -> Path:
        return self.logdir / SWEEPS_DIR / f"{self.id}.json"

    @property
    def dir(self) -> Path:
        return self.logdir / SWEEPS_DIR / self.id

    def point_file(self, index: int) -> Path:
        return self.dir / POINTS_DIR / f"{index}.json"

    def log_file(self, index: int) -> Path:
        return self.dir / LOGS_DIR / f"{index}.log"

    def point_config(self, point: SweepPoint) -> RunConfig:
        """The RunConfig point ``point`` trains with (its name and sweep record included)."""
        config = self.grid.config(self.grid.values(point.position))
        if self.parent is not None and config.parent is not None:
            config.diff = config_diff(self.parent, config).to_dict()
        config.name = point.name
        config.sweep = {"id": self.id, "point": point.index, "values": point.values}
        return config.validate()

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SWEEP_VERSION, "id": self.id, "created": self.created,
            "command": self.command, "grid": {"base": self.grid.base, "axes": self.grid.axes},
            "sample": self.sample, "launcher": self.launcher,
            "points": [p.to_dict() for p in self.points],
        }  # fmt: skip

    def save(self) -> None:
        with writing(self.path):
            write_json_atomic(self.path, self.to_dict())


def plan_sweep(
    logdir: str | os.PathLike, grid: Grid, positions: list[int], command: str, *,
    name: str | None = None, sample: dict[str, Any] | None = None,
) -> Sweep:  # fmt: skip
    """A sweep of the grid positions, not written yet (its id the one :func:`create_sweep`
    will try first); every model is resolved and every point's config validated (a bad
    combination is a ConfigError naming the point). Runs are named
    ``<name or the point's default name>-p<index>``."""
    if grid.base.get("layers") is None or "model" in grid.axes:
        for model in grid.axes.get("model", [grid.base.get("model")]):
            resolve_model(model)  # (a mistyped model fails now, not in every run)
    points = []
    for index, position in enumerate(positions):
        values = grid.values(position)
        try:
            config = grid.config(values)
        except KeraslabError as exc:
            raise ConfigError(f"point {index} ({_values_text(values)}): {exc}") from None
        points.append(SweepPoint(index, position, values, f"{name or config.default_name()}-p{index}"))
    sweep = Sweep(_new_id(), Path(logdir), command, now_iso(), grid, points, sample=sample)
    for point in points:
        try:
            sweep.point_config(point)
        except KeraslabError as exc:
            raise ConfigError(f"point {point.index}: {exc}") from None
    return sweep


def create_sweep(sweep: Sweep) -> Sweep:
    """Give a planned sweep a new id (``sw-YYMMDD-HHMMSS``, made unique by an atomic
    mkdir of its directory) and write its point configs and sweep file."""
    root = sweep.logdir / SWEEPS_DIR
    with writing(root):
        root.mkdir(parents=True, exist_ok=True)
    stamp = _new_id()
    for n in range(1, 1000):
        sweep.id = stamp if n == 1 else f"{stamp}-{n}"
        try:
            os.mkdir(sweep.dir)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise RunStoreError(f"cannot create {sweep.dir}: {exc.strerror}") from None
    else:
        raise RunStoreError(f"no free sweep id in {root}")
    with writing(sweep.dir):
        (sweep.dir / POINTS_DIR).mkdir()
        (sweep.dir / LOGS_DIR).mkdir()
        for point in sweep.points:
            write_json_atomic(sweep.point_file(point.index), sweep.point_config(point).to_dict())
    sweep.save()
    return sweep


def list_sweeps(logdir: str | os.PathLike) -> list[str]:
    """The sweep ids of a log directory, oldest first (ids sort by time)."""
    try:
        names = os.listdir(Path(logdir) / SWEEPS_DIR)
    except OSError:
        return []
    return sorted(n[:-5] for n in names if n.endswith(".json") and _safe_id(n[:-5]))


def find_sweep(logdir: str | os.PathLike, ref: str | None) -> str:
    """The id of the sweep ``ref`` names (an id or a unique prefix; None: the newest)."""
    ids = list_sweeps(logdir)
    if not ids:
        raise RunStoreError(f"no sweeps in {logdir} (start one with 'keraslab sweep')")
    if ref is None:
        return ids[-1]
    if ref in ids:
        return ref
    matches = [i for i in ids if i.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise RunStoreError(f"sweep {ref!r} is ambiguous: {', '.join(matches[:5])}")
    raise RunStoreError(f"no sweep {ref!r} in {logdir} (sweeps: {', '.join(ids[-5:])})")


def load_sweep(logdir: str | os.PathLike, sweep_id: str, warn: Warn = no_warning) -> Sweep:
    """A sweep read back from its file; RunStoreError (one line) when it is unusable."""
    logdir = Path(logdir)
    path = logdir / SWEEPS_DIR / f"{sweep_id}.json"
    data = read_json(path, warn)
    grid = data.get("grid") if isinstance(data.get("grid"), dict) else {}
    base, axes = grid.get("base"), grid.get("axes")
    if data.get("id") != sweep_id or not isinstance(base, dict) or not isinstance(axes, dict) \
            or not all(isinstance(v, list) and v and all(map(_plain, v)) for v in axes.values()):  # fmt: skip
        raise RunStoreError(f"{path}: not a keraslab sweep file")
    points = []
    for raw in data.get("points") if isinstance(data.get("points"), list) else []:
        point = _point(raw, logdir)
        if point is None:
            warn(f"{path}: a damaged point entry, ignored")
            continue
        points.append(point)
    launcher = data.get("launcher") if isinstance(data.get("launcher"), dict) else {}
    sample = data.get("sample") if isinstance(data.get("sample"), dict) else None
    return Sweep(sweep_id, logdir, _text(data.get("command")), _text(data.get("created")),
                 Grid(base, axes), points, launcher, sample)  # fmt: skip


def _point(raw: Any, logdir: Path) -> SweepPoint | None:
    if not isinstance(raw, dict):
        return None
    index, position, values, name = raw.get("index"), raw.get("position"), raw.get("values"), raw.get("name")
    if type(index) is not int or type(position) is not int or index < 0 or position < 0:
        return None
    if not isinstance(values, dict) or not all(map(_plain, values.values())):
        return None
    if not isinstance(name, str) or not _safe_id(name):
        return None
    run = raw.get("run")
    if not (isinstance(run, str) and rel_stays_inside(logdir, run)):
        run = None
    return SweepPoint(index, position, values, name, run)


def point_run(sweep: Sweep, point: SweepPoint) -> Path | None:
    """The run directory of a point: the one the sweep file records, else
    :func:`find_point_run`."""
    if point.run is not None and (sweep.logdir / point.run).is_dir():
        return sweep.logdir / point.run
    return find_point_run(sweep.logdir, point.name, sweep.id, point.index)


def find_point_run(logdir: str | os.PathLike, name: str, sweep_id: str, index: int) -> Path | None:
    """The newest run ``<logdir>/<name>-<N>`` whose config.json names sweep ``sweep_id``
    and point ``index`` (None when there is none)."""
    logdir = Path(logdir)
    prefix = f"{name}-"
    try:
        entries = [e for e in os.listdir(logdir) if e.startswith(prefix) and e[len(prefix):].isdigit()]
    except OSError:
        return None
    for entry in sorted(entries, key=lambda e: int(e[len(prefix):]), reverse=True):
        record = read_json(logdir / entry / CONFIG_FILE, no_warning)
        run = record.get("run") if isinstance(record.get("run"), dict) else {}
        mark = run.get("sweep")
        if isinstance(mark, dict) and mark.get("id") == sweep_id and mark.get("point") == index:
            return logdir / entry
    return None


def _new_id() -> str:
    return time.strftime("sw-%y%m%d-%H%M%S")


def _values_text(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _plain(value: Any) -> bool:
    """A JSON scalar (an option's value): lists and objects from a file are refused."""
    return value is None or isinstance(value, (str, int, float, bool))


def _safe_id(text: str) -> bool:
    return bool(text) and text[0] != "." and all(c.isalnum() or c in "._-" for c in text)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
