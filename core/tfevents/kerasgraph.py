"""The model Keras' TensorBoard callback writes into a run's logs, read back without Keras.

With ``write_graph=True`` (its default) the callback writes ``model.to_json()`` once, as a
string tensor tagged ``keras`` with the plugin ``graph_keras_model``: the layers and their
settings, and how the model was compiled. A plain Keras run's detail shows the layers from
it, and its optimizer, learning rate and loss become the run's hyperparameters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

KERAS_MODEL_PLUGIN = "graph_keras_model"
# the settings worth a glance, in this order (others, initializers and dtypes, are left out)
_SHOWN = ("units", "filters", "kernel_size", "strides", "pool_size", "padding", "activation",
          "rate", "target_shape", "input_dim", "output_dim", "return_sequences")  # fmt: skip
_MODELS = ("Sequential", "Functional", "Model")


@dataclass
class KerasModel:
    """What a ``model.to_json()`` text tells: the layers (name, type, settings) and the compile settings."""

    class_name: str
    name: str
    input_shape: list | None = None
    layers: list[tuple[str, str, str]] = field(default_factory=list)
    hparams: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """The layers as a small table, with the model's input and compile settings."""
        head = f"{self.class_name} {self.name!r}: {len(self.layers)} layers"
        if self.input_shape is not None:
            head += ", input " + _shape(self.input_shape)
        lines = [head, "(from the model graph Keras' TensorBoard callback wrote)", ""]
        if self.layers:
            w0 = max(len("layer"), *(len(n) for n, _, _ in self.layers))
            w1 = max(len("type"), *(len(t) for _, t, _ in self.layers))
            lines.append(f"{'layer':<{w0}}  {'type':<{w1}}  settings")
            lines += [f"{n:<{w0}}  {t:<{w1}}  {s}".rstrip() for n, t, s in self.layers]
        if self.hparams:
            lines += ["", "compiled with " + ", ".join(f"{k}={_value(v)}" for k, v in self.hparams.items())]
        return "\n".join(lines)


def parse_keras_model(text: str) -> KerasModel | None:
    """The model of a ``model.to_json()`` text; None when the text is not one."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        return None
    config = data["config"]
    model = KerasModel(str(data.get("class_name", "Model")), str(config.get("name", "")))
    build = data.get("build_config")
    if isinstance(build, dict) and isinstance(build.get("input_shape"), list):
        model.input_shape = build["input_shape"]
    layers = config.get("layers")
    for layer in layers if isinstance(layers, list) else ():
        if not isinstance(layer, dict):
            continue
        kind = str(layer.get("class_name", "?"))
        lc = _dict(layer.get("config"))
        shape = lc.get("batch_shape") or lc.get("batch_input_shape")  # (tf.keras 2: on any first layer)
        if model.input_shape is None and isinstance(shape, list):
            model.input_shape = shape
        if kind == "InputLayer":
            continue
        if kind in _MODELS:
            inner = lc.get("layers")
            n = sum(isinstance(x, dict) and x.get("class_name") != "InputLayer" for x in inner) if isinstance(inner, list) else 0
            settings = f"{n} layers"
        else:
            settings = ", ".join(f"{k}={_value(lc[k])}" for k in _SHOWN if lc.get(k) is not None)
        model.layers.append((str(lc.get("name", layer.get("name", ""))), kind, settings))
    compiled = data.get("compile_config")
    if isinstance(compiled, dict):
        model.hparams = _compile_hparams(compiled)
    return model


def _compile_hparams(compiled: dict) -> dict[str, Any]:
    """optimizer, learning_rate and loss as keraslab's own runs name them."""
    out: dict[str, Any] = {}
    opt = compiled.get("optimizer")
    if isinstance(opt, str):
        out["optimizer"] = opt.lower()
    elif isinstance(opt, dict):
        out["optimizer"] = str(opt.get("class_name", "?")).lower()
        lr = _dict(opt.get("config")).get("learning_rate")
        if isinstance(lr, float) or (isinstance(lr, int) and not isinstance(lr, bool) and abs(lr) < 2**53):
            out["learning_rate"] = float(f"{lr:.7g}")  # a float32 read back: 0.0010000000474974513
        elif isinstance(lr, dict):  # a schedule
            out["learning_rate"] = str(lr.get("class_name", "schedule"))
    loss = _name(compiled.get("loss"))
    if loss:
        out["loss"] = loss
    return out


def _name(obj: Any) -> str | None:
    """The name of a saved loss: a string, a saved object (a function's config is its name),
    or one per output (a dict or list of them)."""
    if isinstance(obj, str):
        return obj
    if isinstance(obj, dict) and "class_name" in obj:
        config = obj.get("config")
        if isinstance(config, str):  # {"class_name": "function", "config": "mean_squared_error"}
            return config
        return str(_dict(config).get("name") or obj["class_name"])
    if isinstance(obj, dict):  # per named output
        names = [f"{k}:{_name(v)}" for k, v in obj.items() if _name(v)]
        return ", ".join(names) or None
    if isinstance(obj, list):
        names = [n for n in map(_name, obj) if n]
        return ", ".join(names) or None
    return None


def _dict(obj: Any) -> dict:
    return obj if isinstance(obj, dict) else {}


def _shape(shape: list) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "x".join(str(x) for x in v) if all(isinstance(x, int) for x in v) else str(v)
    if isinstance(v, dict):  # a serialized object (an activation layer, a schedule)
        return _name(v) or "?"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
