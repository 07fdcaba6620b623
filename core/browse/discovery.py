"""Run discovery under log directories: keraslab runs and any TensorBoard log dir, cached and followed."""

from __future__ import annotations

import json
import math
import os
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import hooks
from ..browse.cache import load_cache, save_cache
from ..errors import RunStoreError
from ..rundir.metricstats import MetricsTally, MetricStats, add_epoch_records, stats_json
from ..rundir.reader import HEARTBEAT_STALE_S, RunRecord, parse_metric_lines
from ..rundir.writer import CONFIG_FILE, METRICS_FILE, RESULTS_FILE, STATUS_FILE
from ..tfevents import HEAD_BYTES, EventFileReader, is_event_file, merge_order, read_together

NOTES_FILE = "notes.md"
TAGS_FILE = "tags.json"
ARCHIVE_DIR = ".archive"
# Sub-directories Keras' TensorBoard callback (and similar writers) use for one run's splits.
SPLIT_DIRS = ("train", "validation", "eval", "evaluation", "test", "val")
MAX_DEPTH = 8
KERASLAB = "keraslab"
TENSORBOARD = "tensorboard"
# add_hparams of tensorboardX and PyTorch writes its metrics into a sub-run named str(time.time())
_HPARAMS_SUBRUN = re.compile(r"\d{9,}\.\d+/")


def metric_name(tag: str) -> str:
    """Keras-style metric name of a TensorBoard tag: train/epoch_loss -> loss, validation/epoch_accuracy -> val_accuracy
    (and 1795454668.01/hparam/acc, an add_hparams metric, -> hparam/acc: the same name in every run)."""
    m = _HPARAMS_SUBRUN.match(tag)
    if m:
        return tag[m.end() :]
    for prefix, repl in (("train/", ""), ("validation/", "val_")):
        if tag.startswith(prefix):
            rest = tag[len(prefix) :]
            if "/" not in rest:
                return repl + (rest[6:] if rest.startswith("epoch_") else rest)
    return tag


def unique_metric_name(tag: str, taken) -> str:
    """:func:`metric_name` of ``tag``, or when another tag of the run has that name, the
    raw tag (numbered if need be): two tags never share a name. Tags must come in
    :func:`events.merge_order` of their files for every reader to name them alike."""
    name = metric_name(tag)
    if name in taken:
        name, n = tag, 2
        while name in taken:
            name, n = f"{tag} ({n})", n + 1
    return name


