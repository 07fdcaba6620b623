"""Each layer type's Keras constructor; ``keras`` is passed in, never imported here."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .params import INIT_SCALED_RE, pair
from .shapes import units


@dataclass
class BuildContext:
    """What a Keras constructor needs besides the layer's own parameters."""

    keras: Any
    num_classes: int
    l2: float | None = None


def keras_initializer(keras: Any, init: str) -> Any:
    m = INIT_SCALED_RE.fullmatch(init)
    if m is None:
        return init
    name, v = m.group(1), float(m.group(2))
    inits = keras.initializers
    if name == "normal":
        return inits.RandomNormal(stddev=v)
    if name == "truncated_normal":
        return inits.TruncatedNormal(stddev=v)
    if name == "uniform":
        return inits.RandomUniform(minval=-v, maxval=v)
    return inits.Constant(v)


def _weights_kwargs(p: Mapping, ctx: BuildContext) -> dict:
    l2 = p["l2"] if p["l2"] is not None else ctx.l2
    return {
        "activation": p["activation"],
        "kernel_initializer": keras_initializer(ctx.keras, p["init"]),
        "kernel_regularizer": ctx.keras.regularizers.L2(l2) if l2 else None,
    }


def conv(p: Mapping, name: str, ctx: BuildContext) -> Any:
    return ctx.keras.layers.Conv2D(
        p["filters"], pair(p["kernel"]), strides=p["strides"], padding=p["padding"],
        name=name, **_weights_kwargs(p, ctx),
    )


def dense(p: Mapping, name: str, ctx: BuildContext) -> Any:
    return ctx.keras.layers.Dense(units(p, ctx.num_classes), name=name, **_weights_kwargs(p, ctx))


def pool(cls_name: str) -> Callable[[Mapping, str, BuildContext], Any]:
    def build(p: Mapping, name: str, ctx: BuildContext) -> Any:
        strides = pair(p["strides"]) if p["strides"] is not None else None
        cls = getattr(ctx.keras.layers, cls_name)
        return cls(pool_size=pair(p["pool"]), strides=strides, padding=p["padding"], name=name)
    return build


def simple(cls_name: str, **fixed: Any) -> Callable[[Mapping, str, BuildContext], Any]:
    def build(p: Mapping, name: str, ctx: BuildContext) -> Any:
        return getattr(ctx.keras.layers, cls_name)(name=name, **fixed, **p)
    return build


def factor(cls_name: str, both_axes: bool = False, **fixed: Any) -> Callable[..., Any]:
    def build(p: Mapping, name: str, ctx: BuildContext) -> Any:
        cls = getattr(ctx.keras.layers, cls_name)
        if both_axes:
            return cls(p["factor"], p["factor"], name=name, **fixed)
        return cls(p["factor"], name=name, **fixed)
    return build
