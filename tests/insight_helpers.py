"""Synthetic keraslab runs for the insight tests: config.json by the real run writer and a
test_predictions.npz in the layout a training session writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from keraslab.core import RunConfig, load_dataset
from keraslab.core.rundir.writer import RunWriter, create_run_dir


def fake_run(logdir: Path, name: str, y_true, probs=None, y_pred=None, *, dataset: str = "digits",
             limit: int | None = None, keep_probs: bool = True, class_names=None) -> Path:
    """A finished run whose test predictions are ``probs`` (or ``y_pred`` with confidence 0.9)."""
    run_dir = create_run_dir(logdir, name)
    cfg = RunConfig(dataset=dataset, model="mlp", epochs=1, limit=limit, name=name)
    record = {"run": cfg.to_dict(), "dataset_info": {"name": dataset, "num_classes": None}}
    if class_names is not None:
        record["dataset_info"].update(num_classes=len(class_names), class_names=list(class_names))
    RunWriter(run_dir).write_config(record)
    y_true = np.asarray(y_true)
    arrays = {"y_true": y_true.astype(np.int32)}
    if probs is not None:
        probs = np.asarray(probs, np.float32)
        arrays.update(y_pred=probs.argmax(1).astype(np.int32), confidence=probs.max(1).astype(np.float16))
        if keep_probs:
            arrays["probs"] = probs
    else:
        arrays.update(y_pred=np.asarray(y_pred, np.int32), confidence=np.full(len(y_true), 0.9, np.float16))
    np.savez_compressed(run_dir / "test_predictions.npz", **arrays)
    return run_dir


def digits_labels(limit: int | None = None) -> np.ndarray:
    return load_dataset("digits", limit=limit).y_test
