"""keraslab.core: the engine (datasets, layer stacks, training sessions, run store); no UI imports.

This module is the public API: the TUI and CLI import only names listed here.
Nothing here imports TensorFlow or Keras; they load on first training.
"""

from importlib import metadata as _metadata

from .config import LOSSES, LR_SCHEDULES, NORMALIZATIONS, OPTIMIZERS, RunConfig

# Runs browser: discovery of keraslab and TensorBoard runs, cache, follow, filters, export.
from .curves import Curve, RunCurves, downsample, load_curves, smooth
from .datasets import (
    DATASETS,
    Availability,
    Dataset,
    DatasetInfo,
    availability,
    keras_cache_dir,
    list_datasets,
    load_dataset,
)
from .datasets import get_info as get_dataset_info
from .discovery import (
    MetricStats,
    RunSummary,
    RunWatcher,
    discover_runs,
    find_run_dirs,
    load_summary,
    metric_name,
    resolve_runs,
    run_kind,
)
from .errors import ConfigError, DatasetError, KeraslabError, RunStoreError, SpecError
from .filters import (
    COLUMNS,
    FilterError,
    field_value,
    filter_runs,
    parse_filter,
    sort_runs,
    unknown_fields,
)
from .layers import LayerSpec, output_is_probabilities
from .lint import Finding, lint_stack
from .notation import format_stack, parse_stack, stack_from_json, stack_to_json
from .presets import PRESETS, Preset, get_preset, resolve_model
from .preview import LayerRow, Preview, preview_stack
from .progress import BatchProgress, EpochEnd, Finished, Phase, SessionEvent, Started
from .runexport import EXPORT_FORMATS, export_runs, hparam_diff
from .runmeta import (
    archive_run,
    delete_run,
    parse_tags,
    read_notes,
    read_tags,
    write_notes,
    write_tags,
)
from .runs import RunRecord, find_runs, load_run, resolve_run
from .session import TrainingSession, config_command, resolve_stack
from .store import default_logdir

try:
    __version__ = _metadata.version("keraslab")
except _metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"

__all__ = [name for name in dir() if not name.startswith("_")]
