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


_export("config", "JIT_COMPILE", "LOSSES", "LR_SCHEDULES", "NORMALIZATIONS", "OPTIMIZERS", "PRECISIONS", "RunConfig")
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
_export("model.presets", "PRESETS", "Preset", "Recipe", "get_preset", "recipe_of", "resolve_model")
_export("model.preview", "LayerRow", "Preview", "preview_stack")
_export("model.sketch", "sketch_stack")
_export("train.progress", "BatchProgress", "EpochEnd", "Finished", "Phase", "SessionEvent", "Started", "SystemSample")
# GPU nodes: --device values, system metrics (GPUs, process, host)
_export("system.devices", "DEVICE_HELP", "device_facts", "device_lint_args", "parse_device")
_export("system.sampler", "split_sample", SYSTEM_PREFIX="PREFIX")
_export("rundir.reader", "RunRecord", "load_run")
_export("train.session", "SessionHooks", "TrainingSession", "resolve_stack")
_export("train.command", "config_command", "resume_command")
_export("train.resume", "RESUMABLE", "ResumePoint", "has_last_checkpoint", "resume_point")
_export("rundir.writer", "default_logdir")
# a run's console: output.log kept while it trains, read back in bounded pieces
_export("train.capture", "event_line", capture_process_output="capture_process")
_export("rundir.outputlog", "LogChunk", "read_output_log")
# runs browser: discovery of keraslab and TensorBoard runs, cache, follow, filters, export
_export("browse.curves", "Curve", "RunCurves", "axis_label", "downsample", "load_curves", "load_many_curves", "smooth")
_export("browse.discovery", "RunWatcher", "discover_runs", "load_summary", "oldest_first", "resolve_runs")
_export("browse.finding", "find_run_dirs")
_export("browse.summary", "RunSummary", "metric_name")
_export(
    "browse.tagmap", "set_metric_map", parse_metric_rule="parse_rule", metric_map_file="map_file",
    metric_map_table="describe_table",
)  # fmt: skip
_export("rundir.kind", "run_kind")
_export("rundir.layout", "OUTPUT_LOG", "STATUS_FILE", "STOP_FILE")
_export("rundir.metricstats", "MetricStats")
_export(
    "browse.filters", "COLUMNS", "FilterError", "field_value", "filter_runs", "parse_filter",
    "sort_runs", "unknown_fields",
)  # fmt: skip
_export("browse.export", "EXPORT_FORMATS", "export_runs", "hparam_diff")
# insight: curve diagnosis
_export(
    "insight.diagnosis", "CurveContext", "Diagnosis", "RunDiagnosis", "config_context", "diagnose_curves",
    "diagnose_run", "series_from_records", DIAGNOSIS_CODES="CODES",
)  # fmt: skip
_export("insight.architecture", "run_architecture")
_export("insight.report", "REPORT_FORMATS", "write_report")
_export("insight.labs", LAB_CLAIMS="CLAIMS", LabClaim="LabClaim", lab_claim_config="claim_config",
        lab_recipe_lines="recipe_lines", find_lab_run="find_claim_run")
