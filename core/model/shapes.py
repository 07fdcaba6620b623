"""Each layer type's output-shape rule and parameter count, in pure Python."""

from __future__ import annotations

import math
from collections.abc import Mapping

from .params import CLASSES, Shape, ShapeError, pair, shape_str


def _need_image(lt_word: str, shape: Shape) -> None:
    if len(shape) != 3:
        raise ShapeError(
            f"{lt_word} needs an image input (height x width x channels) but gets a flat vector "
            f"of {shape_str(shape)}; move it before flatten/gap",
            code="rank-mismatch",
        )


def _spatial_out(size: int, window: int, stride: int, padding: str) -> int:
    if padding == "same":
        return -(-size // stride)
    return (size - window) // stride + 1


def conv_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("conv", shape)
    (h, w, _), (kh, kw), s = shape, pair(p["kernel"]), p["strides"]
    if p["padding"] == "valid" and (kh > h or kw > w):
        raise ShapeError(
            f"{kh}x{kw} kernel is larger than its {h}x{w} input (padding valid); "
            "use a smaller kernel, padding same, or less pooling before it",
            code="kernel-too-large",
        )
    return (_spatial_out(h, kh, s, p["padding"]), _spatial_out(w, kw, s, p["padding"]), p["filters"])


def conv_count(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    kh, kw = pair(p["kernel"])
    n = kh * kw * shape[-1] * p["filters"] + p["filters"]
    return n, n


def pool_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("pooling", shape)
    (h, w, c), (ph, pw) = shape, pair(p["pool"])
    sh, sw = pair(p["strides"]) if p["strides"] is not None else (ph, pw)
    if p["padding"] == "valid" and (ph > h or pw > w):
        raise ShapeError(
            f"{ph}x{pw} pooling on a {h}x{w} input would give less than 1x1; "
            "remove this pooling or use a smaller one",
            code="pool-too-large",
        )
    return (_spatial_out(h, ph, sh, p["padding"]), _spatial_out(w, pw, sw, p["padding"]), c)


def gap_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("gap", shape)
    return (shape[-1],)


def flatten_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    return (math.prod(shape),)


def same_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    return shape


def image_same_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("augmentation", shape)
    return shape


def units(p: Mapping, classes: int) -> int:
    return classes if p["units"] == CLASSES else p["units"]


def dense_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    if len(shape) != 1:
        raise ShapeError(
            f"dense needs a flat input but gets {shape_str(shape)}; put flatten or gap before it",
            code="rank-mismatch",
        )
    return (units(p, classes),)


def dense_count(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    u = units(p, classes)
    n = shape[-1] * u + u
    return n, n


def bn_count(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    return 4 * shape[-1], 2 * shape[-1]


def no_params(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    return 0, 0
