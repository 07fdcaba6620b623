"""RunConfig: the plain, JSON-serializable description of one training run."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "mse")
LR_SCHEDULES = ("constant", "cosine", "exponential", "step", "plateau")
NORMALIZATIONS = ("standardize", "rescale", "none")


@dataclass
class RunConfig:
    """Everything needed to reproduce a run (besides the data files themselves).

    ``model`` is a preset name or a layer-stack notation; ``layers`` (a JSON
    layer stack, e.g. from ``--model-file``) overrides it when given.
    """

    dataset: str = "digits"
    model: str = "cnn"
    layers: list[dict[str, Any]] | None = None
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.0
    lr_schedule: str = "constant"
    loss: str = "sparse_categorical_crossentropy"
    from_logits: bool | None = None
    batch_size: int = 128
    epochs: int = 10
    validation_split: float = 0.1
    seed: int = 0
    early_stopping: int = 0
    limit: int | None = None
    normalization: str = "standardize"
    l2: float = 0.0
    name: str | None = None
    data_dir: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> RunConfig:
        """Check every value; raise ConfigError naming the first bad one."""
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("loss", self.loss, LOSSES)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _number("learning_rate", self.learning_rate, low=0.0, low_open=True, high=10.0)
        _number("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        _number("l2", self.l2, low=0.0, high=1.0)
        _number("validation_split", self.validation_split, low=0.0, high=0.9)
        _integer("batch_size", self.batch_size, low=1)
        _integer("epochs", self.epochs, low=1)
        _integer("seed", self.seed, low=0)
        _integer("early_stopping", self.early_stopping, low=0)
        if self.limit is not None:
            _integer("limit", self.limit, low=1)
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError("dataset: must be a dataset name or a path to an .npz file")
        if self.layers is None and (not isinstance(self.model, str) or not self.model.strip()):
            raise ConfigError("model: must be a preset name or a layer-stack notation")
        if self.name is not None and not _safe_name(self.name):
            raise ConfigError(
                f"name: {self.name!r} may only hold letters, digits, '.', '_' and '-'"
            )
        if self.early_stopping and self.validation_split == 0:
            raise ConfigError("early_stopping needs a validation split above 0")
        return self

    @property
    def model_label(self) -> str:
        """A short label for the model: the preset name, or 'custom'."""
        if self.layers is not None:
            return "custom"
        text = self.model.strip()
        return text if _safe_name(text) else "custom"

    def default_name(self) -> str:
        """The run name used when none is given: ``<dataset>-<model>``."""
        dataset = self.dataset.rsplit("/", 1)[-1].removesuffix(".npz")
        label = "".join(c if c.isalnum() or c in "._-" else "_" for c in dataset)
        return f"{label}-{self.model_label}"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        if not isinstance(data, dict):
            raise ConfigError("a run config must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(unknown)}")
        return cls(**data)


def _safe_name(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "._-" for c in text) and text[0] != "."


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{key}: {value!r} is not one of {', '.join(choices)}")


def _number(
    key: str,
    value: Any,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{key}: {value!r} is not a number")
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if too_low or too_high:
        lo = "(" if low_open else "["
        hi = ")" if high_open else "]"
        raise ConfigError(f"{key}: {value} is outside {lo}{low:g}, {high:g}{hi}")


def _integer(key: str, value: Any, *, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: {value!r} is not a whole number")
    if value < low:
        raise ConfigError(f"{key}: {value} must be at least {low}")
