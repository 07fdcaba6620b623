"""Comparing and exporting runs: hyperparameter diff and csv/json/md export of metrics and configs."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, KeraslabError
from ..rundir.fileio import no_warning, read_json
from ..rundir.layout import CONFIG_FILE, KERASLAB

if TYPE_CHECKING:
    from .summary import RunSummary

# (curves, the reading side, loads when runs are compared or exported: the CLI's parser
# names EXPORT_FORMATS at every start, the app's included)

EXPORT_FORMATS = ("csv", "json", "md")
_ABSENT = object()


def hparam_diff(runs: Sequence[RunSummary]) -> list[tuple[str, list[Any]]]:
    """The hyperparameters whose values differ between runs: ``[(key, [value per run]), ...]``.

    A key missing from some runs counts as differing (its value is None there).
    """
    keys: dict[str, None] = {}
    for r in runs:
        keys.update(dict.fromkeys(r.hparams))
    out = []
    for key in keys:
        values = [r.hparams.get(key, _ABSENT) for r in runs]
        if len({json.dumps(v, sort_keys=True, default=str) for v in values if v is not _ABSENT}) > 1 or (
            _ABSENT in values and len(runs) > 1
        ):
            out.append((key, [None if v is _ABSENT else v for v in values]))
    return out


def _config(run: RunSummary) -> dict[str, Any]:
    """A keraslab run's config.json as it is ({} for another kind, or when damaged: the
    run's summary carries the warning)."""
    if run.kind != KERASLAB:
        return {}
    return read_json(run.path / CONFIG_FILE, no_warning)


def _num(v: float) -> float | None:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def export_runs(runs: Sequence[RunSummary], fmt: str, *, curves: bool = True) -> str:
    """Metrics and configs of runs as text in ``fmt`` (csv, json or md).

    csv: one row per (run, metric, point) with the run's hyperparameters as ``hp.*``
    columns; json: each run's summary, full config and curves; md: a summary table,
    the differing hyperparameters and each run's per-epoch metrics.
    """
    if fmt not in EXPORT_FORMATS:
        raise ConfigError(f"unknown export format {fmt!r} (use {', '.join(EXPORT_FORMATS)})")
    loaded: dict = {r.path: None for r in runs}
    if curves:
        from .curves import load_many_curves

        for r, c in zip(runs, load_many_curves([r.path for r in runs]), strict=True):
            if isinstance(c, KeraslabError):
                raise c
            loaded[r.path] = c
    if fmt == "json":
        out = []
        for r in runs:
            item = r.to_dict()
            item["config"] = _config(r)
            rc = loaded[r.path]
            if rc is not None:
                item["curves"] = {
                    name: {
                        "step": c.steps,
                        "epoch": c.epochs,
                        "wall_time": c.wall_times,
                        "value": [_num(v) for v in c.values],
                    }
                    for name, c in rc.curves.items()
                }
            out.append(item)
        return json.dumps(out, indent=2, default=str) + "\n"
    if fmt == "csv":
        hp_keys = list(dict.fromkeys(k for r in runs for k in r.hparams))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["run", "path", "kind", "metric", "step", "epoch", "wall_time", "value",
                    *(f"hp.{k}" for k in hp_keys)])  # fmt: skip
        for r in runs:
            hps = [r.hparams.get(k, "") for k in hp_keys]
            rc = loaded[r.path]
            if rc is None:
                continue
            for name, c in rc.curves.items():
                for s, e, t, v in zip(c.steps, c.epochs, c.wall_times, c.values, strict=True):
                    w.writerow([r.name, str(r.path), r.kind, name, s, e, f"{t:.3f}", repr(v), *hps])
        return buf.getvalue()
    return _markdown(runs, loaded)


def _md_text(text: Any) -> str:
    """Text on one Markdown line that cannot end a table cell: ``|`` escaped, line breaks
    as spaces (names, paths and values come from files)."""
    return " ".join(str(text).replace("\\", "\\\\").replace("|", "\\|").splitlines())


def _cell(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e-3 or abs(v) >= 1e5 else f"{v:.4f}"
    return _md_text(v)


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _markdown(runs: Sequence[RunSummary], loaded: dict) -> str:
    parts = ["# keraslab runs\n"]
    parts.append(
        _md_table(
            ["run", "kind", "status", "dataset", "model", "params", "epochs", "best val acc",
             "test acc", "started"],  # fmt: skip
            [[r.name, r.kind, r.status, r.dataset, r.model, r.params, r.epochs,
              r.best_val_accuracy, r.test_accuracy, r.started] for r in runs],  # fmt: skip
        )
    )
    diff = hparam_diff(runs)
    if len(runs) > 1 and diff:
        parts.append("\n## Hyperparameters that differ\n")
        parts.append(_md_table(["hyperparameter", *(r.name for r in runs)], [[k, *v] for k, v in diff]))
    for r in runs:
        parts.append(f"\n## {_md_text(r.name)}\n")
        parts.append(f"`{_md_text(r.path)}`\n")
        if r.hparams:
            parts.append(_md_table(["hyperparameter", "value"], sorted(r.hparams.items())))
        rc = loaded.get(r.path)
        if rc is None:
            continue
        epoch_curves = {n: c for n, c in rc.curves.items() if not n.startswith("batch/")}
        if not epoch_curves:
            continue
        names = list(epoch_curves)
        by_x: dict[float, dict[str, float]] = {}
        for n, c in epoch_curves.items():
            for x, v in zip(c.epochs, c.values, strict=True):
                by_x.setdefault(x, {})[n] = v
        parts.append("")
        parts.append(
            _md_table(["epoch", *names], [[x, *(by_x[x].get(n) for n in names)] for x in sorted(by_x)])
        )
        for w in r.warnings:
            parts.append(f"\n> warning: {_md_text(w)}")
    return "\n".join(parts) + "\n"
