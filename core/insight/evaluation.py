"""A run's evaluation on its test set: accuracy, per-class scores, confusion matrix, the most
confused pairs, and its mistakes worst first."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .confusion import (
    ClassScore,
    ConfusedPair,
    class_scores,
    confused_pairs,
    confusion_matrix,
    macro_f1,
)
from .predictions import Predictions

TOP_PAIRS = 5


@dataclass(frozen=True)
class Evaluation:
    """What a model gets right and wrong on its test set."""

    class_names: tuple[str, ...]
    confusion: np.ndarray  # (K, K) counts, row = true class, column = predicted
    accuracy: float
    samples: int
    classes: list[ClassScore]
    pairs: list[ConfusedPair]
    macro_f1: float | None

    @property
    def errors(self) -> int:
        return self.samples - int(np.trace(self.confusion))


def evaluate(preds: Predictions, top_pairs: int = TOP_PAIRS) -> Evaluation:
    """The evaluation of a run's (or an ensemble's) predictions."""
    cm = confusion_matrix(preds.y_true, preds.y_pred, preds.num_classes)
    scores = class_scores(cm, preds.class_names)
    return Evaluation(preds.class_names, cm, preds.accuracy, int(len(preds.y_true)), scores,
                      confused_pairs(cm, top_pairs), macro_f1(scores))  # fmt: skip


def mistakes(preds: Predictions, true: int | None = None, pred: int | None = None) -> np.ndarray:
    """Indices of the test samples predicted wrongly (or, with ``true`` and ``pred``, those
    of one confusion-matrix cell), the most confident first: the worst mistakes lead."""
    keep = preds.y_true != preds.y_pred if true is None and pred is None else np.ones(len(preds.y_true), bool)
    if true is not None:
        keep &= preds.y_true == true
    if pred is not None:
        keep &= preds.y_pred == pred
    idx = np.flatnonzero(keep)
    return idx[np.argsort(-preds.confidence[idx], kind="stable")]
