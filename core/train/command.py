"""The `keraslab train` command lines that reproduce a run: from its config, or resuming it."""

from __future__ import annotations

import os
import shlex

from ..config import RunConfig


def config_command(config: RunConfig) -> str:
    """A `keraslab train` command line that reproduces this config."""
    defaults = RunConfig()
    parts = ["keraslab", "train", "--dataset", config.dataset]
    if config.layers is None:
        parts += ["--model", config.model]
    for key, value in config.to_dict().items():
        if key in ("extra", "layers", "dataset", "model", "parent", "diff", "sweep"):
            continue
        if value == getattr(defaults, key) or value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            parts.append(flag if value else f"--no-{key.replace('_', '-')}")
        else:
            parts += [flag, str(value)]
    if config.layers is not None:
        from ..model.notation import format_stack, stack_from_json

        parts += ["--model", format_stack(stack_from_json(config.layers))]
    return shlex.join(parts)


def resume_command(run_dir: str | os.PathLike) -> str:
    """The command line that resumes ``run_dir`` (recorded in the run's resume history)."""
    return shlex.join(["keraslab", "train", "--resume", os.fspath(run_dir)])
