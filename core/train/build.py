"""Build the real Keras model of a layer stack (Keras is imported here lazily, never at module import)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..model.builders import BuildContext
from ..model.layers import LayerSpec
from ..model.preview import preview_stack


def build_model(stack: Sequence[LayerSpec], input_shape: Sequence[int], num_classes: int, *,
                input_scaling: tuple[Any, Any] | None = None, l2: float | None = None,
                name: str = "model") -> Any:
    """A functional ``keras.Model`` (uncompiled) whose layer names match the preview rows.

    The stack is checked with ``preview_stack`` first, so a bad spec raises a one-line SpecError
    instead of a Keras traceback. ``input_scaling=(scale, offset)`` prepends a zero-parameter
    ``Rescaling`` layer so the saved model accepts raw images; ``l2`` is the global weight decay on
    conv/dense kernels (a layer's own ``:l2=`` wins).
    """
    preview = preview_stack(stack, input_shape, num_classes)
    import keras  # lazy: importing the backend costs seconds

    ctx = BuildContext(keras=keras, num_classes=num_classes, l2=l2)
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    x = inputs
    if input_scaling is not None:
        scale, offset = input_scaling
        x = keras.layers.Rescaling(scale, offset, name="rescaling")(x)
    for spec, row in zip(stack, preview.rows, strict=True):
        x = spec.layer_type.build(spec.params, row.name, ctx)(x)
    return keras.Model(inputs, x, name=name)
