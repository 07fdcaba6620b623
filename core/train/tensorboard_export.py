"""What a keraslab run tells TensorBoard beyond its scalars: HParams session data and the Keras model graph."""

from __future__ import annotations

import warnings
from typing import Any

from ..config import RunConfig
from ..rundir.writer import RunWriter
from ..tfevents import is_event_file


def run_hparams(config: RunConfig, notation: str, params: int) -> dict[str, Any]:
    """The hyperparameters TensorBoard's HParams table shows for a run (precision when the config has one)."""
    hparams: dict[str, Any] = {
        "dataset": config.dataset,
        "model": notation,
        "params": params,
        "optimizer": config.optimizer,
        "learning_rate": config.learning_rate,
        "lr_schedule": config.lr_schedule,
        "batch_size": config.batch_size,
        "epochs": config.epochs,
        "loss": config.loss,
        "seed": config.seed,
        "precision": config.precision,
    }
    return hparams


def write_start(writer: RunWriter, config: RunConfig, notation: str, model) -> None:
    """At the start of training: the HParams session start and the model graph (a model that
    cannot be serialized as JSON is skipped, as Keras' callback skips it)."""
    writer.write_hparams(run_hparams(config, notation, int(model.count_params())))
    try:
        model_json = model.to_json()
    except Exception as exc:  # noqa: BLE001 - as keras.callbacks.TensorBoard: a warning, no graph
        warnings.warn(f"the model's graph is not written for TensorBoard: {exc}", stacklevel=2)
        return
    writer.write_keras_model(model_json)


def write_end(writer: RunWriter, status: str, test: dict[str, float], epochs_done: int) -> None:
    """At the end: the test metrics as ``test_<name>`` scalars and the HParams session end
    (when the run's session started: a run that failed before its model was built has none)."""
    if not any(is_event_file(p.name) for p in writer.run_dir.iterdir()):
        return
    final = {f"test_{k}": v for k, v in test.items() if isinstance(v, (int, float))}
    writer.end_hparams(status, final, max(0, epochs_done - 1))