@dataclass
class RunSummary:
    """One run as a row of the runs table, whatever wrote it (keraslab or a TensorBoard writer)."""

    name: str
    path: Path
    kind: str
    status: str
    dataset: str | None = None
    model: str | None = None
    params: int | None = None
    epochs: int | None = None
    epochs_planned: int | None = None
    best_val_accuracy: float | None = None
    test_accuracy: float | None = None
    test_loss: float | None = None
    duration: float | None = None
    start_time: float | None = None
    hparams: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricStats] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    notes: str = ""
    warnings: list[str] = field(default_factory=list)
    logdir: Path | None = None

    @property
    def started(self) -> str | None:
        """Start time as local ISO text (seconds)."""
        if self.start_time is None:
            return None
        return datetime.fromtimestamp(self.start_time).astimezone().isoformat(timespec="seconds")

    def metric(self, name: str, which: str = "best") -> float | None:
        """``which`` of first/last/best/min/max of a metric (None when the run has none)."""
        stats = self.metrics.get(name)
        if stats is None:
            return None
        if which == "best":
            return stats.best(name)
        return getattr(stats, which, None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: every column, hparams and first/last/best of each metric."""
        return {
            "name": self.name,
            "path": str(self.path),
            "kind": self.kind,
            "status": self.status,
            "dataset": self.dataset,
            "model": self.model,
            "params": self.params,
            "epochs_done": self.epochs,
            "epochs_planned": self.epochs_planned,
            "best_val_accuracy": self.best_val_accuracy,
            "test_accuracy": self.test_accuracy,
            "test_loss": self.test_loss,
            "duration": self.duration,
            "started": self.started,
            "hparams": self.hparams,
            "metrics": {
                k: {"first": s.first, "last": s.last, "best": s.best(k), "count": s.count}
                for k, s in self.metrics.items()
            },
            "tags": self.tags,
            "notes": self.notes,
            "warnings": self.warnings,
        }


def _sig(st: os.stat_result | None) -> list[int] | None:
    return None if st is None else [st.st_size, st.st_mtime_ns]


_HEAD = HEAD_BYTES  # a metrics line's or an event file's first record holds a wall time


def _head(path: str, first: bytes | None = None) -> list[int] | None:
    """``[n, crc32]`` of a file's first n (<= 64) bytes (``first`` when the read that
    just ended started there): the file under that name later is the same one grown if
    its first n bytes still match, and another (a run deleted and trained again under
    its name; inodes are reused) if not."""
    if first is None or len(first) < _HEAD:
        try:
            with open(path, "rb") as f:
                first = f.read(_HEAD)
        except OSError:
            return None
    return [len(first), zlib.crc32(first)]


def _head_matches(first: bytes, head: list[int] | None) -> bool:
    """Whether a file whose first bytes are ``first`` (at least head's n) is the one ``head`` was taken of."""
    return not head or (len(first) >= head[0] and zlib.crc32(first[: head[0]]) == head[1])


def _same_file(path: str, head: list[int] | None) -> bool:
    if not head:
        return True
    try:
        with open(path, "rb") as f:
            data = f.read(head[0])
    except OSError:
        return True  # (the read that follows reports it)
    return _head_matches(data, head)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _flatten(key: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{key}.{k}" if key else str(k), v, out)
    else:
        out[key] = json.dumps(value) if isinstance(value, list) else value


# --------------------------------------------------------------------------- run states


class RunState:
    """What keraslab knows of one run; ``refresh()`` stats its files and reads only what changed."""

    kind = ""

    def __init__(self, path: Path, name: str, logdir: Path | None = None):
        self.path = Path(path)
        self.name = name
        self.logdir = logdir
        self.warnings: list[str] = []
        self.tags: list[str] = []
        self.notes = ""
        self._summary: RunSummary | None = None
        self.bytes_read = 0  # total bytes read by refresh() calls (for tests and benchmarks)

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def _read_side_files(self, sigs: dict, changed: list[str]) -> None:
        """Notes and tags (both kinds of runs keep them in the run directory)."""
        if NOTES_FILE in changed:
            self.notes = _read_text(self.path / NOTES_FILE, self)
        if TAGS_FILE in changed:
            data = _read_json(self.path / TAGS_FILE, self, want=list)
            self.tags = [str(t) for t in data] if isinstance(data, list) else []

    def refresh(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self) -> RunSummary:
        if self._summary is None:
            self._summary = self._make_summary()
        else:
            self._summary.status = self._status()  # staleness moves with the clock
        return self._summary

    def _status(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_summary(self) -> RunSummary:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_cache(self) -> dict[str, Any]:  # pragma: no cover - abstract
        raise NotImplementedError


def _read_text(path: Path, state: RunState) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        state._warn(f"{path}: unreadable ({exc.strerror or exc})")
        return ""
    state.bytes_read += len(data)
    return data.decode("utf-8", "replace")


def _read_json(path: Path, state: RunState, want=dict) -> Any:
    text = _read_text(path, state)
    if not text:
        return want()
    try:
        data = json.loads(text)
    except ValueError:
        state._warn(f"{path}: damaged JSON, ignored")
        return want()
    if not isinstance(data, want):
        state._warn(f"{path}: unexpected content, ignored")
        return want()
    return data


class KeraslabRunState(RunState):
    """A keraslab run directory, read from config.json, status.json, metrics.jsonl and results.json."""

    kind = KERASLAB
    FILES = (CONFIG_FILE, STATUS_FILE, RESULTS_FILE, METRICS_FILE, NOTES_FILE, TAGS_FILE)

    def __init__(self, path: Path, name: str, logdir: Path | None = None):
        super().__init__(path, name, logdir)
        self.sigs: dict[str, list[int] | None] = {}
        self.config: dict[str, Any] = {}
        self.status_info: dict[str, Any] = {}
        self.results: dict[str, Any] = {}
        self.metrics_offset = 0
        self.metrics_head: list[int] | None = None  # see _head
        self.epochs = 0
        self.stats: dict[str, MetricStats] = {}
        self.line_warnings = 0

    def refresh(self) -> bool:
        changed = []
        for name in self.FILES:
            sig = _sig(_stat(os.path.join(self.path, name)))
            if sig != self.sigs.get(name, "unset"):
                self.sigs[name] = sig
                changed.append(name)
        if not changed:
            return False
        self._summary = None
        if CONFIG_FILE in changed:
            self.config = _read_json(self.path / CONFIG_FILE, self)
        tally = None
        if STATUS_FILE in changed:
            self.status_info = _read_json(self.path / STATUS_FILE, self)
            tally = self.status_info.pop("metrics_summary", None)  # (not kept: the stats are)
        if RESULTS_FILE in changed:
            self.results = _read_json(self.path / RESULTS_FILE, self)
        if METRICS_FILE in changed:
            self._read_metrics(tally)
        self._read_side_files(self.sigs, changed)
        return True

    def _read_metrics(self, tally: Any = None) -> None:
        path = self.path / METRICS_FILE
        sig = self.sigs.get(METRICS_FILE)
        if sig is None:
            self.metrics_offset, self.epochs, self.stats = 0, 0, {}
            return
        if sig[0] < self.metrics_offset:  # rewritten: start over
            self.metrics_offset, self.epochs, self.stats, self.metrics_head = 0, 0, {}, None
        if self.metrics_offset == 0 and tally is not None and self._take_tally(tally, path, sig[0]):
            return
        try:
            with open(path, "rb") as f:
                head = self.metrics_head
                if self.metrics_offset and not _head_matches(f.read(head[0]) if head else b"", head):
                    # another file under the name (a run deleted and trained again): from its start
                    self.metrics_offset, self.epochs, self.stats, self.metrics_head = 0, 0, {}, None
                    self.warnings = [w for w in self.warnings if not w.startswith(str(path))]
                f.seek(self.metrics_offset)
                data = f.read()
        except OSError as exc:
            self._warn(f"{path}: unreadable ({exc.strerror or exc})")
            return
        self.bytes_read += len(data)
        first = data[:_HEAD] if self.metrics_offset == 0 else None
        records, damaged, end = parse_metric_lines(data)  # a partly written last line waits
        if damaged:
            self.line_warnings += damaged
            self._warn(f"{path}: damaged line(s) skipped")
        self.epochs += add_epoch_records(self.stats, records, self.epochs)
        self.metrics_offset += end
        if self.metrics_head is None or self.metrics_head[0] < _HEAD:
            self.metrics_head = _head(str(path), first)

    def _take_tally(self, data: Any, path: Path, size: int) -> bool:
        """Take the stats of metrics.jsonl from status.json's tally (store.RunWriter keeps it)
        when it covers the file as it is now, byte for byte: the file is not read."""
        try:
            tally = MetricsTally.from_json(data)
        except ValueError:
            return False
        head = _head(str(path)) if tally.bytes == size else None
        if head is None:
            return False
        self.stats, self.epochs, self.metrics_offset, self.metrics_head = tally.stats, tally.epochs, size, head
        return True

    def _record(self) -> RunRecord:
        return RunRecord(self.path, self.config, self.status_info, [], [], self.results)

    def _status(self) -> str:
        return self._record().status if self.status_info else "unknown"

    def _make_summary(self) -> RunSummary:
        rec = self._record()
        run_cfg = rec.run_config if isinstance(rec.run_config, dict) else {}
        hparams: dict[str, Any] = {}
        for key, value in run_cfg.items():
            if key in ("layers", "data_dir", "name") or value is None:
                continue
            if key == "extra" and isinstance(value, dict):
                _flatten("", value, hparams)
                continue
            _flatten(key, value, hparams)
        start = None
        try:
            start = datetime.fromisoformat(self.status_info["started"]).timestamp()
        except (KeyError, TypeError, ValueError):
            pass
        test = self.results.get("test") if isinstance(self.results.get("test"), dict) else {}
        val = self.stats.get("val_accuracy")
        return RunSummary(
            name=self.name,
            path=self.path,
            kind=self.kind,
            status=self._status() if self.status_info else "unknown",
            dataset=run_cfg.get("dataset"),
            model=self.config.get("model_label") or run_cfg.get("model"),
            params=(self.config.get("model_info") or {}).get("params"),
            epochs=self.epochs,
            epochs_planned=run_cfg.get("epochs"),
            best_val_accuracy=val.max if val else None,
            test_accuracy=test.get("accuracy"),
            test_loss=test.get("loss"),
            duration=rec.duration,
            start_time=start,
            hparams=hparams,
            metrics={k: v.copy() for k, v in self.stats.items()},
            tags=list(self.tags),
            notes=self.notes,
            warnings=list(self.warnings),
            logdir=self.logdir,
        )

    def to_cache(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "sigs": self.sigs,
            "config": self.config,
            "status": self.status_info,
            "results": self.results,
            "offset": self.metrics_offset,
            "head": self.metrics_head,
            "epochs": self.epochs,
            "stats": stats_json(self.stats),
            "warnings": self.warnings,
            "tags": self.tags,
            "notes": self.notes,
        }

    @classmethod
    def from_cache(cls, path: Path, name: str, logdir: Path, data: dict) -> KeraslabRunState:
        self = cls(path, name, logdir)
        self.sigs = dict(data["sigs"])
        self.config = data["config"]
        self.status_info = data["status"]
        self.results = data["results"]
        self.metrics_offset = int(data["offset"])
        self.metrics_head = data["head"]
        self.epochs = int(data["epochs"])
        self.stats = {k: MetricStats(**v) for k, v in data["stats"].items()}
        self.warnings = list(data["warnings"])
        self.tags = list(data["tags"])
        self.notes = str(data["notes"])
        return self


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
                st = _stat(os.path.join(self.path, rel) if rel else str(self.path))
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
            st = _stat(full)
            if st is None:
                del self.files[rel]
                self._readers.pop(rel, None)
                changed = True
                restart = restart or info["offset"] > 0  # its points are in the stats
                continue
            sig = _sig(st)
            if sig == info["sig"]:
                continue
            replaced = info["offset"] > 0 and not _same_file(full, info.get("head"))
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
        if not info.get("head") or info["head"][0] < _HEAD:
            info["head"] = _head(reader._spath, reader.head)
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
            stats.add_many(series.steps, series.wall_times, series.values)

    def _finish(self, changed: bool) -> bool:
        side_changed = []
        for name in (NOTES_FILE, TAGS_FILE):
            sig = _sig(_stat(os.path.join(self.path, name)))
            if sig != self.side.get(name, "unset"):
                self.side[name] = sig
                side_changed.append(name)
        if side_changed:
            self._read_side_files(self.side, side_changed)
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
            "stats": stats_json(self.stats),
            "tag_names": self.tag_names,
            "hparams": self.hparams,
            "compiled": self.compiled,
            "warnings": self.warnings,
            "tags": self.tags,
            "notes": self.notes,
        }

    @classmethod
    def from_cache(cls, path: Path, name: str, logdir: Path, data: dict) -> TensorBoardRunState:
        self = cls(path, name, logdir)
        self.dirs = {str(k): int(v) for k, v in data["dirs"].items()}
        self.files = {str(k): dict(v) for k, v in data["files"].items()}
        self.side = dict(data["side"])
        self.stats = {k: MetricStats(**v) for k, v in data["stats"].items()}
        self.tag_names = dict(data["tag_names"])
        self.hparams = dict(data["hparams"])
        self.compiled = dict(data["compiled"])
        self.warnings = list(data["warnings"])
        self.tags = list(data["tags"])
        self.notes = str(data["notes"])
        return self


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


_STATE_CLASSES = {KERASLAB: KeraslabRunState, TENSORBOARD: TensorBoardRunState}
_NEW_RUNS_AT_ONCE = 100  # new runs read together (their event files decoded in one pass)
PROGRESS_EVERY = 0.25  # seconds between scan(progress=...) calls


def _refresh(states: list[tuple[str, RunState]]) -> list[tuple[str, RunState]]:
    """Refresh each (key, state); those that changed. TensorBoard runs are read together."""
    tensorboard = [s for _, s in states if isinstance(s, TensorBoardRunState)]
    changed = {id(s) for s, c in zip(tensorboard, refresh_tensorboard_runs(tensorboard), strict=True) if c}
    return [(k, s) for k, s in states
            if (id(s) in changed if isinstance(s, TensorBoardRunState) else s.refresh())]  # fmt: skip


def _state_from_cache(path: Path, name: str, logdir: Path, data: Any) -> RunState | None:
    try:
        return _STATE_CLASSES[data["kind"]].from_cache(path, name, logdir, data)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


# --------------------------------------------------------------------------- discovery


def _classify(folder: str, files: list[str], subdirs: list[os.DirEntry]) -> str | None:
    if CONFIG_FILE in files or STATUS_FILE in files:
        return KERASLAB
    if any(is_event_file(n) for n in files):
        return TENSORBOARD
    for entry in subdirs:
        if entry.name in SPLIT_DIRS:
            try:
                if any(is_event_file(e.name) for e in os.scandir(entry.path)):
                    return TENSORBOARD
            except OSError:
                continue
    return None


def run_kind(path: str | os.PathLike) -> str | None:
    """``'keraslab'``, ``'tensorboard'`` or None: what kind of run a directory is."""
    try:
        entries = list(os.scandir(path))
    except OSError:
        return None
    files = [e.name for e in entries if not e.is_dir()]
    subdirs = [e for e in entries if e.is_dir()]
    return _classify(str(path), files, subdirs)


def find_run_dirs(
    root: str | os.PathLike, skip: set[str] | frozenset = frozenset(), max_depth: int = MAX_DEPTH
) -> list[tuple[Path, str]]:
    """Every run directory below ``root`` (or ``root`` itself) as ``(path, kind)``, sorted by path.

    A run directory is not searched further. Directories in ``skip`` (known runs, as
    strings) are neither classified nor searched; hidden directories are skipped.
    """
    found: list[tuple[Path, str]] = []

    def walk(folder: str, depth: int) -> None:
        if folder in skip:
            return
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return
        files, subdirs = [], []
        for e in entries:
            try:
                if e.is_dir(follow_symlinks=False):
                    subdirs.append(e)
                else:
                    files.append(e.name)
            except OSError:
                continue
        kind = _classify(folder, files, subdirs)
        if kind is not None:
            found.append((Path(folder), kind))
            return
        if depth >= max_depth:
            return
        for e in sorted(subdirs, key=lambda e: e.name):
            if not e.name.startswith("."):
                walk(e.path, depth + 1)

    walk(os.fspath(root), 0)
    found.sort(key=lambda item: str(item[0]))
    return found


def _run_name(path: Path, root: Path) -> str:
    if path == root:
        return root.resolve().name or str(root)
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


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
        self.missing: list[Path] = []

    @property
    def bytes_read(self) -> int:
        return sum(s.bytes_read for s in self.states.values())

    def _load_caches(self) -> dict[str, tuple[Path, dict]]:
        cached: dict[str, tuple[Path, dict]] = {}
        if not self.use_cache:
            return cached
        for root in self.logdirs:
            for rel, data in load_cache(root).items():
                path = root / rel if rel != "." else root
                cached.setdefault(str(path), (root, data))
        return cached

    def preload(self) -> bool:
        """Take the runs of the summary caches as they were saved, reading and stat'ing no
        run (a table can show them at once); the next :meth:`scan` checks each of them.
        Returns whether any run was loaded."""
        if self._cache_loaded or self.states:
            return False
        self._cache_loaded = True
        for key, (root, data) in self._load_caches().items():
            path = Path(key)
            state = _state_from_cache(path, _run_name(path, root), root, data)
            if state is not None:
                self.states[key] = state
                self._root_of[key] = root
        return bool(self.states)

    def scan(self, progress: Callable[[], None] | None = None, *, save: bool = True) -> list[Path]:
        """Rescan; return the paths of the runs that changed since the previous scan.

        New runs are read a hundred at a time; ``progress()`` is called between those
        (after the first hundred, then at most every PROGRESS_EVERY seconds), when
        :meth:`summaries` has the runs read so far, so that a first scan of a big
        directory can show them as they come. With ``save=False`` the summary cache is
        left for a :meth:`save_cache` call (after showing the runs: ~0.1 s for 500)."""
        changed: list[Path] = []
        cached = {} if self._cache_loaded else self._load_caches()
        self._cache_loaded = True
        self.missing = [root for root in self.logdirs if not root.is_dir()]
        # known runs: stat only
        alive = []
        for key, state in list(self.states.items()):
            if not state.path.is_dir():
                del self.states[key]
                self._dirty.add(self._root_of.pop(key))
                changed.append(state.path)
            else:
                alive.append((key, state))
        for key, state in _refresh(alive):
            self._dirty.add(self._root_of[key])
            changed.append(state.path)
        # new runs
        fresh = []
        known = set(self.states)
        for root in self.logdirs:
            if root in self.missing:
                continue
            for path, kind in find_run_dirs(root, skip=known):
                key = str(path)
                if key in self.states:
                    continue
                name = _run_name(path, root)
                state = None
                if key in cached:
                    state = _state_from_cache(path, name, root, cached[key][1])
                    if state is not None and state.kind != kind:
                        state = None
                if state is None:
                    state = _STATE_CLASSES[kind](path, name, root)
                    self._dirty.add(root)
                fresh.append((key, state, root))
                known.add(key)
                changed.append(path)
        last = time.monotonic() - PROGRESS_EVERY  # (the first hundred at once)
        for i in range(0, len(fresh), _NEW_RUNS_AT_ONCE):
            chunk = fresh[i : i + _NEW_RUNS_AT_ONCE]
            with hooks.bulk_read():
                read = {key for key, _ in _refresh([(key, state) for key, state, _ in chunk])}
            for key, state, root in chunk:  # (summaries() shows a run once it is read)
                self.states[key] = state
                self._root_of[key] = root
                if key in read:
                    self._dirty.add(root)
            if progress is not None and i + _NEW_RUNS_AT_ONCE < len(fresh) and time.monotonic() - last >= PROGRESS_EVERY:
                progress()
                last = time.monotonic()
        if save:
            self.save_cache()
        return changed

    def save_cache(self) -> None:
        """Write the summary cache of every log directory whose runs changed (when the
        watcher uses the cache)."""
        if not self.use_cache:
            return
        for root in self._dirty:
            runs = {}
            for key, state in self.states.items():
                if self._root_of.get(key) == root:
                    rel = "." if state.path == root else state.path.relative_to(root).as_posix()
                    runs[rel] = state.to_cache()
            save_cache(root, runs)
        self._dirty.clear()

    def summaries(self) -> list[RunSummary]:
        """Every run's summary, oldest first (then by name)."""
        out = [s.summary() for s in self.states.values()]
        out.sort(key=lambda r: (r.start_time if r.start_time is not None else math.inf, r.name))
        return out

    def summary(self, path: str | os.PathLike) -> RunSummary | None:
        state = self.states.get(str(Path(path)))
        return state.summary() if state else None

    def state(self, path: str | os.PathLike) -> RunState | None:
        return self.states.get(str(Path(path)))


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
    state = _STATE_CLASSES[kind](path, _run_name(path, root), root)
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
