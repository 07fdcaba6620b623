"""A keraslab run's state: config.json, status.json, results.json and metrics.jsonl, read as they change."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..rundir.fileio import MAX_JSON_DEPTH, too_deep
from ..rundir.layout import (
    CONFIG_FILE,
    KERASLAB,
    METRICS_FILE,
    NOTES_FILE,
    RESULTS_FILE,
    STATUS_FILE,
    TAGS_FILE,
)
from ..rundir.metricstats import MetricsTally, MetricStats, add_epoch_records
from ..rundir.reader import (
    RunRecord,
    check_config,
    check_results,
    check_status,
    current_records,
    has_resume,
    iso_timestamp,
    parse_metric_lines,
    parse_run_file,
)
from ..safefile import open_regular, unreadable
from .runstate import (
    HEAD,
    Checked,
    RunState,
    file_head,
    file_sig,
    flatten,
    head_matches,
    is_head,
    is_sig,
    pack_stats,
    stat,
    stats_of,
    unpack_stats,
)
from .summary import RunSummary


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
        self.metrics_head: list[int] | None = None  # see runstate.file_head
        self.epochs = 0
        self.stats: dict[str, MetricStats] = {}
        self.line_warnings = 0
        self._stats_shared = False  # the last summary holds self.stats' objects: copy before adding

    def refresh(self) -> bool:
        changed = []
        folder = str(self.path)
        for name in self.FILES:
            sig = file_sig(stat(f"{folder}/{name}"))
            if sig != self.sigs.get(name, "unset"):
                self.sigs[name] = sig
                changed.append(name)
        if not changed:
            return False
        self._summary = None
        if CONFIG_FILE in changed:
            self.config = self._read_checked(CONFIG_FILE)
        tally = None
        if STATUS_FILE in changed:
            self.status_info = self._read_checked(STATUS_FILE)
            tally = self.status_info.pop("metrics_summary", None)  # (not kept: the stats are)
        if RESULTS_FILE in changed:
            self.results = self._read_checked(RESULTS_FILE)
        if METRICS_FILE in changed:
            self._read_metrics(tally)
        self._read_side_files(changed, [name for name in changed if self.sigs[name] is None])
        return True

    def _read_checked(self, name: str) -> dict[str, Any]:
        """One of the run's JSON files, checked ({} when its stat found none: not opened)."""
        if self.sigs.get(name) is None:
            return {}
        return parse_run_file(name, self._read(name), os.path.join(self.path, name), self._warn)

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
            with open_regular(path) as f:
                head = self.metrics_head
                if self.metrics_offset and not head_matches(f.read(head[0]) if head else b"", head):
                    # another file under the name (a run deleted and trained again): from its start
                    self.metrics_offset, self.epochs, self.stats, self.metrics_head = 0, 0, {}, None
                    self.warnings = [w for w in self.warnings if not w.startswith(str(path))]
                f.seek(self.metrics_offset)
                data = f.read()
        except OSError as exc:
            self._warn(unreadable(path, exc))
            return
        self.bytes_read += len(data)
        first = data[:HEAD] if self.metrics_offset == 0 else None
        records, damaged, end = parse_metric_lines(data)  # a partly written last line waits
        if self.metrics_offset and has_resume(records):  # a resume supersedes records read before
            self.metrics_offset, self.epochs, self.stats, self.metrics_head = 0, 0, {}, None
            self.warnings = [w for w in self.warnings if not w.startswith(str(path))]
            return self._read_metrics()
        records = current_records(records)
        if damaged:
            self.line_warnings += damaged
            self._warn(f"{path}: damaged line(s) skipped")
        if self._stats_shared:
            self.stats, self._stats_shared = {k: v.copy() for k, v in self.stats.items()}, False
        self.epochs += add_epoch_records(self.stats, records, self.epochs)
        self.metrics_offset += end
        if self.metrics_head is None or self.metrics_head[0] < HEAD:
            self.metrics_head = file_head(str(path), first)

    def _take_tally(self, data: Any, path: Path, size: int) -> bool:
        """Take the stats of metrics.jsonl from status.json's tally (rundir.writer.RunWriter keeps it)
        when it covers the file as it is now, byte for byte: the file is not read."""
        try:
            tally = MetricsTally.from_json(data)
        except ValueError:
            return False
        head = file_head(str(path)) if tally.bytes == size else None
        if head is None:
            return False
        self.stats, self.epochs, self.metrics_offset, self.metrics_head = tally.stats, tally.epochs, size, head
        return True

    def _record(self) -> RunRecord:
        return RunRecord(self.path, self.config, self.status_info, [], [], self.results)

    def _status(self) -> str:
        return self._record().status if self.status_info else "unknown"

    def _shared_stats(self) -> dict[str, MetricStats]:
        """The stats for a summary, without copying each: the next read that adds to them
        copies them first (a summary keeps what it was made with)."""
        self._stats_shared = True
        return dict(self.stats)

    def _make_summary(self) -> RunSummary:
        rec = self._record()
        run_cfg = rec.run_config
        hparams: dict[str, Any] = {}
        for key, value in run_cfg.items():
            if key in ("layers", "data_dir", "name", "parent", "diff", "sweep") or value is None:
                continue
            if key == "extra" and isinstance(value, dict):
                flatten("", value, hparams)
                continue
            flatten(key, value, hparams)
        start = iso_timestamp(self.status_info.get("started"))
        test = self.results.get("test") or {}
        val = self.stats.get("val_accuracy")
        return RunSummary(
            name=self.name,
            path=self.path,
            kind=self.kind,
            status=rec.status if self.status_info else "unknown",  # (as _status, without a second record)
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
            metrics=self._shared_stats(),
            tags=list(self.tags),
            notes=self.notes,
            warnings=list(self.warnings),
            logdir=self.logdir,
            parent=run_cfg.get("parent"),
            change=_text((run_cfg.get("diff") or {}).get("summary")),
            sweep=_sweep_id(run_cfg.get("sweep")),
            sweep_point=_sweep_point(run_cfg.get("sweep")),
        )

    def to_cache(self) -> Checked:
        return Checked({
            "kind": self.kind,
            "sigs": self.sigs,
            "config": self.config,
            "status": self.status_info,
            "results": self.results,
            "offset": self.metrics_offset,
            "head": self.metrics_head,
            "epochs": self.epochs,
            "stats": pack_stats(self.stats),
            "warnings": self.warnings,
            "tags": self.tags,
            "notes": self.notes,
        })

    @classmethod
    def from_cache(cls, path: Path, name: str, logdir: Path, data: dict) -> KeraslabRunState:
        """The state a :meth:`to_cache` entry saved; ValueError or TypeError when the entry
        is not one (the cache is a file: checked like the run's own files, unless it is a
        :class:`Checked` one, whose values were checked with their whole column)."""
        self = cls(path, name, logdir)
        if type(data) is Checked:
            self.sigs, self.config, self.status_info = dict(data["sigs"]), data["config"], data["status"]
            self.results, self.metrics_offset, self.metrics_head = data["results"], data["offset"], data["head"]
            self.epochs, self.stats, self.notes = data["epochs"], stats_of(data["stats"]), data["notes"]
            self.warnings, self.tags = list(data["warnings"]), list(data["tags"])
            return self
        sigs, offset, epochs, head = data["sigs"], data["offset"], data["epochs"], data["head"]
        if type(sigs) is not dict or not (sigs.keys() <= _FILES and all(map(is_sig, sigs.values()))):
            raise ValueError("bad file signatures")
        if type(offset) is not int or type(epochs) is not int or min(offset, epochs) < 0 or not is_head(head):
            raise ValueError("bad metrics position")
        problems: list[str] = []
        if too_deep([data["config"], data["status"], data["results"]], MAX_JSON_DEPTH + 1):  # (each one's depth)
            raise ValueError("nested too deeply")
        self.config = check_config(_dict(data["config"]), path, problems.append)
        self.status_info = check_status(_dict(data["status"]), path, problems.append)
        self.results = check_results(_dict(data["results"]), path, problems.append)
        if problems:
            raise ValueError(problems[0])
        self.sigs, self.metrics_offset, self.metrics_head, self.epochs = dict(sigs), offset, head, epochs
        self.stats = unpack_stats(data["stats"])
        self._load_common(data)
        return self


_FILES = frozenset(KeraslabRunState.FILES)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _dict(value: Any) -> dict:
    if not isinstance(value, dict):
        raise TypeError("not a JSON object")
    return value


def _sweep_id(mark: Any) -> str | None:
    """The sweep id a run's config names (untrusted: a string or nothing)."""
    return _text(mark.get("id")) if isinstance(mark, dict) else None


def _sweep_point(mark: Any) -> int | None:
    """The index of the sweep point a run's config names (untrusted: a whole number >= 0 or nothing)."""
    point = mark.get("point") if isinstance(mark, dict) else None
    return point if type(point) is int and point >= 0 else None
