"""keraslab.core: the engine (datasets, layer stacks, training sessions, run store); no UI imports.

This module is the public API: the TUI and CLI import only names listed here.
Names load on first use (PEP 562), so ``import keraslab.core`` costs almost
nothing and the app paints before numpy, protobuf or Keras are imported.
Nothing here imports TensorFlow or Keras; they load on first training.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> (submodule, attribute in it)
_EXPORTS: dict[str, tuple[str, str]] = {}


def _export(module: str, *names: str, **renamed: str) -> None:
    for name in names:
        _EXPORTS[name] = (module, name)
    for public, attr in renamed.items():
        _EXPORTS[public] = (module, attr)


_export("config", "LOSSES", "LR_SCHEDULES", "NORMALIZATIONS", "OPTIMIZERS", "RunConfig")
_export("hooks", "set_bulk_read")
_export("safefile", read_run_bytes="read_bytes", read_run_text="read_text")
_export("errors", "ConfigError", "DatasetError", "KeraslabError", "RunStoreError", "SpecError")
_export(
    "data.datasets", "DATASETS", "Availability", "Dataset", "DatasetInfo", "availability",
    "keras_cache_dir", "list_datasets", "load_dataset", get_dataset_info="get_info",
)  # fmt: skip
_export("model.layers", "LayerSpec", "output_is_probabilities")
_export("model.lint", "Finding", "lint_stack")
_export("model.notation", "format_stack", "parse_stack", "stack_from_json", "stack_to_json")
_export("model.presets", "PRESETS", "Preset", "get_preset", "resolve_model")
_export("model.preview", "LayerRow", "Preview", "preview_stack")
_export("train.progress", "BatchProgress", "EpochEnd", "Finished", "Phase", "SessionEvent", "Started")
_export("rundir.reader", "RunRecord", "load_run")
_export("train.session", "SessionHooks", "TrainingSession", "config_command", "resolve_stack")
_export("train.resume", "RESUMABLE", "ResumePoint", "has_last_checkpoint", "resume_command", "resume_point")
_export("rundir.writer", "default_logdir")
# runs browser: discovery of keraslab and TensorBoard runs, cache, follow, filters, export
_export("browse.curves", "Curve", "RunCurves", "axis_label", "downsample", "load_curves", "load_many_curves", "smooth")
_export("browse.discovery", "RunWatcher", "discover_runs", "load_summary", "oldest_first", "resolve_runs")
_export("browse.finding", "find_run_dirs")
_export("browse.summary", "RunSummary", "metric_name")
_export("rundir.kind", "run_kind")
_export("rundir.layout", "STATUS_FILE", "STOP_FILE")
_export("rundir.metricstats", "MetricStats")
_export(
    "browse.filters", "COLUMNS", "FilterError", "field_value", "filter_runs", "parse_filter",
    "sort_runs", "unknown_fields",
)  # fmt: skip
_export("browse.export", "EXPORT_FORMATS", "export_runs", "hparam_diff")
_export(
    "rundir.meta", "archive_run", "delete_run", "parse_tags", "read_notes", "read_tags",
    "write_notes", "write_tags",
)  # fmt: skip

__all__ = sorted([*_EXPORTS, "__version__"])


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib import metadata

        try:
            version = metadata.version("keraslab")
        except metadata.PackageNotFoundError:  # running from a source tree
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'keraslab.core' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # for type checkers and editors: the same names, eagerly
    from .browse.curves import (
        Curve,
        RunCurves,
        axis_label,
        downsample,
        load_curves,
        load_many_curves,
        smooth,
    )
    from .browse.discovery import (
        RunWatcher,
        discover_runs,
        load_summary,
        oldest_first,
        resolve_runs,
    )
    from .browse.export import EXPORT_FORMATS, export_runs, hparam_diff
    from .browse.filters import (
        COLUMNS,
        FilterError,
        field_value,
        filter_runs,
        parse_filter,
        sort_runs,
        unknown_fields,
    )  # fmt: skip
    from .browse.finding import find_run_dirs
    from .browse.summary import RunSummary, metric_name
    from .config import LOSSES, LR_SCHEDULES, NORMALIZATIONS, OPTIMIZERS, RunConfig
    from .data.datasets import (
        DATASETS,
        Availability,
        Dataset,
        DatasetInfo,
        availability,
        keras_cache_dir,
        list_datasets,
        load_dataset,
    )  # fmt: skip
    from .data.datasets import get_info as get_dataset_info
    from .errors import ConfigError, DatasetError, KeraslabError, RunStoreError, SpecError
    from .hooks import set_bulk_read
    from .model.layers import LayerSpec, output_is_probabilities
    from .model.lint import Finding, lint_stack
    from .model.notation import format_stack, parse_stack, stack_from_json, stack_to_json
    from .model.presets import PRESETS, Preset, get_preset, resolve_model
    from .model.preview import LayerRow, Preview, preview_stack
    from .rundir.kind import run_kind
    from .rundir.layout import STATUS_FILE, STOP_FILE
    from .rundir.meta import (
        archive_run,
        delete_run,
        parse_tags,
        read_notes,
        read_tags,
        write_notes,
        write_tags,
    )  # fmt: skip
    from .rundir.metricstats import MetricStats
    from .rundir.reader import RunRecord, load_run
    from .rundir.writer import default_logdir
    from .safefile import read_bytes as read_run_bytes
    from .safefile import read_text as read_run_text
    from .train.progress import BatchProgress, EpochEnd, Finished, Phase, SessionEvent, Started
    from .train.resume import (
        RESUMABLE,
        ResumePoint,
        has_last_checkpoint,
        resume_command,
        resume_point,
    )
    from .train.session import SessionHooks, TrainingSession, config_command, resolve_stack
