"""The config `train` and `sweep` start from: --config FILE (a run's config.json or a RunConfig JSON) or --from RUN."""

from __future__ import annotations

import argparse
import json
import os

from keraslab import core
from keraslab.core import ConfigError, RunConfig

from .argtypes import CliError


def read_config_file(path: str | os.PathLike) -> RunConfig:
    """The RunConfig a file holds: a run's config.json (its ``run`` object) or a plain RunConfig
    JSON object, not validated yet. CliError (one line, exit 2) when the file cannot be read as
    JSON; ConfigError naming the file when it holds no run config."""
    try:
        data = json.loads(core.read_run_text(path))  # (a regular file only: a FIFO never blocks)
    except (OSError, ValueError, RecursionError) as exc:
        raise CliError(f"--config {path}: cannot read JSON ({exc})") from None
    base = data.get("run", data) if isinstance(data, dict) else data
    try:
        return RunConfig.from_dict(base)
    except ConfigError as exc:
        raise ConfigError(f"--config {path}: {exc}") from None


def start_from(args: argparse.Namespace):
    """``(run, config)`` of ``--from RUN``, found as every command finds a run; None without --from."""
    ref = getattr(args, "from_run", None)
    if ref is None:
        return None
    if args.config:
        raise ConfigError("--from and --config both give the starting config; use one")
    (run,) = core.resolve_runs([ref], [core.default_logdir(args.logdir)])
    return run, core.config_of(run)


def start_config(args: argparse.Namespace):
    """``(config, parent)``: the config of ``--from RUN`` (parent: ``(run, its config)``), else
    of ``--config FILE``, else the defaults (parent None for both)."""
    parent = start_from(args)
    if parent is not None:
        return RunConfig.from_dict(parent[1].to_dict()), parent
    if args.config:
        return read_config_file(args.config), None
    return RunConfig(), None
