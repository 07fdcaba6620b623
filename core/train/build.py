"""Build the real Keras model of a layer stack (Keras is imported here lazily, never at module import)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from ..model.builders import BuildContext
from ..model.layers import LayerSpec
from ..model.preview import preview_stack


def build_model(stack: Sequence[LayerSpec], input_shape: Sequence[int], num_classes: int, *,
                input_scaling: tuple[Any, Any] | None = None, l2: float | None = None,
                name: str = "model", precision: str = "float32") -> Any:
    """A functional ``keras.Model`` (uncompiled) whose layer names match the preview rows.

    The stack is checked with ``preview_stack`` first, so a bad spec raises a one-line SpecError
    instead of a Keras traceback. ``input_scaling=(scale, offset)`` prepends a zero-parameter
    ``Rescaling`` layer so the saved model accepts raw images; ``l2`` is the global weight decay on
    conv/dense kernels (a layer's own ``:l2=`` wins). ``precision``: the Keras dtype policy of
    every layer but the last, which stays float32 (a softmax in float16 loses its small
    probabilities; Keras' mixed-precision guide does the same).
    """
    preview = preview_stack(stack, input_shape, num_classes)
    import keras  # lazy: importing the backend costs seconds

    ctx = BuildContext(keras=keras, num_classes=num_classes, l2=l2)
    last = len(stack) - 1
    with dtype_policy(keras, precision):
        inputs = keras.Input(shape=tuple(input_shape), name="input")
        x = inputs
        if input_scaling is not None:
            scale, offset = input_scaling
            x = keras.layers.Rescaling(scale, offset, name="rescaling")(x)
        for i, (spec, row) in enumerate(zip(stack, preview.rows, strict=True)):
            with dtype_policy(keras, "float32") if i == last else contextlib.nullcontext():
                x = spec.layer_type.build(spec.params, row.name, ctx)(x)
        return keras.Model(inputs, x, name=name)


@contextlib.contextmanager
def dtype_policy(keras, name: str) -> Iterator[None]:
    """Keras' global dtype policy set to ``name`` while layers are made, then put back."""
    before = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(before)
