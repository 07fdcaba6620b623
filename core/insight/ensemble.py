"""Ensembles: runs tested on the same test set, their class probabilities averaged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from .evaluation import Evaluation, evaluate
from .predictions import Predictions, load_predictions


@dataclass(frozen=True)
class EnsembleResult:
    """The members' predictions (in the order given), the ensemble's, and its evaluation."""

    members: list[Predictions]
    predictions: Predictions
    evaluation: Evaluation


def _same_test_set(members: Sequence[Predictions]) -> None:
    first = members[0]
    for m in members[1:]:
        a, b = first.config, m.config
        if a.dataset != b.dataset:
            raise ConfigError(
                f"{m.run_dir.name} was tested on {b.dataset}, {first.run_dir.name} on {a.dataset}; "
                "an ensemble needs runs on one dataset"
            )
        if (a.limit != b.limit or m.y_true.shape != first.y_true.shape
                or not np.array_equal(m.y_true, first.y_true) or m.num_classes != first.num_classes):  # fmt: skip
            raise ConfigError(
                f"{m.run_dir.name} and {first.run_dir.name} were tested on different test sets "
                f"({len(m.y_true)} and {len(first.y_true)} samples, --limit {b.limit} and {a.limit})"
            )


def ensemble(members: Sequence[Predictions]) -> EnsembleResult:
    """Average the members' class probabilities (each must hold ``probs``); a ConfigError
    when they were not tested on the same test set."""
    if len(members) < 2:
        raise ConfigError("an ensemble needs at least two runs")
    _same_test_set(members)
    probs = np.mean([m.probs for m in members], axis=0, dtype=np.float64).astype(np.float32)
    first = members[0]
    combined = replace(first, y_pred=probs.argmax(axis=1).astype(np.int64),
                       confidence=probs.max(axis=1), probs=probs, source="ensemble")  # fmt: skip
    return EnsembleResult(list(members), combined, evaluate(combined))


def ensemble_runs(run_dirs: Sequence[str | Path]) -> EnsembleResult:
    """The ensemble of keraslab runs (each run's probabilities from its predictions file, or
    from its checkpoint when the file has only the top class)."""
    dirs = [Path(d) for d in run_dirs]
    if len({d.resolve() for d in dirs}) != len(dirs):
        raise ConfigError("a run is named twice; an ensemble needs different runs")
    return ensemble([load_predictions(d, need_probs=True) for d in dirs])
