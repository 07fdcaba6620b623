"""Confusion matrix arithmetic: per-class precision/recall/F1 and the most-confused class pairs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClassScore:
    """One class's test-set scores; a score with nothing to divide by is None (never a 0 that
    reads like a result)."""

    index: int
    name: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # test samples of this class


@dataclass(frozen=True)
class ConfusedPair:
    """Two classes the model mixes up: how often each was predicted as the other."""

    a: int
    b: int
    a_as_b: int  # samples of class a predicted as b
    b_as_a: int

    @property
    def total(self) -> int:
        return self.a_as_b + self.b_as_a


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """``(K, K)`` counts: row = true class, column = predicted class."""
    flat = np.asarray(y_true, np.int64) * num_classes + np.asarray(y_pred, np.int64)
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def _ratio(num: int, den: int) -> float | None:
    return float(num) / float(den) if den else None


def class_scores(cm: np.ndarray, names: Sequence[str]) -> list[ClassScore]:
    """Precision, recall and F1 of each class from a confusion matrix."""
    hits, support, predicted = np.diag(cm), cm.sum(axis=1), cm.sum(axis=0)
    out = []
    for k, name in enumerate(names):
        p, r = _ratio(hits[k], predicted[k]), _ratio(hits[k], support[k])
        f1 = 2 * p * r / (p + r) if p is not None and r is not None and p + r > 0 else (
            0.0 if p is not None and r is not None else None
        )
        out.append(ClassScore(k, name, p, r, f1, int(support[k])))
    return out


def confused_pairs(cm: np.ndarray, top: int = 5) -> list[ConfusedPair]:
    """The ``top`` class pairs with most samples mistaken one for the other (either way),
    most first; pairs never confused are left out."""
    both = cm + cm.T
    a, b = np.triu_indices(cm.shape[0], k=1)
    counts = both[a, b]
    order = np.argsort(-counts, kind="stable")
    pairs = []
    for i in order[:top]:
        if counts[i] == 0:
            break
        x, y = int(a[i]), int(b[i])
        if cm[y, x] > cm[x, y]:  # the bigger direction first
            x, y = y, x
        pairs.append(ConfusedPair(x, y, int(cm[x, y]), int(cm[y, x])))
    return pairs


def macro_f1(scores: Sequence[ClassScore]) -> float | None:
    """The mean F1 of the classes that have test samples."""
    values = [s.f1 for s in scores if s.support and s.f1 is not None]
    return float(np.mean(values)) if values else None
