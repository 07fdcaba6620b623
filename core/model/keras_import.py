"""A Keras model's architecture as a keraslab layer stack, read from its saved config as data.

Nothing is loaded through Keras and nothing in the file runs: a ``.keras`` file is a zip
whose ``config.json`` is read, an ``.h5`` file's ``model_config`` attribute is read with
h5py, a ``.json`` file is ``model.to_json()``'s text. A layer keraslab cannot express (a
Lambda, a custom class, a setting it has no word for) is listed as unsupported, never dropped.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..safefile import open_regular
from .layers import LayerSpec
from .notation import format_stack
from .params import ACTIVATIONS, canonical_init

MAX_CONFIG_BYTES = 64 << 20  # a model config larger than this is not a layer stack
_CONTAINERS = ("Sequential", "Functional", "Model")
_SCALING = "input scaling is keraslab's normalization setting (--normalization)"


@dataclass
class ImportedModel:
    """The layers keraslab could express, and the ones it could not: (position, name, class, reason)."""

    name: str
    stack: list[LayerSpec] = field(default_factory=list)
    unsupported: list[tuple[int, str, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    input_shape: tuple[int | None, ...] | None = None

    @property
    def notation(self) -> str:
        return format_stack(self.stack) if self.stack else ""


class _Unsupported(Exception):
    """A layer (or one of its settings) keraslab has no word for; the message says which."""


# --------------------------------------------------------------------------- reading files


def read_model_config(path: str | os.PathLike) -> dict[str, Any]:
    """The model config a ``.keras``, ``.h5`` or ``.json`` file holds; SpecError in one line otherwise."""
    p = Path(path)
    suffix = p.suffix.lower()
    try:
        if suffix == ".keras":
            text = _zip_config(p)
        elif suffix in (".h5", ".hdf5"):
            text = _h5_config(p)
        elif suffix == ".json":
            with open_regular(p) as f:
                data = f.read(MAX_CONFIG_BYTES + 1)
            if len(data) > MAX_CONFIG_BYTES:
                raise SpecError(f"{p}: larger than {MAX_CONFIG_BYTES >> 20} MiB, not a model config")
            text = data.decode("utf-8", errors="replace")
        else:
            raise SpecError(f"{p}: not a Keras model file (.keras, .h5 or a model's .json config)")
    except OSError as exc:
        raise SpecError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpecError(f"{p}: the model config is not JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise SpecError(f"{p}: no Keras model config in it (expected {{\"class_name\": ..., \"config\": ...}})")
    return data


def _zip_config(path: Path) -> str:
    with open_regular(path) as f:
        try:
            with zipfile.ZipFile(f) as z:
                try:
                    info = z.getinfo("config.json")
                except KeyError:
                    raise SpecError(f"{path}: a zip without config.json, not a .keras model") from None
                if info.file_size > MAX_CONFIG_BYTES:
                    raise SpecError(f"{path}: config.json is larger than {MAX_CONFIG_BYTES >> 20} MiB")
                return z.read(info).decode("utf-8", errors="replace")
        except zipfile.BadZipFile:
            raise SpecError(f"{path}: not a .keras file (not a zip archive)") from None


def _h5_config(path: Path) -> str:
    try:
        import h5py
    except ImportError:
        raise SpecError(f"{path}: reading .h5 files needs h5py (pip install h5py)") from None
    with open_regular(path) as f:
        try:
            with h5py.File(f, "r") as h5:
                value = h5.attrs.get("model_config")
        except OSError:
            raise SpecError(f"{path}: not an HDF5 file") from None
    if value is None:
        raise SpecError(f"{path}: an HDF5 file without a model_config (saved weights only?)")
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


# --------------------------------------------------------------------------- config -> stack


def import_model(data: dict[str, Any]) -> ImportedModel:
    """The layer stack of a model config (``model.to_json()``'s data); a branching model is an error."""
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    model = ImportedModel(name=str(config.get("name") or data.get("class_name") or "model"))
    kind = data.get("class_name")
    if kind not in _CONTAINERS:
        raise SpecError(f"a {str(kind)!r} is not a Keras model (Sequential or Functional)")
    layers = config.get("layers")
    if not isinstance(layers, list):
        raise SpecError("the model config lists no layers")
    position = 0
    for layer in layers:
        if not isinstance(layer, dict):
            continue
        name = str(_dict(layer.get("config")).get("name") or layer.get("name") or "?")
        cls = str(layer.get("class_name", "?"))
        if kind != "Sequential" and _inputs(layer) > 1:
            raise SpecError(f"layer {name!r} ({cls}) joins several inputs: keraslab stacks are one chain of layers")
        if cls == "InputLayer":
            model.input_shape = _shape(_dict(layer.get("config")))
            continue
        position += 1
        try:
            specs = _layer(layer, cls, model)
        except (_Unsupported, SpecError) as exc:
            model.unsupported.append((position, name, cls, str(exc)))
            continue
        model.stack += specs
    return model


def _inputs(layer: dict) -> int:
    """How many tensors flow into a functional model's layer (Keras 3's and tf.keras 2's forms)."""
    nodes = layer.get("inbound_nodes")
    if not isinstance(nodes, list) or not nodes:
        return 0
    if len(nodes) > 1:
        return len(nodes)
    node = nodes[0]
    if isinstance(node, dict):  # keras 3: {"args": [tensor or [tensors]], "kwargs": {}}
        args = node.get("args") or []
        return sum(len(a) if isinstance(a, list) else 1 for a in args if isinstance(a, (dict, list)))
    return len(node) if isinstance(node, list) else 1


def _shape(config: dict) -> tuple[int | None, ...] | None:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if isinstance(shape, list):
        return tuple(d if isinstance(d, int) else None for d in shape[1:])
    return None


def _dict(obj: Any) -> dict:
    return obj if isinstance(obj, dict) else {}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _activation(value: Any) -> str | None:
    if isinstance(value, dict):  # a serialized function: {"class_name": "function", "config": "relu"}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    if value in (None, "linear"):
        return None
    name = {"silu": "swish"}.get(str(value), str(value))
    if name not in ACTIVATIONS:
        raise _Unsupported(f"activation {str(value)!r} (keraslab has {', '.join(ACTIVATIONS)})")
    return name


def _initializer(value: Any, layer: str, notes: list[str]) -> str | None:
    """The kernel initializer as keraslab writes it; an unknown one is a note, the default used."""
    if value is None:
        return None
    cfg = {}
    if isinstance(value, dict):
        cfg = _dict(value.get("config"))
        value = _snake(str(value.get("class_name", "")))
    text = str(value)
    scale = cfg.get("stddev", cfg.get("maxval"))
    if text in ("random_normal", "truncated_normal", "random_uniform") and isinstance(scale, (int, float)):
        text = f"{text.removeprefix('random_')}{float(scale)!r}"
    init = canonical_init(text)
    if init is None:
        notes.append(f"{layer}: initializer {text!r} unknown to keraslab; its default glorot_uniform is used")
    return init


def _l2(value: Any) -> float | None:
    if value is None:
        return None
    cfg = _dict(_dict(value).get("config"))
    kind = str(_dict(value).get("class_name", ""))
    if kind in ("L2", "l2") or (kind in ("L1L2", "l1_l2") and not cfg.get("l1")):
        l2 = cfg.get("l2")
        if isinstance(l2, (int, float)) and not isinstance(l2, bool):
            return float(l2)
    raise _Unsupported(f"kernel regularizer {kind or value!r} (keraslab has L2 only)")


def _square(value: Any, what: str) -> int:
    """A (h, w) pair keraslab writes as one number (strides): both the same."""
    if isinstance(value, int):
        return value
    if isinstance(value, list) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    raise _Unsupported(f"{what} {value!r} (keraslab takes the same value for height and width)")


def _size(value: Any) -> list[int]:
    if isinstance(value, int):
        return [value, value]
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int) for v in value):
        return list(value)
    raise _Unsupported(f"size {value!r}")


