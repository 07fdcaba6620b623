"""Run directory, reading side: keraslab's files checked by type, metrics lines, and a keraslab run read whole."""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import RunStoreError
from ..safefile import read_text
from .fileio import Warn, check_fields, fields_typed, parse_json, read_file, values_typed
from .layout import (
    CONFIG_FILE,
    METRICS_FILE,
    RESULTS_FILE,
    RESUME_RECORD,
    STATUS_FILE,
    SUMMARY_FILE,
)

HEARTBEAT_STALE_S = 120.0
_NUMBER = (int, float)

# The fields of keraslab's files that keraslab reads, with the types it reads them as;
# any other value there is dropped with a warning (the run still shows).
_CONFIG_TYPES = {"run": (dict,), "model_label": (str,), "model_info": (dict,), "device": (str,),
                 "reproduce": (str,)}  # fmt: skip
_RUN_CONFIG_TYPES = {"dataset": (str,), "model": (str,), "epochs": (int,), "parent": (str,), "diff": (dict,)}
_MODEL_INFO_TYPES = {"params": (int,), "notation": (str,)}
_STATUS_TYPES = {"status": (str,), "started": (str,), "ended": (str,), "heartbeat": _NUMBER,
                 "pid": (int,), "host": (str,), "reason": (str,)}  # fmt: skip
_RESULTS_TYPES = {"test": (dict,), "best_epoch": (int,)}


def check_config(data: dict, path: str | os.PathLike, warn: Warn) -> dict:
    """config.json's content with every field keraslab reads of the type it reads it as."""
    data = check_fields(data, _CONFIG_TYPES, path, warn)
    if isinstance(data.get("run"), dict):
        data["run"] = check_fields(data["run"], _RUN_CONFIG_TYPES, f"{path}: run", warn)
    if isinstance(data.get("model_info"), dict):
        data["model_info"] = check_fields(data["model_info"], _MODEL_INFO_TYPES, f"{path}: model_info", warn)
    return data


def check_status(data: dict, path: str | os.PathLike, warn: Warn) -> dict:
    """status.json's content with every field keraslab reads of the type it reads it as."""
    return check_fields(data, _STATUS_TYPES, path, warn)


def check_results(data: dict, path: str | os.PathLike, warn: Warn) -> dict:
    """results.json's content; its ``test`` metrics are numbers."""
    data = check_fields(data, _RESULTS_TYPES, path, warn)
    test = data.get("test")
    if isinstance(test, dict):
        data["test"] = check_fields(test, dict.fromkeys(test, _NUMBER), f"{path}: test", warn)
    return data


def all_checked(configs: list[dict], statuses: list[dict], results: list[dict]) -> bool:
    """Whether check_config, check_status and check_results would keep these contents of
    many runs' files whole (the summary cache's, saved checked): each field checked once
    across all of them."""
    runs = [c["run"] for c in configs if type(c.get("run")) is dict]
    infos = [c["model_info"] for c in configs if type(c.get("model_info")) is dict]
    tests = [v for r in results if type(t := r.get("test")) is dict for v in t.values()]
    return (fields_typed(configs, _CONFIG_TYPES) and fields_typed(runs, _RUN_CONFIG_TYPES)
            and fields_typed(infos, _MODEL_INFO_TYPES) and fields_typed(statuses, _STATUS_TYPES)
            and fields_typed(results, _RESULTS_TYPES) and values_typed(tests, _NUMBER))  # fmt: skip


CHECKS = {CONFIG_FILE: check_config, STATUS_FILE: check_status, RESULTS_FILE: check_results}


def parse_run_file(name: str, data: bytes | None, path: str | os.PathLike, warn: Warn) -> dict:
    """config.json, status.json or results.json (``name``) from its bytes, checked."""
    return CHECKS[name](parse_json(data, path, warn), path, warn)


_decode_json = json.JSONDecoder().raw_decode


def parse_metric_lines(data: bytes) -> tuple[list[dict[str, Any]], int, int]:
    """Parse metrics.jsonl bytes: (records, damaged line count, bytes consumed).

    Only complete lines count; a last line without its newline is still being
    written, so it is left for the next read (``consumed`` stops before it).
    Each line is decoded on its own (one JSON value filling the line, or the line is
    damaged) by the decoder's raw_decode, which skips json.loads' per-call encoding
    detection and trailing-text check (the end offset checks that here).
    """
    consumed = data.rfind(b"\n") + 1
    records: list[dict[str, Any]] = []
    damaged = 0
    for raw in data[:consumed].split(b"\n"):
        line = raw.strip()
        if not line:
            continue
        try:
            text = line.decode("utf-8")
            record, end = _decode_json(text)
        except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
            damaged += 1
            continue
        if end != len(text):  # more after the value: "{...} {...}", "{...}, {...}"
            damaged += 1
        elif isinstance(record, dict):
            records.append(record)
    return records, damaged, consumed


def has_resume(records: list[dict[str, Any]]) -> bool:
    """Whether a resume marker is among ``records``."""
    return any(r.get("type") == RESUME_RECORD for r in records)


