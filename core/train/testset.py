"""A run's end on its test set: metrics of the best weights and the predictions kept for
confusion matrices and ensembles (test_predictions.npz), then results.json."""

from __future__ import annotations

import numpy as np

from ..config import RunConfig
from ..data.datasets import Dataset
from ..errors import KeraslabError
from ..rundir.fileio import writing
from ..rundir.layout import PREDICTIONS_FILE
from ..rundir.writer import RunWriter


def evaluate_test(model, bridge, data: Dataset, config: RunConfig, writer: RunWriter, *,
                  from_logits: bool) -> dict[str, float]:
    """Restore the best weights (``bridge``), evaluate them on the test set, save every test
    sample's class probabilities and write the run's results; the test metrics."""
    from .optim import needs_one_hot
    from .predict import as_probabilities

    bridge.finish_checkpoint()
    test: dict[str, float] = {}
    if data.x_test.shape[0]:
        y_test = data.y_test
        if needs_one_hot(config):
            y_test = np.eye(data.info.num_classes, dtype="float32")[y_test]
        values = model.evaluate(data.x_test, y_test, batch_size=config.batch_size, verbose=0, return_dict=True)
        test = {k: float(v) for k, v in values.items()}
        outputs = model.predict(data.x_test, batch_size=config.batch_size, verbose=0)
        _save_predictions(writer.run_dir / PREDICTIONS_FILE, data.y_test, as_probabilities(outputs, from_logits))
    writer.write_results(
        {
            "test": test,
            "best_epoch": bridge.best_epoch,
            "monitor": bridge.monitor,
            "best_value": bridge.best_value,
            "epochs_done": bridge.epochs_done,
            "checkpoint": writer.checkpoint_path.name,
        }
    )
    return test


def _save_predictions(path, y_true: np.ndarray, probs: np.ndarray) -> None:
    try:
        with writing(path):
            np.savez_compressed(
                path,
                y_true=y_true.astype(np.int32),
                y_pred=probs.argmax(axis=-1).astype(np.int32),
                confidence=probs.max(axis=-1).astype(np.float16),
                probs=probs,  # every class's probability, for ensembles
            )
    except KeraslabError:
        path.unlink(missing_ok=True)  # (not a torn file)
        raise
