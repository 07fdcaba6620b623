"""Every layer's output shape and parameter count in pure Python (no TensorFlow), fast enough per keystroke."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import SpecError
from .layers import LayerSpec, layer_label
from .params import ShapeError, shape_str

Shape = tuple[int, ...]


@dataclass
class LayerRow:
    """One line of the shape/parameter table."""

    index: int
    name: str                       # Keras layer name, e.g. conv2d_1 (build_model uses the same names)
    token: str                      # this layer in the notation
    output_shape: tuple[int | None, ...]  # without the batch dimension
    params: int
    trainable: int


@dataclass
class Preview:
    """Shapes and parameter counts of a whole stack for one input shape and class count."""

    input_shape: Shape
    rows: list[LayerRow] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    output_shape: Shape = ()


def check_input(input_shape: Sequence[int], num_classes: int) -> Shape:
    shape = tuple(input_shape)
    if len(shape) not in (1, 3) or not all(isinstance(d, int) and d >= 1 for d in shape):
        raise SpecError(f"input shape must be (height, width, channels) or (features,), got {shape}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise SpecError(f"the number of classes must be a positive whole number, got {num_classes!r}")
    return shape


def layer_names(stack: Sequence[LayerSpec]) -> list[str]:
    """Unique Keras-style names: conv2d_1, conv2d_2, relu_1, dense_1, ..."""
    counts: dict[str, int] = {}
    names = []
    for spec in stack:
        label = layer_label(spec)
        counts[label] = counts.get(label, 0) + 1
        names.append(f"{label}_{counts[label]}")
    return names


def preview_stack(stack: Sequence[LayerSpec], input_shape: Sequence[int], num_classes: int,
                  *, check_output: bool = True) -> Preview:
    """Shapes and parameter counts; ShapeError(layer=i, code=...) when the stack cannot run on this input.

    With ``check_output`` the final shape must be ``(num_classes,)`` (codes ``no-output``,
    ``output-units``).
    """
    shape = check_input(input_shape, num_classes)
    if not stack:
        raise SpecError("empty layer stack")
    preview = Preview(input_shape=shape)
    for i, (spec, name) in enumerate(zip(stack, layer_names(stack), strict=True)):
        lt = spec.layer_type
        try:
            out = lt.shape(shape, spec.params, num_classes)
        except ShapeError as err:
            raise ShapeError(f"layer {i + 1} {spec.token!r}: {err}", code=err.code, layer=i) from None
        total, trainable = lt.count(shape, spec.params, num_classes)
        preview.rows.append(LayerRow(i, name, spec.token, out, total, trainable))
        preview.total_params += total
        preview.trainable_params += trainable
        shape = out
    preview.non_trainable_params = preview.total_params - preview.trainable_params
    preview.output_shape = shape
    if check_output:
        check_output_shape(stack, shape, num_classes)
    return preview


def check_output_shape(stack: Sequence[LayerSpec], shape: Shape, num_classes: int) -> None:
    """The stack must end in one score per class."""
    last = len(stack) - 1
    if len(shape) != 1:
        raise ShapeError(
            f"the stack ends with a {shape_str(shape)} image, not one score per class; "
            "end it with flatten-out-softmax or gap-out-softmax",
            code="no-output", layer=last,
        )
    if shape[0] != num_classes:
        dense = [i for i, spec in enumerate(stack) if spec.type == "dense"]
        where = dense[-1] if dense else last
        fix = "use 'out' (one unit per class) as the last dense layer" if dense else "end it with out-softmax"
        raise ShapeError(
            f"layer {where + 1} {stack[where].token!r}: the output has {shape[0]} units but the dataset "
            f"has {num_classes} classes; {fix}",
            code="output-units", layer=where,
        )


def count_params(stack: Sequence[LayerSpec], input_shape: Sequence[int], num_classes: int) -> int:
    """Total parameters (trainable + non-trainable), as Keras' ``count_params()``."""
    return preview_stack(stack, input_shape, num_classes).total_params


def format_table(preview: Preview) -> str:
    """The preview as a plain-text table (what ``keraslab lint`` prints)."""
    header = ("#", "layer", "notation", "output shape", "params")
    rows = [("", "input", "", shape_str(preview.input_shape), "0")]
    rows += [(str(r.index + 1), r.name, r.token, shape_str(r.output_shape), f"{r.params:,}")
             for r in preview.rows]
    widths = [max(len(row[c]) for row in [header, *rows]) for c in range(5)]
    align = ("{:>%d}", "{:<%d}", "{:<%d}", "{:<%d}", "{:>%d}")
    fmt = "  ".join(a % w for a, w in zip(align, widths, strict=True))
    lines = [fmt.format(*header), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*row) for row in rows]
    lines.append(f"total params: {preview.total_params:,}  trainable: {preview.trainable_params:,}  "
                 f"non-trainable: {preview.non_trainable_params:,}")
    return "\n".join(lines)
