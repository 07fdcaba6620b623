"""Run discovery under log directories: the watcher that finds, reads, caches and follows runs, and the resolver of run names."""

from __future__ import annotations

import collections
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .. import hooks
from ..errors import RunStoreError
from ..rundir.kind import run_kind
from ..rundir.layout import CONFIG_FILE, KERASLAB, STATUS_FILE, TENSORBOARD, rel_stays_inside
from .cache import cache_size, load_cache, save_cache
from .finding import iter_run_dirs, run_name
from .keraslab_state import KeraslabRunState
from .prefetch import Prefetcher
from .runstate import RunState
from .summary import RunSummary
from .tensorboard_state import TensorBoardRunState, refresh_tensorboard_runs

_STATE_CLASSES = {KERASLAB: KeraslabRunState, TENSORBOARD: TensorBoardRunState}
_NEW_RUNS_AT_ONCE = 100  # new runs read together (their event files decoded in one pass)
_CHUNKS_AHEAD = 3  # chunks of new runs whose files are fetched while one is read
PROGRESS_EVERY = 0.25  # seconds between scan(progress=...) calls


def _refresh(states: list[tuple[str, RunState]]) -> list[tuple[str, RunState]]:
    """Refresh each (key, state); those that changed. TensorBoard runs are read together."""
    tensorboard = [s for _, s in states if isinstance(s, TensorBoardRunState)]
    changed = {id(s) for s, c in zip(tensorboard, refresh_tensorboard_runs(tensorboard), strict=True) if c}
    return [(k, s) for k, s in states
            if (id(s) in changed if isinstance(s, TensorBoardRunState) else s.refresh())]  # fmt: skip


def _rel(path: Path, root: Path) -> str:
    """A run's key in its log directory's summary cache."""
    return "." if path == root else path.relative_to(root).as_posix()


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(itertools.islice(items, size)):
        yield chunk


def _still_a_run(state: RunState) -> RunState | None:
    """A keraslab run taken from the summary cache without listing its directory whose
    files changed: itself while it still has config.json or status.json, else the
    directory as what it is now (None: no run any more)."""
    if not isinstance(state, KeraslabRunState) or state.sigs.get(CONFIG_FILE) or state.sigs.get(STATUS_FILE):
        return state
    kind = run_kind(state.path)
    if kind is None or kind == KERASLAB:
        return None if kind is None else state
    other = _STATE_CLASSES[kind](state.path, state.name, state.logdir)
    _refresh([("", other)])
    return other


def _state_from_cache(path: Path, name: str, logdir: Path, data: Any) -> RunState | None:
    """A run's state from its summary cache entry; None when the entry is not a valid one."""
    try:
        return _STATE_CLASSES[data["kind"]].from_cache(path, name, logdir, data)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        return None


