"""A TensorBoard run's state: its event files (any writer's), each read on from where the last read stopped."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..rundir.layout import NOTES_FILE, TAGS_FILE, TENSORBOARD, is_plain_relpath
from ..rundir.metricstats import MetricStats
from ..rundir.reader import HEARTBEAT_STALE_S
from ..tfevents import EventFileReader, is_event_file, merge_order, read_together
from .runstate import (
    HEAD,
    RunState,
    file_head,
    file_sig,
    is_head,
    is_sig,
    pack_stats,
    same_file,
    stat,
    unpack_stats,
)
from .summary import RunSummary, unique_metric_name
from .tagmap import EPOCH_TAG


class TensorBoardRunState(RunState):
    """Any directory of TensorBoard event files (Keras callback, tf.summary, other writers).

    Event files directly in the run directory and in its sub-directories (``train/``,
    ``validation/``, ...) belong to the run; tags are prefixed with the sub-directory.
    Each file is read from the byte offset where the previous read stopped.
    """

    kind = TENSORBOARD

    def __init__(self, path: Path, name: str, logdir: Path | None = None):
        super().__init__(path, name, logdir)
        self.dirs: dict[str, int] = {}  # relative dir -> mtime_ns when last listed
        self.files: dict[str, dict[str, Any]] = {}  # relative file -> {sig, offset, plugins}
        self.side: dict[str, list[int] | None] = {}
        self.stats: dict[str, MetricStats] = {}
        self.tag_names: dict[str, str] = {}  # raw tag -> metric name
        self.hparams: dict[str, Any] = {}  # from HParams plugin records, if any
        self.compiled: dict[str, Any] = {}  # a Keras model graph's compile settings (hparams give way)
        self._readers: dict[str, EventFileReader] = {}

    # -- listing
    def _list_dir(self, rel: str, depth: int) -> None:
        folder = self.path if rel == "" else self.path / rel
        try:
            st = os.stat(folder)
            entries = list(os.scandir(folder))
        except OSError:
            self.dirs.pop(rel, None)
            return
        self.dirs[rel] = st.st_mtime_ns
        for entry in entries:
            name = entry.name
            sub = f"{rel}/{name}" if rel else name
            try:
                if entry.is_dir(follow_symlinks=False):
                    if name.startswith(".") or depth >= 3:
                        continue
                    if sub not in self.dirs:
                        self._list_dir(sub, depth + 1)
                elif is_event_file(name) and sub not in self.files:
                    self.files[sub] = {"sig": None, "offset": 0, "plugins": {}}
            except OSError:
                continue

    def refresh(self) -> bool:
        return refresh_tensorboard_runs([self])[0]

    def _plan(self) -> tuple[bool, list[tuple[str, str, dict]]]:
        """List new or changed directories and stat the event files: ``(listing changed,
        the files to read as (relative path, full path, info))``."""
        changed = False
        if not self.dirs:
            self._list_dir("", 0)
            changed = True
        else:
            for rel, mtime in list(self.dirs.items()):
                st = stat(os.path.join(self.path, rel) if rel else str(self.path))
                if st is None:
                    self.dirs.pop(rel, None)
                    changed = True
                elif st.st_mtime_ns != mtime:
                    self._list_dir(rel, rel.count("/") + 1 if rel else 0)
                    changed = True
        todo = []
        restart = False
        for rel in sorted(self.files, key=merge_order):  # (the order tags are named in)
            info = self.files[rel]
            full = os.path.join(self.path, rel)
            st = stat(full)
            if st is None:
                del self.files[rel]
                self._readers.pop(rel, None)
                changed = True
                restart = restart or info["offset"] > 0  # its points are in the stats
                continue
            sig = file_sig(st)
            if sig == info["sig"]:
                continue
            replaced = info["offset"] > 0 and not same_file(full, info.get("head"))
            if replaced or st.st_size < info["offset"]:
                if not replaced:
                    self._warn(f"{full}: file shrank; read again from the start")
                restart = True
            info["sig"] = sig
            todo.append((rel, full, info))
        if restart:  # the stats mix every file's points: all of them are read again
            self.stats, self.tag_names, self.hparams, self.compiled = {}, {}, {}, {}
            self._readers.clear()
            for info in self.files.values():
                info["offset"], info["head"] = 0, None
            todo = [(rel, os.path.join(self.path, rel), self.files[rel])
                    for rel in sorted(self.files, key=merge_order)]  # fmt: skip
        return changed, todo

    def _reader(self, rel: str, full: str, info: dict) -> EventFileReader:
        reader = self._readers.get(rel)
        if reader is None:
            reader = EventFileReader(full, plugins=info["plugins"])
            reader.offset = info["offset"]
            self._readers[rel] = reader
        return reader

    def _absorb(self, rel: str, info: dict, reader: EventFileReader, new: dict, nwarn: int) -> None:
        """Fold the points just read from one file into the run's stats (and the reader's
        warnings after the first ``nwarn``: those of this read)."""
        if not reader.last_read_bytes and not new and not os.path.exists(reader._spath):
            del self.files[rel]  # gone since it was listed: as if never seen (no warning)
            self._readers.pop(rel, None)
            return
        self.bytes_read += reader.last_read_bytes
        info["offset"] = reader.offset
        if not info.get("head") or info["head"][0] < HEAD:
            info["head"] = file_head(reader._spath, reader.head)
        for w in reader.warnings[nwarn:]:
            self._warn(w)
        # keep only the summary: drop the points the reader accumulated
        reader.scalars.clear()
        reader.texts.clear()
        if reader.hparams:
            self.hparams.update(reader.hparams)
            reader.hparams.clear()
        if reader.compiled:
            self.compiled.update(reader.compiled)
            reader.compiled.clear()
        prefix = rel.rpartition("/")[0]
        prefix = prefix + "/" if prefix else ""
        for tag, series in new.items():
            full_tag = prefix + tag
            name = self.tag_names.get(full_tag)
            if name is None:
                name = self.tag_names[full_tag] = unique_metric_name(full_tag, self.tag_names.values())
            stats = self.stats.get(name)
            if stats is None:
                stats = self.stats[name] = MetricStats()
            if series.columnar:  # (a big file's points: no Python object per point)
                stats.add_columns(*series.to_numpy())
            else:
                stats.add_many(series.steps, series.wall_times, series.values)

    def _finish(self, changed: bool) -> bool:
        side_changed = []
        for name in (NOTES_FILE, TAGS_FILE):
            sig = file_sig(stat(os.path.join(self.path, name)))
            if sig != self.side.get(name, "unset"):
                self.side[name] = sig
                side_changed.append(name)
        if side_changed:
            self._read_side_files(side_changed)
            changed = True
        if changed:
            self._summary = None
        return changed

    def _last_write(self) -> float:
        return max((i["sig"][1] for i in self.files.values() if i["sig"]), default=0) / 1e9

    def _status(self) -> str:
        if not self.files:
            return "empty"
        return "active" if time.time() - self._last_write() < HEARTBEAT_STALE_S else "done"

    def _make_summary(self) -> RunSummary:
        epoch_steps = [
            s.last_step for tag, s in self._by_tag() if tag.rpartition("/")[2].startswith("epoch_")
        ]
        epochs = max(epoch_steps) + 1 if epoch_steps and None not in epoch_steps else None
        epoch_metric = self.stats.get(EPOCH_TAG)
        if epochs is None and epoch_metric is not None and epoch_metric.max is not None and epoch_metric.max >= 0:
            epochs = int(epoch_metric.max) + 1  # Lightning's "epoch": the 0-based epoch at each step
        starts = [s.first_time for s in self.stats.values() if s.first_time is not None]
        ends = [s.last_time for s in self.stats.values() if s.last_time is not None]
        val = self.stats.get("val_accuracy") or self.stats.get("val_acc")
        test = self.stats.get("test_accuracy")
        warnings = list(self.warnings)
        if not self.files:
            warnings.append(f"{self.path}: no event files left")
        now = time.time()
        for rel, info in sorted(self.files.items()):
            sig = info["sig"]
            if not sig:
                continue
            if sig[0] == 0:
                warnings.append(f"{self.path / rel}: empty event file")
            elif info["offset"] < sig[0] and now - sig[1] / 1e9 > HEARTBEAT_STALE_S:
                full = str(self.path / rel)
                if not any(full in w for w in warnings):
                    warnings.append(f"{full}: truncated ({sig[0] - info['offset']} bytes at the end unread)")
        return RunSummary(
            name=self.name,
            path=self.path,
            kind=self.kind,
            status=self._status(),
            epochs=epochs,
            best_val_accuracy=val.max if val else None,
            test_accuracy=test.last if test else None,
            duration=(max(ends) - min(starts)) if starts and ends else None,
            start_time=min(starts) if starts else None,
            hparams={**self.compiled, **self.hparams},
            metrics={k: v.copy() for k, v in self.stats.items()},
            metric_tags={name: tag for tag, name in self.tag_names.items() if name != tag},
            tags=list(self.tags),
            notes=self.notes,
            warnings=warnings,
            logdir=self.logdir,
        )

    def _by_tag(self):
        for tag, name in self.tag_names.items():
            if name in self.stats:
                yield tag, self.stats[name]

    def to_cache(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "dirs": self.dirs,
            "files": self.files,
            "side": self.side,
            "stats": pack_stats(self.stats),
            "tag_names": self.tag_names,
            "hparams": self.hparams,
            "compiled": self.compiled,
            "warnings": self.warnings,
            "tags": self.tags,
            "notes": self.notes,
        }

    @classmethod
    def from_cache(cls, path: Path, name: str, logdir: Path, data: dict) -> TensorBoardRunState:
        """The state a :meth:`to_cache` entry saved; ValueError or TypeError when the entry
        is not one (the cache is a file: its paths must name things inside the run)."""
        self = cls(path, name, logdir)
        dirs, files, side = data["dirs"], data["files"], data["side"]
        if not all(isinstance(x, dict) for x in (dirs, files, side)):
            raise TypeError("mistyped cache entry")
        for rel, mtime in dirs.items():
            if (rel != "" and not is_plain_relpath(rel)) or type(mtime) is not int:
                raise ValueError(f"bad directory {rel!r}")
        for rel, info in files.items():
            if not is_plain_relpath(rel) or not _is_file_info(info):
                raise ValueError(f"bad event file {rel!r}")
        if not set(side) <= {NOTES_FILE, TAGS_FILE} or not all(is_sig(v) for v in side.values()):
            raise ValueError("bad side files")
        tag_names, hparams, compiled = data["tag_names"], data["hparams"], data["compiled"]
        if not all(isinstance(x, dict) for x in (tag_names, hparams, compiled)):
            raise TypeError("mistyped cache entry")
        if not all(isinstance(v, str) for v in tag_names.values()):
            raise TypeError("mistyped tag names")
        if not all(v is None or isinstance(v, (str, int, float)) for v in [*hparams.values(), *compiled.values()]):
            raise TypeError("mistyped hyperparameters")
        self.dirs = dict(dirs)
        self.files = {rel: dict(info) for rel, info in files.items()}
        self.side = dict(side)
        self.stats = unpack_stats(data["stats"])
        self.tag_names, self.hparams, self.compiled = dict(tag_names), dict(hparams), dict(compiled)
        self._load_common(data)
        return self


def _is_file_info(info: Any) -> bool:
    """Whether a summary cache's record of one event file is one: ``{sig, offset, plugins[, head]}``."""
    if not isinstance(info, dict) or not {"sig", "offset", "plugins"} <= set(info) <= {"sig", "offset", "plugins", "head"}:
        return False
    offset, plugins = info["offset"], info["plugins"]
    return (
        is_sig(info["sig"]) and is_head(info.get("head")) and type(offset) is int and offset >= 0
        and isinstance(plugins, dict) and all(isinstance(v, str) for v in plugins.values())
    )  # fmt: skip


def refresh_tensorboard_runs(states: list[TensorBoardRunState]) -> list[bool]:
    """``state.refresh()`` of each of ``states``, their new event bytes decoded together
    (a first scan of hundreds of small runs: one numpy pass instead of a loop per file)."""
    plans = [state._plan() for state in states]
    files = []
    for state, (_, todo) in zip(states, plans, strict=True):
        for rel, full, info in todo:
            reader = state._reader(rel, full, info)
            files.append((state, rel, info, reader, len(reader.warnings)))
    news = read_together([f[3] for f in files], return_new=True)
    for (state, rel, info, reader, nwarn), new in zip(files, news, strict=True):
        state._absorb(rel, info, reader, new, nwarn)
    return [state._finish(changed or bool(todo)) for state, (changed, todo) in zip(states, plans, strict=True)]
