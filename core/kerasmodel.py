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
    for layer in config.get("layers") or ():
        if not isinstance(layer, dict):
            continue
        kind = str(layer.get("class_name", "?"))
        lc = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        if kind == "InputLayer":
            shape = lc.get("batch_shape") or lc.get("batch_input_shape")
            if model.input_shape is None and isinstance(shape, list):
                model.input_shape = shape
            continue
        if kind in _MODELS:
            inner = lc.get("layers")
            settings = f"{len(inner)} layers" if isinstance(inner, list) else ""
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
        lr = (opt.get("config") or {}).get("learning_rate")
        if isinstance(lr, (int, float)) and not isinstance(lr, bool):
            out["learning_rate"] = float(f"{lr:.7g}")  # a float32 read back: 0.0010000000474974513
        elif isinstance(lr, dict):  # a schedule
            out["learning_rate"] = str(lr.get("class_name", "schedule"))
    loss = compiled.get("loss")
    if isinstance(loss, str):
        out["loss"] = loss
    elif isinstance(loss, dict):
        out["loss"] = str((loss.get("config") or {}).get("name") or loss.get("class_name", "?"))
    return out


def _shape(shape: list) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


def _value(v: Any) -> str:
    if isinstance(v, list):
        return "x".join(str(x) for x in v) if all(isinstance(x, int) for x in v) else str(v)
    if isinstance(v, dict):  # a serialized object (an activation layer, a schedule)
        return str((v.get("config") or {}).get("name") or v.get("class_name", "?"))
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