class RunWatcher:
    """Runs of one or more log directories, kept up to date cheaply.

    ``scan()`` finds new run directories (never searching inside known ones), stats the
    files of every known run and reads only what grew; it returns the paths of runs
    that changed (appeared, grew, vanished). With ``use_cache`` the first scan starts
    from each log directory's summary cache, so unchanged runs are not read at all.
    """

    def __init__(self, logdirs, *, use_cache: bool = True):
        if isinstance(logdirs, (str, os.PathLike)):
            logdirs = [logdirs]
        self.logdirs = [Path(p).expanduser() for p in logdirs]
        self.use_cache = use_cache
        self.states: dict[str, RunState] = {}
        self._root_of: dict[str, Path] = {}
        self._cache_loaded = False
        self._dirty: set[Path] = set()
        self._gone: dict[Path, set[str]] = {}  # runs seen vanishing since the last save, by log directory
        self._saved_at = -math.inf
        self.missing: list[Path] = []
        self.warnings: list[str] = []  # about the log directories themselves (their caches)

    @property
    def bytes_read(self) -> int:
        return sum(s.bytes_read for s in self.states.values())

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def _load_caches(self, check_paths: bool) -> dict[str, tuple[Path, dict]]:
        """The summary caches' entries by run path. A scan takes an entry only for a directory
        its walk reaches (inside the log directory by construction); ``check_paths`` (for
        :meth:`preload`, which takes them unseen) drops and warns of any path that leaves it."""
        cached: dict[str, tuple[Path, dict]] = {}
        if not self.use_cache:
            return cached
        for root in self.logdirs:
            for rel, data in load_cache(root, self._warn).items():
                path = os.path.join(root, rel) if rel != "." else str(root)
                if check_paths and rel != "." and not rel_stays_inside(root, rel):
                    # a path from a file: a run outside the log directory is none of its runs
                    self._warn(f"{root}: summary cache names {rel!r}, outside the log directory; ignored")
                    continue
                cached.setdefault(path, (root, data))
        return cached

    def cache_bytes(self) -> int:
        """The size of the summary caches a :meth:`preload` would read (0 without the cache)."""
        return sum(cache_size(root) for root in self.logdirs) if self.use_cache else 0

    def preload(self) -> bool:
        """Take the runs of the summary caches as they were saved, reading and stat'ing no
        run (a table can show them at once); the next :meth:`scan` checks each of them.
        Returns whether any run was loaded."""
        if self._cache_loaded or self.states:
            return False
        self._cache_loaded = True
        with hooks.bulk_read():
            for key, (root, data) in self._load_caches(check_paths=True).items():
                path = Path(key)
                state = _state_from_cache(path, run_name(path, root), root, data)
                if state is not None:
                    self.states[key] = state
                    self._root_of[key] = root
        return bool(self.states)

    def scan(self, progress: Callable[[], None] | None = None, *, save: bool = True) -> list[Path]:
        """Rescan; return the paths of the runs that changed since the previous scan.

        New runs are read a hundred at a time as the walk finds them; ``progress()`` is
        called between those hundreds that had runs to read (not only cache hits: after
        the first, then at most every PROGRESS_EVERY seconds), when :meth:`summaries` has
        the runs read so far, so that a first scan of a big directory can show them as
        they come. With ``save=False`` the summary cache is left for a :meth:`save_cache`
        call (an app shows the runs first, then saves)."""
        changed: list[Path] = []
        with hooks.bulk_read():
            cached = {} if self._cache_loaded else self._load_caches(check_paths=False)
        self._cache_loaded = True
        self.missing = [root for root in self.logdirs if not root.is_dir()]
        # known runs: stat only
        alive = []
        for key, state in list(self.states.items()):
            if not state.path.is_dir():
                del self.states[key]
                root = self._root_of.pop(key)
                self._dirty.add(root)
                self._gone.setdefault(root, set()).add(_rel(state.path, root))
                changed.append(state.path)
            else:
                alive.append((key, state))
        for key, state in _refresh(alive):
            self._dirty.add(self._root_of[key])
            changed.append(state.path)
        # new runs, a hundred at a time as the walk finds them; the files of those ahead
        # are fetched meanwhile (a cold disk answers many reads at once faster than one by one)
        chunks = _chunks(self._fresh(cached), _NEW_RUNS_AT_ONCE)
        ahead: collections.deque = collections.deque()
        last = time.monotonic() - PROGRESS_EVERY  # (the first hundred at once)
        with Prefetcher() as prefetch:
            while True:
                with hooks.bulk_read():  # (the states made from the cache as well as those read)
                    while len(ahead) < _CHUNKS_AHEAD:
                        chunk = next(chunks, None)
                        if chunk is None:
                            break
                        prefetch.submit(state for _, state, _, from_cache in chunk if not from_cache)
                        ahead.append(chunk)
                    if not ahead:
                        break
                    chunk = ahead.popleft()
                    read = {key for key, _ in _refresh([(key, state) for key, state, _, _ in chunk])}
                for key, state, root, from_cache in chunk:  # (summaries() shows a run once it is read)
                    if from_cache and key in read:
                        state = _still_a_run(state)
                        if state is None:
                            continue
                    self.states[key] = state
                    self._root_of[key] = root
                    changed.append(state.path)
                    if key in read or not from_cache:
                        self._dirty.add(root)
                if progress is not None and read and ahead and time.monotonic() - last >= PROGRESS_EVERY:
                    progress()
                    last = time.monotonic()
        if save:
            self.save_cache()
        return changed

    def _fresh(self, cached: dict[str, tuple[Path, dict]]) -> Iterator[tuple[str, RunState, Path, bool]]:
        """``(key, state, root, from_cache)`` of each run directory not known yet, as the walk
        finds it; a directory the summary cache has as a keraslab run is not listed (its
        files are stat'ed by the refresh that follows)."""
        known = set(self.states)
        cached_kinds = {k: KERASLAB for k, (_, data) in cached.items()
                        if isinstance(data, dict) and data.get("kind") == KERASLAB}  # fmt: skip
        for root in self.logdirs:
            if root in self.missing:
                continue
            for path, kind in iter_run_dirs(root, skip=known, known=cached_kinds):
                key = str(path)
                if key in known:
                    continue
                known.add(key)
                name = run_name(path, root)
                state = None
                if key in cached:
                    state = _state_from_cache(path, name, root, cached[key][1])
                    if state is not None and state.kind != kind:
                        state = None
                if state is None:
                    if key in cached_kinds:  # (a bad entry: the directory is classified after all)
                        kind = run_kind(path)
                        if kind is None:
                            continue
                    yield key, _STATE_CLASSES[kind](path, name, root), root, False
                else:
                    yield key, state, root, True

    def save_cache(self, at_most_every: float = 0.0) -> None:
        """Write the summary cache of every log directory whose runs changed (when the
        watcher uses the cache), merged with what other processes saved meanwhile (see
        :func:`.cache.save_cache`); not again within ``at_most_every`` seconds of the last
        save (a live browser of a big log directory saves now and then, not every scan)."""
        if not self.use_cache or not self._dirty or time.monotonic() - self._saved_at < at_most_every:
            return
        runs: dict[Path, dict[str, Any]] = {root: {} for root in self._dirty}
        for key, state in self.states.items():
            root = self._root_of.get(key)
            if root in runs:
                runs[root][_rel(state.path, root)] = state.to_cache()
        for root, entries in runs.items():
            save_cache(root, entries, self._gone.pop(root, ()))
        self._dirty.clear()
        self._saved_at = time.monotonic()

    def summaries(self) -> list[RunSummary]:
        """Every run's summary, oldest first (then by name)."""
        return oldest_first(s.summary() for s in self.states.values())

    def summary(self, path: str | os.PathLike) -> RunSummary | None:
        state = self.states.get(str(Path(path)))
        return state.summary() if state else None

    def state(self, path: str | os.PathLike) -> RunState | None:
        return self.states.get(str(Path(path)))