def _refuse(cfg: dict, **expected: Any) -> None:
    """Settings keraslab cannot express: unsupported unless at the value keraslab builds with."""
    for key, value in expected.items():
        got = cfg.get(key, value)
        if got != value and not (isinstance(value, list) and got in (value, value[0])):
            raise _Unsupported(f"{key}={got!r}")


def _weights(cfg: dict, name: str, notes: list[str]) -> dict[str, Any]:
    _refuse(cfg, use_bias=True, bias_regularizer=None, activity_regularizer=None,
            kernel_constraint=None, bias_constraint=None)  # fmt: skip
    out: dict[str, Any] = {}
    act = _activation(cfg.get("activation"))
    if act is not None:
        out["activation"] = act
    init = _initializer(cfg.get("kernel_initializer"), name, notes)
    if init is not None:
        out["init"] = init
    l2 = _l2(cfg.get("kernel_regularizer"))
    if l2 is not None:
        out["l2"] = l2
    return out


def _factor(value: Any) -> float:
    """An augmentation factor: a number, or a (-f, f) range."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, list) and len(value) == 2 and value[0] == -value[1]:
        return float(value[1])
    raise _Unsupported(f"factor {value!r} (keraslab takes one symmetric factor)")


def _layer(layer: dict, cls: str, model: ImportedModel) -> list[LayerSpec]:
    cfg = _dict(layer.get("config"))
    name = str(cfg.get("name", cls))
    module = layer.get("module")
    if layer.get("registered_name") not in (None, cls) or (isinstance(module, str) and not module.startswith("keras")):
        raise _Unsupported("a custom layer class (its code is not in the file and is never run)")
    if cls == "Lambda":
        raise _Unsupported("a Lambda layer holds code, which keraslab never runs")
    if cls in _CONTAINERS:
        raise _Unsupported("a nested model")
    _refuse(cfg, data_format="channels_last")
    if cls == "Conv2D":
        _refuse(cfg, dilation_rate=[1, 1], groups=1)
        raw = {"filters": cfg.get("filters"), "kernel": _size(cfg.get("kernel_size")),
               "strides": _square(cfg.get("strides", 1), "strides"), "padding": cfg.get("padding", "valid"),
               **_weights(cfg, name, model.notes)}  # fmt: skip
        return [LayerSpec("conv2d", raw)]
    if cls == "Dense":
        return [LayerSpec("dense", {"units": cfg.get("units"), **_weights(cfg, name, model.notes)})]
    if cls in ("MaxPooling2D", "AveragePooling2D"):
        strides = cfg.get("strides")
        raw = {"pool": _size(cfg.get("pool_size", 2)), "padding": cfg.get("padding", "valid"),
               "strides": None if strides is None else _square(strides, "strides")}  # fmt: skip
        return [LayerSpec("maxpool2d" if cls.startswith("Max") else "avgpool2d", raw)]
    if cls == "GlobalAveragePooling2D":
        _refuse(cfg, keepdims=False)
        return [LayerSpec("gap")]
    if cls == "Flatten":
        return [LayerSpec("flatten")]
    if cls == "BatchNormalization":
        _refuse(cfg, axis=-1, center=True, scale=True)
        return [LayerSpec("bn")]
    if cls == "Dropout":
        _refuse(cfg, noise_shape=None)
        return [LayerSpec("dropout", {"rate": cfg.get("rate")})]
    if cls == "Activation":
        act = _activation(cfg.get("activation"))
        return [] if act is None else [LayerSpec("activation", {"activation": act})]
    if cls == "ReLU":
        _refuse(cfg, max_value=None, negative_slope=0.0, threshold=0.0)
        return [LayerSpec("activation", {"activation": "relu"})]
    if cls in ("Softmax", "ELU", "LeakyReLU"):
        if cls == "Softmax":
            _refuse(cfg, axis=-1)
        if cls == "LeakyReLU":  # (keraslab's leaky_relu is Keras' function, slope 0.2)
            _refuse(cfg, negative_slope=0.2)
        act = {"Softmax": "softmax", "ELU": "elu", "LeakyReLU": "leaky_relu"}[cls]
        return [LayerSpec("activation", {"activation": act})]
    if cls == "RandomFlip":
        return [LayerSpec("random_flip", {"mode": cfg.get("mode", "horizontal")})]
    augment = {"RandomRotation": ("random_rotation", "factor"), "RandomZoom": ("random_zoom", "height_factor"),
               "RandomTranslation": ("random_translation", "height_factor"),
               "RandomContrast": ("random_contrast", "factor")}  # fmt: skip
    if cls in augment:
        key, source = augment[cls]
        return [LayerSpec(key, {"factor": _factor(cfg.get(source))})]
    if cls in ("Rescaling", "Normalization"):
        raise _Unsupported(_SCALING)
    raise _Unsupported("no keraslab layer does this")