_export(
    "rundir.meta", "archive_run", "delete_run", "parse_tags", "read_notes", "read_tags",
    "write_notes", "write_tags",
)  # fmt: skip
# the tweak loop: a run's config diffed against its parent's, lineage, Keras models imported as data
_export("tweak", "ConfigDiff", "config_diff", "value_text")
_export("model.stackdiff", "LayerChange", "StackDiff", "diff_stacks")
_export("model.keras_import", "ImportedModel", "import_model", "read_model_config")
_export("browse.lineage", "TreeRow", "config_of", "find_parent", "lineage_tree", "metric_change", "parent_ref")
# sweeps: grids of runs, run locally or as a SLURM job array
_export("sweep.grid", "AXES", "Grid", "make_grid", "parse_values", describe_grid="describe")
_export(
    "sweep.store", "Sweep", "SweepPoint", "create_sweep", "find_sweep", "list_sweeps",
    "find_point_run", "load_sweep", "plan_sweep", "point_run",
)  # fmt: skip
_export("sweep.slurm", "SlurmError", "SlurmOptions", "sbatch_script", "slurm_available", "submit", "write_script")
_export("sweep.local", "LocalPool", "local_launcher", "stop_sweep")
_export("sweep.report", "PointRow", "point_rows", SWEEP_STATES="STATES")
# insight: evaluation on the test set, misclassified samples, image predictions, ensembles
_export("insight.confusion", "ClassScore", "ConfusedPair")
_export("insight.evaluation", "Evaluation", "evaluate", "mistakes")
_export("insight.predictions", "Predictions", "has_saved_predictions", "load_predictions")
_export("insight.samples", "sample_images")
_export("insight.ensemble", "EnsembleResult", "ensemble", "ensemble_runs")
_export("insight.imagefile", "ImagePrediction", "predict_files")

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
    from .browse.tagmap import describe_table as metric_map_table
    from .browse.tagmap import map_file as metric_map_file
    from .browse.tagmap import parse_rule as parse_metric_rule
    from .browse.tagmap import set_metric_map
    from .config import (
        JIT_COMPILE,
        LOSSES,
        LR_SCHEDULES,
        NORMALIZATIONS,
        OPTIMIZERS,
        PRECISIONS,
        RunConfig,
    )
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
    from .insight.architecture import run_architecture
    from .insight.confusion import ClassScore, ConfusedPair
    from .insight.diagnosis import CODES as DIAGNOSIS_CODES
    from .insight.diagnosis import (
        CurveContext,
        Diagnosis,
        RunDiagnosis,
        config_context,
        diagnose_curves,
        diagnose_run,
        series_from_records,
    )
    from .insight.ensemble import EnsembleResult, ensemble, ensemble_runs
    from .insight.evaluation import Evaluation, evaluate, mistakes
    from .insight.imagefile import ImagePrediction, predict_files
    from .insight.labs import CLAIMS as LAB_CLAIMS
    from .insight.labs import LabClaim
    from .insight.labs import claim_config as lab_claim_config
    from .insight.labs import find_claim_run as find_lab_run
    from .insight.labs import recipe_lines as lab_recipe_lines
    from .insight.predictions import Predictions, has_saved_predictions, load_predictions
    from .insight.report import REPORT_FORMATS, write_report
    from .insight.samples import sample_images
    from .model.layers import LayerSpec, output_is_probabilities
    from .model.lint import Finding, lint_stack
    from .model.notation import format_stack, parse_stack, stack_from_json, stack_to_json
    from .model.presets import PRESETS, Preset, Recipe, get_preset, recipe_of, resolve_model
    from .model.preview import LayerRow, Preview, preview_stack
    from .model.sketch import sketch_stack
    from .rundir.kind import run_kind
    from .rundir.layout import OUTPUT_LOG, STATUS_FILE, STOP_FILE
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
    from .rundir.outputlog import LogChunk, read_output_log
    from .rundir.reader import RunRecord, load_run
    from .rundir.writer import default_logdir
    from .safefile import read_bytes as read_run_bytes
    from .safefile import read_text as read_run_text
    from .system.devices import DEVICE_HELP, device_facts, device_lint_args, parse_device
    from .system.sampler import PREFIX as SYSTEM_PREFIX
    from .system.sampler import split_sample
    from .train.capture import capture_process as capture_process_output
    from .train.command import config_command, resume_command
    from .train.progress import (
        BatchProgress,
        EpochEnd,
        Finished,
        Phase,
        SessionEvent,
        Started,
        SystemSample,
    )
    from .train.resume import (
        RESUMABLE,
        ResumePoint,
        has_last_checkpoint,
        resume_point,
    )
    from .train.session import SessionHooks, TrainingSession, resolve_stack
