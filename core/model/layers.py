"""The one registry of layer types: notation word, parameters, shape rule, parameter count, Keras constructor."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError
from . import builders as build
from . import shapes
from .builders import BuildContext
from .params import (
    ACTIVATION_ALIASES,
    ACTIVATIONS,
    CLASSES,
    FLIP_ALIASES,
    FLIP_MODES,
    FLOAT,
    INT,
    MAX_SIZE,
    MAX_WIDTH,
    PADDINGS,
    Param,
    Params,
    Shape,
    fmt_size,
    pair,
    to_int,
)  # fmt: skip


@dataclass(frozen=True)
class LayerType:
    """Everything keraslab knows about one kind of layer."""

    key: str                   # JSON "type"
    word: str                  # canonical notation word
    label: str                 # base of layer names (``conv2d`` -> conv2d_1, conv2d_2)
    category: str              # conv | dense | pool | global_pool | flatten | norm | dropout | activation | augment
    summary: str               # one line for help screens
    example: str               # notation example
    params: tuple[Param, ...]
    parse_head: Callable[[str, str], dict | None]   # (word, text after the word) -> raw params, None if malformed
    head_hint: str             # how the head is written, for error messages
    format_head: Callable[[Mapping], tuple[str, tuple[str, ...]]]  # -> (text, params it spells out)
    shape: Callable[[Shape, Mapping, int], Shape]
    count: Callable[[Shape, Mapping, int], tuple[int, int]]   # -> (total, trainable)
    build: Callable[[Mapping, str, BuildContext], Any]
    words: tuple[str, ...] = ()   # every word that starts this type in the notation
    fixup: Callable[[dict], dict] | None = None
    has_weights: bool = False

    def param(self, name: str) -> Param | None:
        for p in self.params:
            if p.name == name or name in p.aliases:
                return p
        return None

    def canonical(self, raw: Mapping[str, Any]) -> Params:
        """Validate raw parameters, fill defaults; SpecError naming the parameter if bad."""
        known = {p.name for p in self.params}
        for key in raw:
            if key not in known:
                hint = f"; known: {', '.join(sorted(known))}" if known else " (it takes none)"
                raise SpecError(f"{self.key} has no parameter {key!r}{hint}")
        out: dict[str, Any] = {}
        for p in self.params:
            if p.name in raw:
                out[p.name] = p.coerce(raw[p.name])
            elif p.required:
                raise SpecError(f"{self.key} needs {p.name!r} (e.g. {self.example})")
            else:
                out[p.name] = p.default
        return Params(self.fixup(out) if self.fixup else out)

    def format(self, params: Mapping) -> str:
        head, spelled = self.format_head(params)
        opts = []
        for p in self.params:
            value = params[p.name]
            if p.name in spelled or value == p.default and type(value) is type(p.default):
                continue
            opts.append(value if p.kind == "choice" else f"{p.name}={p.to_text(value)}")
        return ":".join([head, *opts])


# --------------------------------------------------------------------------- head parsing / formatting

# --------------------------------------------------------------------------- head parsing / formatting


def _head_conv(word: str, rest: str) -> dict | None:
    m = re.fullmatch(r"(\d+)k(\d+)(?:x(\d+))?(?:s(\d+))?", rest)
    if m is None:
        return None
    f, kh, kw, s = m.groups()
    out = {"filters": to_int(f), "kernel": [to_int(kh), to_int(kw or kh)]}
    if s is not None:
        out["strides"] = to_int(s)
    return out


def _fmt_conv(p: Mapping) -> tuple[str, tuple[str, ...]]:
    stride = f"s{p['strides']}" if p["strides"] != 1 else ""
    return f"conv{p['filters']}k{fmt_size(p['kernel'])}{stride}", ("filters", "kernel", "strides")


def _head_pool(word: str, rest: str) -> dict | None:
    m = re.fullmatch(r"(\d+)(?:x(\d+))?(?:s(\d+))?", rest)
    if m is None:
        return None
    ph, pw, s = m.groups()
    out: dict[str, Any] = {"pool": [to_int(ph), to_int(pw or ph)]}
    if s is not None:
        out["strides"] = to_int(s)
    return out


def _fmt_pool(word: str) -> Callable[[Mapping], tuple[str, tuple[str, ...]]]:
    def fmt(p: Mapping) -> tuple[str, tuple[str, ...]]:
        stride = f"s{p['strides']}" if p["strides"] is not None else ""
        return f"{word}{fmt_size(p['pool'])}{stride}", ("pool", "strides")
    return fmt


def _pool_fixup(p: dict) -> dict:
    if p["strides"] is not None and pair(p["pool"]) == (p["strides"], p["strides"]):
        p["strides"] = None  # the default: strides = pool size
    return p


def _head_dense(word: str, rest: str) -> dict | None:
    if word == "out":
        return {"units": CLASSES} if rest == "" else None
    return {"units": to_int(rest)} if INT.fullmatch(rest) else None


def _fmt_dense(p: Mapping) -> tuple[str, tuple[str, ...]]:
    return ("out" if p["units"] == CLASSES else f"dense{p['units']}"), ("units",)


def _head_none(word: str, rest: str) -> dict | None:
    return {} if rest == "" else None


def _fmt_word(word: str) -> Callable[[Mapping], tuple[str, tuple[str, ...]]]:
    return lambda p: (word, ())


def _head_activation(word: str, rest: str) -> dict | None:
    return {"activation": ACTIVATION_ALIASES.get(word, word)} if rest == "" else None


def _head_float(name: str) -> Callable[[str, str], dict | None]:
    def parse(word: str, rest: str) -> dict | None:
        return {name: float(rest)} if FLOAT.fullmatch(rest) else None
    return parse


def _fmt_float(word: str, name: str) -> Callable[[Mapping], tuple[str, tuple[str, ...]]]:
    return lambda p: (f"{word}{p[name]!r}", (name,))


# --------------------------------------------------------------------------- the registry

_ACT = Param("activation", "choice", None, choices=ACTIVATIONS, choice_aliases=ACTIVATION_ALIASES,
             aliases=("act",), doc="activation fused into the layer")
_INIT = Param("init", "init", "glorot_uniform", doc="kernel initializer")
_L2 = Param("l2", "float", None, lo=0.0, doc="L2 weight decay on the kernel (overrides the global one)")
_PAD_SAME = Param("padding", "choice", "same", choices=PADDINGS, aliases=("pad",))
_PAD_VALID = Param("padding", "choice", "valid", choices=PADDINGS, aliases=("pad",))
_STRIDES = Param("strides", "int", 1, lo=1, hi=MAX_SIZE, aliases=("s", "stride"))


def _factor(hi_open: bool) -> Param:
    return Param("factor", "float", lo=0.0, lo_open=True, hi=1.0, hi_open=hi_open)


_TYPES = [
    LayerType(
        key="conv2d", word="conv", label="conv2d", category="conv", has_weights=True,
        summary="2D convolution: conv<filters>k<kernel>[x<kernel_w>][s<stride>], padding same unless :valid",
        example="conv32k3", head_hint="conv<filters>k<kernel>[s<stride>], e.g. conv32k3 or conv64k3s2",
        params=(
            Param("filters", "int", lo=1, hi=MAX_WIDTH),
            Param("kernel", "size", lo=1, hi=MAX_SIZE, aliases=("k",)),
            _STRIDES, _PAD_SAME, _ACT, _INIT, _L2,
        ),
        parse_head=_head_conv, format_head=_fmt_conv, shape=shapes.conv_shape, count=shapes.conv_count,
        build=build.conv,
    ),
    LayerType(
        key="dense", word="dense", label="dense", category="dense", has_weights=True, words=("dense", "out"),
        summary="fully connected layer: dense<units>; 'out' = one unit per class of the dataset",
        example="dense128", head_hint="dense<units> (e.g. dense128) or out",
        params=(Param("units", "units", lo=1, hi=MAX_WIDTH), _ACT, _INIT, _L2),
        parse_head=_head_dense, format_head=_fmt_dense, shape=shapes.dense_shape, count=shapes.dense_count,
        build=build.dense,
    ),
    LayerType(
        key="maxpool2d", word="maxpool", label="max_pooling2d", category="pool",
        summary="max pooling: maxpool<size>[s<stride>] (stride defaults to the size)",
        example="maxpool2", head_hint="maxpool<size>[s<stride>], e.g. maxpool2 or maxpool3s2",
        params=(Param("pool", "size", lo=1, hi=MAX_SIZE), Param("strides", "int", None, lo=1, hi=MAX_SIZE,
                                                                aliases=("s", "stride")), _PAD_VALID),
        parse_head=_head_pool, format_head=_fmt_pool("maxpool"), shape=shapes.pool_shape, count=shapes.no_params,
        build=build.pool("MaxPooling2D"), fixup=_pool_fixup,
    ),
    LayerType(
        key="avgpool2d", word="avgpool", label="average_pooling2d", category="pool",
        summary="average pooling: avgpool<size>[s<stride>] (stride defaults to the size)",
        example="avgpool2", head_hint="avgpool<size>[s<stride>], e.g. avgpool2",
        params=(Param("pool", "size", lo=1, hi=MAX_SIZE), Param("strides", "int", None, lo=1, hi=MAX_SIZE,
                                                                aliases=("s", "stride")), _PAD_VALID),
        parse_head=_head_pool, format_head=_fmt_pool("avgpool"), shape=shapes.pool_shape, count=shapes.no_params,
        build=build.pool("AveragePooling2D"), fixup=_pool_fixup,
    ),
    LayerType(
        key="gap", word="gap", label="global_average_pooling2d", category="global_pool",
        summary="global average pooling: one value per channel", example="gap", head_hint="gap",
        params=(), parse_head=_head_none, format_head=_fmt_word("gap"), shape=shapes.gap_shape, count=shapes.no_params,
        build=build.simple("GlobalAveragePooling2D"),
    ),
    LayerType(
        key="flatten", word="flatten", label="flatten", category="flatten",
        summary="flatten an image to a vector", example="flatten", head_hint="flatten",
        params=(), parse_head=_head_none, format_head=_fmt_word("flatten"), shape=shapes.flatten_shape,
        count=shapes.no_params, build=build.simple("Flatten"),
    ),
    LayerType(
        key="bn", word="bn", label="batch_normalization", category="norm", has_weights=True,
        words=("bn", "batchnorm"),
        summary="batch normalization (2 trainable + 2 moving parameters per channel)", example="bn",
        head_hint="bn", params=(), parse_head=_head_none, format_head=_fmt_word("bn"), shape=shapes.same_shape,
        count=shapes.bn_count, build=build.simple("BatchNormalization"),
    ),
    LayerType(
        key="dropout", word="dropout", label="dropout", category="dropout", words=("dropout", "drop"),
        summary="dropout: dropout<rate>, active only in training", example="dropout0.5",
        head_hint="dropout<rate>, e.g. dropout0.5",
        params=(Param("rate", "float", lo=0.0, hi=1.0, hi_open=True),),
        parse_head=_head_float("rate"), format_head=_fmt_float("dropout", "rate"), shape=shapes.same_shape,
        count=shapes.no_params, build=build.simple("Dropout"),
    ),
    LayerType(
        key="activation", word="relu", label="activation", category="activation",
        words=(*ACTIVATIONS, *ACTIVATION_ALIASES),
        summary=f"activation layer: {', '.join(ACTIVATIONS)}", example="relu", head_hint="an activation name",
        params=(Param("activation", "choice", choices=ACTIVATIONS, choice_aliases=ACTIVATION_ALIASES,
                      aliases=("act",)),),
        parse_head=_head_activation, format_head=lambda p: (p["activation"], ("activation",)),
        shape=shapes.same_shape, count=shapes.no_params, build=build.simple("Activation"),
    ),
    LayerType(
        key="random_flip", word="flip", label="random_flip", category="augment",
        summary="random flip (training only): flip, flip:vertical, flip:horizontal_and_vertical",
        example="flip", head_hint="flip",
        params=(Param("mode", "choice", "horizontal", choices=FLIP_MODES, choice_aliases=FLIP_ALIASES),),
        parse_head=_head_none, format_head=_fmt_word("flip"), shape=shapes.image_same_shape, count=shapes.no_params,
        build=build.simple("RandomFlip"),
    ),
    LayerType(
        key="random_rotation", word="rotate", label="random_rotation", category="augment",
        summary="random rotation (training only): rotate<fraction of a full turn>", example="rotate0.05",
        head_hint="rotate<factor>, e.g. rotate0.05", params=(_factor(False),),
        parse_head=_head_float("factor"), format_head=_fmt_float("rotate", "factor"),
        shape=shapes.image_same_shape, count=shapes.no_params, build=build.factor("RandomRotation"),
    ),
    LayerType(
        key="random_zoom", word="zoom", label="random_zoom", category="augment",
        summary="random zoom in/out (training only): zoom<factor>", example="zoom0.1",
        head_hint="zoom<factor>, e.g. zoom0.1", params=(_factor(True),),
        parse_head=_head_float("factor"), format_head=_fmt_float("zoom", "factor"),
        shape=shapes.image_same_shape, count=shapes.no_params, build=build.factor("RandomZoom"),
    ),
    LayerType(
        key="random_translation", word="translate", label="random_translation", category="augment",
        summary="random shift (training only): translate<fraction of the size>", example="translate0.1",
        head_hint="translate<factor>, e.g. translate0.1", params=(_factor(False),),
        parse_head=_head_float("factor"), format_head=_fmt_float("translate", "factor"),
        shape=shapes.image_same_shape, count=shapes.no_params, build=build.factor("RandomTranslation", both_axes=True),
    ),
    LayerType(
        key="random_contrast", word="contrast", label="random_contrast", category="augment",
        summary="random contrast (training only): contrast<factor>", example="contrast0.2",
        head_hint="contrast<factor>, e.g. contrast0.2", params=(_factor(False),),
        parse_head=_head_float("factor"), format_head=_fmt_float("contrast", "factor"),
        shape=shapes.image_same_shape, count=shapes.no_params,
        # inputs may be standardized (negative): do not clip to the default 0..255 range
        build=build.factor("RandomContrast", value_range=(-1e6, 1e6)),
    ),
]

LAYER_TYPES: dict[str, LayerType] = {t.key: t for t in _TYPES}
WORDS: dict[str, LayerType] = {w: t for t in _TYPES for w in (t.words or (t.word,))}


# --------------------------------------------------------------------------- layer specs


@dataclass(frozen=True)
class LayerSpec:
    """One layer of a stack: a registry type key and its canonical parameters (defaults filled in)."""

    type: str
    params: Mapping[str, Any] = field(default_factory=Params)

    def __post_init__(self) -> None:
        lt = LAYER_TYPES.get(self.type)
        if lt is None:
            raise SpecError(f"unknown layer type {self.type!r}; known: {', '.join(LAYER_TYPES)}")
        object.__setattr__(self, "params", lt.canonical(self.params))

    @property
    def layer_type(self) -> LayerType:
        return LAYER_TYPES[self.type]

    @property
    def token(self) -> str:
        """This layer in the one-line notation."""
        return self.layer_type.format(self.params)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"type": self.type}
        for key, value in self.params.items():
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, d: Any) -> LayerSpec:
        if not isinstance(d, Mapping):
            raise SpecError(f"a layer must be a JSON object like {{\"type\": \"dense\", \"units\": 10}}, got {d!r}")
        if "type" not in d:
            raise SpecError("a layer needs a \"type\" (e.g. \"conv2d\", \"dense\", \"maxpool2d\")")
        return cls(d["type"], {k: v for k, v in d.items() if k != "type"})

    def __str__(self) -> str:
        return self.token


def layer_help() -> list[str]:
    """One line per layer type for help screens: ``conv  2D convolution: ...``."""
    return [f"{t.word:<9} {t.summary}" for t in _TYPES]


def layer_label(spec: LayerSpec) -> str:
    """Base of the layer's name: the Keras-like label, or the function for activation layers."""
    return spec.params["activation"] if spec.type == "activation" else spec.layer_type.label


def output_layer_index(stack: list[LayerSpec] | tuple[LayerSpec, ...]) -> int | None:
    """Index of the last conv/dense layer (the one that produces the class scores)."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i].layer_type.category in ("conv", "dense"):
            return i
    return None


def output_activation(stack: list[LayerSpec] | tuple[LayerSpec, ...]) -> str | None:
    """The activation applied to the class scores (last one after the output layer), None for logits."""
    out = output_layer_index(stack)
    if out is None:
        return None
    found = stack[out].params.get("activation")
    for spec in stack[out + 1:]:
        if spec.type == "activation":
            found = spec.params["activation"]
    return found


def output_is_probabilities(stack: list[LayerSpec] | tuple[LayerSpec, ...]) -> bool:
    """True when the model ends in softmax/sigmoid (train with from_logits=False)."""
    return output_activation(stack) in ("softmax", "sigmoid")