def current_records(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``records`` (a metrics.jsonl file from its start) without those a resume superseded: a
    resume marker at epoch N drops the epoch and batch records before it past epoch N (trained
    after the checkpoint it resumed from, then lost with the interruption), so each epoch's
    record is its last one."""
    if not has_resume(records):
        return records
    out: list[dict[str, Any]] = []
    for record in records:
        at = record.get("resumed_at_epoch")
        if record.get("type") == RESUME_RECORD and type(at) is int:
            out = [r for r in out if not _past(r, at)]
        out.append(record)
    return out


def _past(record: dict[str, Any], epoch: int) -> bool:
    """An epoch or batch record of a point after ``epoch`` (batch records' epoch is fractional)."""
    at = record.get("epoch")
    return record.get("type") in ("epoch", "batch") and type(at) in (int, float) and at > epoch


def read_metric_records(path: Path, warnings: list[str]) -> list[dict[str, Any]]:
    """Every current complete record of a metrics.jsonl file (:func:`current_records`);
    damage becomes a warning."""
    data = read_file(path, warnings.append)
    if data is None:
        return []
    records, damaged, _ = parse_metric_lines(data)
    if damaged:
        warnings.append(f"{path}: {damaged} damaged line(s) skipped")
    return current_records(records)


def _read_metrics(path: Path, warnings: list[str]) -> tuple[list[dict], list[dict]]:
    records = read_metric_records(path, warnings)
    epochs = [r for r in records if r.get("type") == "epoch"]
    batches = [r for r in records if r.get("type") == "batch"]
    return epochs, batches


def iso_timestamp(text: Any) -> float | None:
    """The POSIX time of an ISO date-time text (None when it is not one)."""
    try:
        return datetime.fromisoformat(text).timestamp()
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (another user's process counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


@dataclass
class RunRecord:
    """One run as read from disk: config, status, per-epoch metrics and results."""

    path: Path
    config: dict[str, Any]
    status_info: dict[str, Any]
    epochs: list[dict[str, Any]]
    batches: list[dict[str, Any]]
    results: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def status(self) -> str:
        """The run's state; 'running' with a stale heartbeat or a dead local pid is 'interrupted'."""
        state = self.status_info.get("status", "unknown")
        if state != "running":
            return state
        heartbeat = self.status_info.get("heartbeat") or 0
        if time.time() - float(heartbeat) > HEARTBEAT_STALE_S:
            return "interrupted"
        pid = self.local_pid
        if pid is not None and not pid_alive(pid):
            return "interrupted"
        return state

    @property
    def local_pid(self) -> int | None:
        """The pid status.json names when it is another process of this host, else None."""
        pid = self.status_info.get("pid")
        if self.status_info.get("host") == socket.gethostname() and type(pid) is int and pid != os.getpid():
            return pid
        return None

    @property
    def run_config(self) -> dict[str, Any]:
        return self.config.get("run", {})

    @property
    def dataset(self) -> str:
        return str(self.run_config.get("dataset", "?"))

    @property
    def model(self) -> str:
        return str(self.config.get("model_label") or self.run_config.get("model", "?"))

    @property
    def params(self) -> int | None:
        return self.config.get("model_info", {}).get("params")

    @property
    def epochs_done(self) -> int:
        return len(self.epochs)

    @property
    def epochs_planned(self) -> int | None:
        return self.run_config.get("epochs")

    def metric(self, key: str) -> list[float | None]:
        return [e.get(key) for e in self.epochs]

    def best(self, key: str, mode: str = "max") -> float | None:
        values = [v for v in self.metric(key) if isinstance(v, (int, float))]
        if not values:
            return None
        return max(values) if mode == "max" else min(values)

    @property
    def best_val_accuracy(self) -> float | None:
        return self.best("val_accuracy")

    @property
    def test_accuracy(self) -> float | None:
        return self.results.get("test", {}).get("accuracy")

    @property
    def test_loss(self) -> float | None:
        return self.results.get("test", {}).get("loss")

    @property
    def started(self) -> str | None:
        return self.status_info.get("started")

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to the last heartbeat while running)."""
        start = iso_timestamp(self.status_info.get("started"))
        if start is None:
            return None
        ended = self.status_info.get("ended")
        if ended:
            end = iso_timestamp(ended)
            return None if end is None else end - start
        heartbeat = self.status_info.get("heartbeat")
        return float(heartbeat) - start if heartbeat else None

    @property
    def summary_text(self) -> str:
        try:
            return read_text(self.path / SUMMARY_FILE)
        except OSError:
            return ""


def load_run(path: str | os.PathLike) -> RunRecord:
    """Read a keraslab run directory. Damaged files become warnings, never exceptions."""
    path = Path(path)
    if not path.is_dir():
        raise RunStoreError(f"{path}: no such run directory")
    warnings: list[str] = []
    config, status, results = (
        parse_run_file(name, read_file(path / name, warnings.append), path / name, warnings.append)
        for name in (CONFIG_FILE, STATUS_FILE, RESULTS_FILE)
    )
    epochs, batches = _read_metrics(path / METRICS_FILE, warnings)
    return RunRecord(path, config, status, epochs, batches, results, warnings)
