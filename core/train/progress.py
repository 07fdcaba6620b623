"""Messages a TrainingSession publishes while it works (phase, batch progress, epoch end, finish)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Phase:
    """A step before or after training: 'loading data', 'building model', 'evaluating', ..."""

    message: str


@dataclass(frozen=True)
class Started:
    """The model is built and fit() begins."""

    run_dir: Path
    device: str
    params: int
    epochs: int
    steps_per_epoch: int
    train_samples: int


@dataclass(frozen=True)
class BatchProgress:
    """Throttled progress within an epoch. ``epoch`` is 0-based; ``position`` fractional epochs."""

    epoch: int
    epochs: int
    batch: int
    batches: int
    logs: dict[str, float]
    elapsed: float
    samples_per_second: float

    @property
    def position(self) -> float:
        return self.epoch + self.batch / max(1, self.batches)


@dataclass(frozen=True)
class EpochEnd:
    """An epoch finished; ``epoch`` is 1-based; logs hold every metric (val_* too)."""

    epoch: int
    epochs: int
    logs: dict[str, float]
    elapsed: float
    improved: bool


@dataclass(frozen=True)
class SystemSample:
    """A reading of the run's GPUs and process while it trains (keys ``system/...``, see
    system.sampler); ``elapsed``: seconds since training began."""

    elapsed: float
    values: dict[str, float]


@dataclass(frozen=True)
class Finished:
    """The session ended: status is completed, stopped or failed."""

    status: str
    run_dir: Path
    reason: str | None = None
    test: dict[str, float] = field(default_factory=dict)
    best_epoch: int | None = None
    epochs_done: int = 0
    elapsed: float = 0.0
    checkpoint_error: str | None = None  # why best_model.keras does not hold the best epoch

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "run_dir": str(self.run_dir),
            "reason": self.reason,
            "test": self.test,
            "best_epoch": self.best_epoch,
            "epochs_done": self.epochs_done,
            "elapsed": self.elapsed,
            "checkpoint_error": self.checkpoint_error,
        }


SessionEvent = Phase | Started | BatchProgress | EpochEnd | SystemSample | Finished
