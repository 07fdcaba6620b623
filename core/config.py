"""RunConfig: the plain, JSON-serializable description of one training run."""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .model.params import MAX_LAYERS
from .system.devices import parse_device

if TYPE_CHECKING:
    from .model.layers import LayerSpec

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")
LOSSES = ("sparse_categorical_crossentropy", "categorical_crossentropy", "mse")
LR_SCHEDULES = ("constant", "cosine", "exponential", "step", "plateau")
NORMALIZATIONS = ("standardize", "rescale", "none")
MAX_SEED = 2**32 - 1  # what NumPy's and the backends' seeding take
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 1 << 24
MAX_NAME = 100  # run names; a run directory is <name>-<N>
MAX_DEFAULT_NAME = 60
MAX_PARENT = 4096  # a parent run's name or path
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")  # Keras dtype policies
JIT_COMPILE = ("auto", "on", "off")  # model.compile(jit_compile=): Keras' choice, True, False
MAX_GPU_MEMORY_MB = 1 << 24
MAX_STEPS_PER_EXECUTION = 10_000


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
    # devices and numerics (GPU nodes): where the model trains, its memory cap and precision
    device: str = "auto"  # see system.devices.DEVICE_HELP
    gpu_memory_limit: int | None = None  # MB per GPU; None: TensorFlow's memory growth
    precision: str = "float32"
    jit_compile: str = "auto"
    steps_per_execution: int = 1  # batches per call into the backend: amortizes per-batch work
    extra: dict[str, Any] = field(default_factory=dict)
    # lineage (the tweak loop): the run this one was made from (its name under the log
    # directory, or its path when it lives elsewhere) and what changed from it (tweak.config_diff)
    parent: str | None = None
    diff: dict[str, Any] | None = None
    # sweeps: the sweep this run is a point of, {"id": ..., "point": i, "values": {field: value}}
    sweep: dict[str, Any] | None = None

    def validate(self) -> RunConfig:
        """Check every value's type and range; raise ConfigError naming the first bad one."""
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("loss", self.loss, LOSSES)
        _choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        _choice("normalization", self.normalization, NORMALIZATIONS)
        _number("learning_rate", self.learning_rate, low=0.0, low_open=True, high=10.0)
        _number("momentum", self.momentum, low=0.0, high=1.0, high_open=True)
        _number("l2", self.l2, low=0.0, high=1.0)
        _number("validation_split", self.validation_split, low=0.0, high=0.9)
        _integer("batch_size", self.batch_size, low=1, high=MAX_BATCH_SIZE)
        _integer("epochs", self.epochs, low=1, high=MAX_EPOCHS)
        _integer("seed", self.seed, low=0, high=MAX_SEED)
        _integer("early_stopping", self.early_stopping, low=0, high=MAX_EPOCHS)
        parse_device(self.device)
        _choice("precision", self.precision, PRECISIONS)
        _choice("jit_compile", self.jit_compile, JIT_COMPILE)
        _integer("steps_per_execution", self.steps_per_execution, low=1, high=MAX_STEPS_PER_EXECUTION)
        if self.gpu_memory_limit is not None:
            _integer("gpu_memory_limit", self.gpu_memory_limit, low=1, high=MAX_GPU_MEMORY_MB)
        if self.limit is not None:
            _integer("limit", self.limit, low=1, high=2**63 - 1)
        if self.from_logits is not None and not isinstance(self.from_logits, bool):
            raise ConfigError(f"from_logits: {self.from_logits!r} is not true, false or null")
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise ConfigError("dataset: must be a dataset name or a path to an .npz file")
        if not isinstance(self.model, str) or (self.layers is None and not self.model.strip()):
            raise ConfigError("model: must be a preset name or a layer-stack notation")
        if self.layers is not None:
            if not isinstance(self.layers, list) or not all(isinstance(x, dict) for x in self.layers):
                raise ConfigError("layers: must be a list of layer objects or null")
            if len(self.layers) > MAX_LAYERS:
                raise ConfigError(f"layers: {len(self.layers):,} layers; at most {MAX_LAYERS:,}")
        if self.name is not None and not (isinstance(self.name, str) and _safe_name(self.name)):
            raise ConfigError(
                f"name: {self.name!r} may only hold letters, digits, '.', '_' and '-'"
            )
        if self.name is not None and len(self.name) > MAX_NAME:
            raise ConfigError(f"name: {len(self.name)} characters; at most {MAX_NAME}")
        if self.data_dir is not None and not isinstance(self.data_dir, str):
            raise ConfigError(f"data_dir: {self.data_dir!r} is not a folder path")
        if not isinstance(self.extra, dict):
            raise ConfigError("extra: must be an object")
        if self.parent is not None and not (
            isinstance(self.parent, str) and 0 < len(self.parent) <= MAX_PARENT
            and self.parent.isprintable()
        ):  # fmt: skip
            raise ConfigError(f"parent: {self.parent!r} is not a run name or path")
        if self.diff is not None and not (
            isinstance(self.diff, dict) and isinstance(self.diff.get("summary", ""), str)
        ):  # fmt: skip
            raise ConfigError("diff: must be an object with a text 'summary', or null")
        if self.sweep is not None:
            _sweep_field(self.sweep)
        if self.early_stopping and self.validation_split == 0:
            raise ConfigError("early_stopping needs a validation split above 0")
        return self

    def stack(self) -> list[LayerSpec]:
        """The layer stack this config describes: its JSON ``layers``, else a preset or notation."""
        from .model.notation import stack_from_json
        from .model.presets import resolve_model

        if self.layers is not None:
            return stack_from_json(self.layers)
        return resolve_model(self.model)

    @property
    def model_label(self) -> str:
        """A short label for the model: the preset name, or 'custom'."""
        if self.layers is not None:
            return "custom"
        text = self.model.strip()
        return text if _safe_name(text) else "custom"

    def default_name(self) -> str:
        """The run name used when none is given: ``<dataset>-<model>``, shortened with a hash
        suffix when longer than a file name should be (a long notation is a valid model)."""
        dataset = self.dataset.rsplit("/", 1)[-1].removesuffix(".npz")
        label = "".join(c if c.isalnum() or c in "._-" else "_" for c in dataset)
        name = f"{label}-{self.model_label}"
        if len(name) <= MAX_DEFAULT_NAME:
            return name
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        return f"{name[: MAX_DEFAULT_NAME - 9].rstrip('._-')}-{digest}"

    def with_recipe(self) -> RunConfig:
        """This config with the lab recipe of its preset (``model``) applied: the recipe's
        epochs, batch size, optimizer, learning rate, schedule and validation split, and its
        augmentation layers put in front of the stack (the run is then named
        ``<dataset>-<preset>-aug``). The preset is recorded in ``extra["recipe"]``.
        SpecError when the model is no preset with a recipe."""
        from .model.notation import format_stack
        from .model.presets import recipe_of

        preset, recipe = recipe_of(self.model)
        out = dataclasses.replace(self, extra={**self.extra, "recipe": preset.name}, **recipe.settings())
        if recipe.augmentation:
            if out.name is None:
                out.name = f"{dataclasses.replace(self, layers=None).default_name()}-aug"
            out.model, out.layers = format_stack(preset.recipe_stack()), None
        return out

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> RunConfig:
        """A config from JSON data; unknown keys and a non-object are errors (call validate())."""
        if not isinstance(data, dict):
            raise ConfigError(f"a run config must be a JSON object, not {_json_type(data)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown config key(s): {', '.join(map(repr, unknown))}")
        return cls(**data)


def _json_type(value: Any) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number",
             str: "a string", list: "a list"}  # fmt: skip
    return names.get(type(value), type(value).__name__)


def _safe_name(text: str) -> bool:
    return bool(text) and all(c.isalnum() or c in "._-" for c in text) and text[0] != "."


def _sweep_field(value: Any) -> None:
    if not isinstance(value, dict) or set(value) - {"id", "point", "values"}:
        raise ConfigError("sweep: must be an object with id, point and values")
    sweep_id = value.get("id")
    if not (isinstance(sweep_id, str) and _safe_name(sweep_id) and len(sweep_id) <= MAX_NAME):
        raise ConfigError(f"sweep: id {sweep_id!r} may only hold letters, digits, '.', '_' and '-'")
    _integer("sweep point", value.get("point"), low=0, high=2**31)
    values = value.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(v, (str, int, float, bool)) or v is None for v in values.values()
    ):
        raise ConfigError("sweep: values must be an object of plain values")


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


def _integer(key: str, value: Any, *, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: {value!r} is not a whole number")
    if value < low:
        raise ConfigError(f"{key}: {value} must be at least {low}")
    if value > high:
        raise ConfigError(f"{key}: {value} must be at most {high:,}")
