"""A keraslab run's architecture as recorded in its config.json: layer stack, input shape and class count."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import RunStoreError
from ..model.notation import stack_from_json
from ..rundir.kind import run_kind
from ..rundir.layout import KERASLAB
from ..rundir.reader import load_run


def run_architecture(path: str | os.PathLike):
    """``(stack, input_shape, num_classes)`` of a keraslab run, parsed by type from its
    config.json (SpecError/RunStoreError with one line when it is missing or damaged)."""
    path = Path(path)
    kind = run_kind(path)
    if kind != KERASLAB:
        raise RunStoreError(f"{path.name}: a {kind or 'non-run'} directory records no keraslab layer stack")
    config = load_run(path).config
    info, ds = config.get("model_info"), config.get("dataset_info")
    if not isinstance(info, dict) or not isinstance(ds, dict) or "layers" not in info:
        raise RunStoreError(f"{path.name}: config.json has no model yet (the run has not started training)")
    shape, classes = ds.get("input_shape"), ds.get("num_classes")
    if not (isinstance(shape, list) and all(type(d) is int for d in shape) and type(classes) is int):
        raise RunStoreError(f"{path.name}: config.json's dataset_info is damaged")
    return stack_from_json(info["layers"]), tuple(shape), classes