def oldest_first(runs: Iterable[RunSummary]) -> list[RunSummary]:
    """Runs in the browser's default order: by start time (runs without one last), then by name."""
    return sorted(runs, key=lambda r: (r.start_time if r.start_time is not None else math.inf, r.name))


def discover_runs(logdirs, *, use_cache: bool = True) -> list[RunSummary]:
    """Every run under one or more log directories (recursively), as table rows, oldest first."""
    watcher = RunWatcher(logdirs, use_cache=use_cache)
    watcher.scan()
    return watcher.summaries()


def load_summary(path: str | os.PathLike, logdir: str | os.PathLike | None = None) -> RunSummary:
    """The summary of one run directory (keraslab or TensorBoard), read without the cache."""
    path = Path(path)
    kind = run_kind(path)
    if kind is None:
        raise RunStoreError(f"{path}: not a run directory (no keraslab files, no event files)")
    root = Path(logdir) if logdir else path.parent
    state = _STATE_CLASSES[kind](path, run_name(path, root), root)
    state.refresh()
    return state.summary()


def resolve_runs(refs, logdirs) -> list[RunSummary]:
    """Runs named on a command line: a run directory path, a run name under the log
    directories, or a unique prefix of one. Raises RunStoreError naming the first bad one."""
    out: list[RunSummary] = []
    known: list[RunSummary] | None = None
    for ref in refs:
        direct = Path(ref).expanduser()
        if direct.is_dir() and run_kind(direct) is not None:
            out.append(load_summary(direct))
            continue
        if known is None:
            known = discover_runs(logdirs)
        exact = [r for r in known if r.name == ref or r.path.name == ref]
        matches = exact or [r for r in known if r.name.startswith(ref) or r.path.name.startswith(ref)]
        if len(matches) == 1:
            out.append(matches[0])
        elif matches:
            listed = ", ".join(r.name for r in matches[:5])
            raise RunStoreError(f"{ref!r} matches several runs ({listed}...); give the full name")
        else:
            where = ", ".join(str(p) for p in ([logdirs] if isinstance(logdirs, (str, os.PathLike)) else logdirs))
            raise RunStoreError(f"no run {ref!r} in {where} (see 'keraslab runs')")
    return out
