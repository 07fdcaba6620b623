"""The one registry of layer types: notation word, parameters, shape rule, parameter count, Keras constructor."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import SpecError

CLASSES = "classes"  # units placeholder: as many units as the dataset has classes
ACTIVATIONS = ("relu", "leaky_relu", "elu", "gelu", "swish", "tanh", "sigmoid", "softmax")
ACTIVATION_ALIASES = {"lrelu": "leaky_relu", "leakyrelu": "leaky_relu", "silu": "swish"}
PADDINGS = ("same", "valid")
FLIP_MODES = ("horizontal", "vertical", "horizontal_and_vertical")
FLIP_ALIASES = {"h": "horizontal", "v": "vertical", "hv": "horizontal_and_vertical", "both": "horizontal_and_vertical"}
INIT_NAMES = (
    "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "orthogonal", "zeros", "ones",
)
INIT_SCALED = ("truncated_normal", "normal", "uniform", "constant")  # written with a number: normal0.1
INIT_ALIASES = {"zero": "zeros", "one": "ones", "random_normal": "normal0.05", "random_uniform": "uniform0.05",
                "glorot": "glorot_uniform", "xavier": "glorot_uniform", "he": "he_normal"}
CONSTANT_INITS = ("zeros", "ones", "constant")  # every unit starts identical: symmetry never breaks
MAX_WIDTH = 100_000  # filters / units
MAX_SIZE = 1_000     # kernel / pool / stride

FLOAT_RE = r"(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
_FLOAT = re.compile(FLOAT_RE)
_INT = re.compile(r"\d+")
_SIZE = re.compile(r"(\d+)(?:x(\d+))?")
_INIT_SCALED = re.compile(rf"({'|'.join(INIT_SCALED)})({FLOAT_RE})")

Shape = tuple[int, ...]
_REQUIRED = object()


class ShapeError(SpecError):
    """A stack that parses but cannot run on this input; ``code`` names the problem for the linter."""

    def __init__(self, message: str, *, code: str, layer: int | None = None):
        super().__init__(message, layer=layer)
        self.code = code


def shape_str(shape: Shape) -> str:
    """``(7, 7, 64)`` -> ``7x7x64``."""
    return "x".join(str(d) for d in shape)


def fmt_num(value: Any) -> str:
    """Notation text of a number: ints plainly, floats by ``repr`` so they parse back exactly."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def fmt_size(value: int | tuple[int, int]) -> str:
    return f"{value[0]}x{value[1]}" if isinstance(value, tuple) else str(value)


def to_int(digits: str) -> int:
    """``int()`` of a digit string, capped so absurdly long numbers fail the range check, not Python."""
    return int(digits) if len(digits) <= 12 else 10**12


def pair(value: int | tuple[int, int]) -> tuple[int, int]:
    return value if isinstance(value, tuple) else (value, value)


def canonical_init(text: str) -> str | None:
    """Canonical initializer name (``random_normal`` -> ``normal0.05``), or None when unknown."""
    text = INIT_ALIASES.get(text, text)
    if text in INIT_NAMES:
        return text
    m = _INIT_SCALED.fullmatch(text)
    if m is None:
        return None
    value = float(m.group(2))
    return f"{m.group(1)}{value!r}" if math.isfinite(value) else None


def is_constant_init(init: str) -> bool:
    return any(init.startswith(name) for name in CONSTANT_INITS)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Param:
    """One parameter of a layer type: its JSON name, kind, default and allowed range."""

    name: str
    kind: str  # int | float | size | choice | init | units
    default: Any = _REQUIRED
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] = ()
    choice_aliases: Mapping[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()  # other option names accepted in the notation
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def range_text(self) -> str:
        lo = "" if self.lo is None else f"{'>' if self.lo_open else '>='} {fmt_num(self.lo)}"
        hi = "" if self.hi is None else f"{'<' if self.hi_open else '<='} {fmt_num(self.hi)}"
        return " and ".join(p for p in (lo, hi) if p)

    def _check_range(self, value: float) -> None:
        bad = (
            (self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo))
            or (self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi))
        )
        if bad:
            raise SpecError(f"{self.name} must be {self.range_text()}, got {fmt_num(value)}")

    def coerce(self, value: Any) -> Any:
        """Validate a JSON/notation value and return its canonical form; SpecError (no layer) if bad."""
        if value is None and self.default is None:
            return None
        kind = self.kind
        if kind in ("int", "units"):
            if kind == "units" and value == CLASSES:
                return CLASSES
            if not isinstance(value, int) or isinstance(value, bool):
                extra = f" or '{CLASSES}'" if kind == "units" else ""
                raise SpecError(f"{self.name} must be a whole number{extra}, got {value!r}")
            self._check_range(value)
            return value
        if kind == "float":
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise SpecError(f"{self.name} must be a number, got {value!r}")
            value = float(value)
            if not math.isfinite(value):
                raise SpecError(f"{self.name} must be a finite number, got {value!r}")
            self._check_range(value)
            return value
        if kind == "size":
            if isinstance(value, (list, tuple)) and len(value) == 2:
                h, w = (self.coerce_int_part(v) for v in value)
                return h if h == w else (h, w)
            return self.coerce_int_part(value)
        if kind == "choice":
            if isinstance(value, str):
                value = self.choice_aliases.get(value.lower(), value.lower())
                if value in self.choices:
                    return value
            raise SpecError(f"{self.name} must be one of {', '.join(self.choices)}; got {value!r}")
        if kind == "init":
            init = canonical_init(value.lower()) if isinstance(value, str) else None
            if init is None:
                raise SpecError(
                    f"unknown initializer {value!r}; use one of {', '.join(INIT_NAMES)} "
                    "or normal<std>, uniform<limit>, truncated_normal<std>, constant<value>"
                )
            return init
        raise AssertionError(kind)

    def coerce_int_part(self, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise SpecError(f"{self.name} must be a whole number or a pair [height, width], got {value!r}")
        self._check_range(value)
        return value

    def from_text(self, text: str) -> Any:
        """Convert an option value written in the notation (``:l2=1e-4``)."""
        kind = self.kind
        if kind in ("int", "units"):
            if kind == "units" and text == CLASSES:
                return CLASSES
            if not _INT.fullmatch(text):
                raise SpecError(f"{self.name} must be a whole number, got {text!r}")
            return self.coerce(to_int(text))
        if kind == "float":
            if not _FLOAT.fullmatch(text):
                raise SpecError(f"{self.name} must be a number like 0.5 or 1e-4, got {text!r}")
            return self.coerce(float(text))
        if kind == "size":
            m = _SIZE.fullmatch(text)
            if m is None:
                raise SpecError(f"{self.name} must be a size like 3 or 3x5, got {text!r}")
            return self.coerce([to_int(m.group(1)), to_int(m.group(2) or m.group(1))])
        return self.coerce(text)

    def to_text(self, value: Any) -> str:
        return fmt_size(value) if self.kind == "size" else fmt_num(value)


class Params(Mapping):
    """An immutable, hashable parameter mapping (values are JSON scalars or int pairs)."""

    __slots__ = ("_d",)

    def __init__(self, data: Mapping[str, Any] = ()):
        self._d = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._d.items(), key=lambda kv: kv[0])))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            return self._d == dict(other.items())
        return NotImplemented

    def __repr__(self) -> str:
        return repr(self._d)


# --------------------------------------------------------------------------- layer types


@dataclass
class BuildContext:
    """What a Keras constructor needs besides the layer's own parameters."""

    keras: Any
    num_classes: int
    l2: float | None = None


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


# --------------------------------------------------------------------------- shape rules


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


def _conv_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("conv", shape)
    (h, w, _), (kh, kw), s = shape, pair(p["kernel"]), p["strides"]
    if p["padding"] == "valid" and (kh > h or kw > w):
        raise ShapeError(
            f"{kh}x{kw} kernel is larger than its {h}x{w} input (padding valid); "
            "use a smaller kernel, padding same, or less pooling before it",
            code="kernel-too-large",
        )
    return (_spatial_out(h, kh, s, p["padding"]), _spatial_out(w, kw, s, p["padding"]), p["filters"])


def _conv_count(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    kh, kw = pair(p["kernel"])
    n = kh * kw * shape[-1] * p["filters"] + p["filters"]
    return n, n


def _pool_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
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


def _gap_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("gap", shape)
    return (shape[-1],)


def _flatten_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    return (math.prod(shape),)


def _same_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    return shape


def _image_same_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    _need_image("augmentation", shape)
    return shape


def _units(p: Mapping, classes: int) -> int:
    return classes if p["units"] == CLASSES else p["units"]


def _dense_shape(shape: Shape, p: Mapping, classes: int) -> Shape:
    if len(shape) != 1:
        raise ShapeError(
            f"dense needs a flat input but gets {shape_str(shape)}; put flatten or gap before it",
            code="rank-mismatch",
        )
    return (_units(p, classes),)


def _dense_count(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    u = _units(p, classes)
    n = shape[-1] * u + u
    return n, n


def _bn_count(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    return 4 * shape[-1], 2 * shape[-1]


def _no_params(shape: Shape, p: Mapping, classes: int) -> tuple[int, int]:
    return 0, 0


# --------------------------------------------------------------------------- Keras constructors (keras passed in)


def keras_initializer(keras: Any, init: str) -> Any:
    m = _INIT_SCALED.fullmatch(init)
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


def _build_conv(p: Mapping, name: str, ctx: BuildContext) -> Any:
    return ctx.keras.layers.Conv2D(
        p["filters"], pair(p["kernel"]), strides=p["strides"], padding=p["padding"],
        name=name, **_weights_kwargs(p, ctx),
    )


def _build_dense(p: Mapping, name: str, ctx: BuildContext) -> Any:
    return ctx.keras.layers.Dense(_units(p, ctx.num_classes), name=name, **_weights_kwargs(p, ctx))


def _build_pool(cls_name: str) -> Callable[[Mapping, str, BuildContext], Any]:
    def build(p: Mapping, name: str, ctx: BuildContext) -> Any:
        strides = pair(p["strides"]) if p["strides"] is not None else None
        cls = getattr(ctx.keras.layers, cls_name)
        return cls(pool_size=pair(p["pool"]), strides=strides, padding=p["padding"], name=name)
    return build


def _build_simple(cls_name: str, **fixed: Any) -> Callable[[Mapping, str, BuildContext], Any]:
    def build(p: Mapping, name: str, ctx: BuildContext) -> Any:
        return getattr(ctx.keras.layers, cls_name)(name=name, **fixed, **p)
    return build


def _build_factor(cls_name: str, both_axes: bool = False, **fixed: Any) -> Callable[..., Any]:
    def build(p: Mapping, name: str, ctx: BuildContext) -> Any:
        cls = getattr(ctx.keras.layers, cls_name)
        if both_axes:
            return cls(p["factor"], p["factor"], name=name, **fixed)
        return cls(p["factor"], name=name, **fixed)
    return build


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
    return {"units": to_int(rest)} if _INT.fullmatch(rest) else None


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
        return {name: float(rest)} if _FLOAT.fullmatch(rest) else None
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
        parse_head=_head_conv, format_head=_fmt_conv, shape=_conv_shape, count=_conv_count,
        build=_build_conv,
    ),
    LayerType(
        key="dense", word="dense", label="dense", category="dense", has_weights=True, words=("dense", "out"),
        summary="fully connected layer: dense<units>; 'out' = one unit per class of the dataset",
        example="dense128", head_hint="dense<units> (e.g. dense128) or out",
        params=(Param("units", "units", lo=1, hi=MAX_WIDTH), _ACT, _INIT, _L2),
        parse_head=_head_dense, format_head=_fmt_dense, shape=_dense_shape, count=_dense_count,
        build=_build_dense,
    ),
    LayerType(
        key="maxpool2d", word="maxpool", label="max_pooling2d", category="pool",
        summary="max pooling: maxpool<size>[s<stride>] (stride defaults to the size)",
        example="maxpool2", head_hint="maxpool<size>[s<stride>], e.g. maxpool2 or maxpool3s2",
        params=(Param("pool", "size", lo=1, hi=MAX_SIZE), Param("strides", "int", None, lo=1, hi=MAX_SIZE,
                                                                aliases=("s", "stride")), _PAD_VALID),
        parse_head=_head_pool, format_head=_fmt_pool("maxpool"), shape=_pool_shape, count=_no_params,
        build=_build_pool("MaxPooling2D"), fixup=_pool_fixup,
    ),
    LayerType(
        key="avgpool2d", word="avgpool", label="average_pooling2d", category="pool",
        summary="average pooling: avgpool<size>[s<stride>] (stride defaults to the size)",
        example="avgpool2", head_hint="avgpool<size>[s<stride>], e.g. avgpool2",
        params=(Param("pool", "size", lo=1, hi=MAX_SIZE), Param("strides", "int", None, lo=1, hi=MAX_SIZE,
                                                                aliases=("s", "stride")), _PAD_VALID),
        parse_head=_head_pool, format_head=_fmt_pool("avgpool"), shape=_pool_shape, count=_no_params,
        build=_build_pool("AveragePooling2D"), fixup=_pool_fixup,
    ),
    LayerType(
        key="gap", word="gap", label="global_average_pooling2d", category="global_pool",
        summary="global average pooling: one value per channel", example="gap", head_hint="gap",
        params=(), parse_head=_head_none, format_head=_fmt_word("gap"), shape=_gap_shape, count=_no_params,
        build=_build_simple("GlobalAveragePooling2D"),
    ),
    LayerType(
        key="flatten", word="flatten", label="flatten", category="flatten",
        summary="flatten an image to a vector", example="flatten", head_hint="flatten",
        params=(), parse_head=_head_none, format_head=_fmt_word("flatten"), shape=_flatten_shape,
        count=_no_params, build=_build_simple("Flatten"),
    ),
    LayerType(
        key="bn", word="bn", label="batch_normalization", category="norm", has_weights=True,
        words=("bn", "batchnorm"),
        summary="batch normalization (2 trainable + 2 moving parameters per channel)", example="bn",
        head_hint="bn", params=(), parse_head=_head_none, format_head=_fmt_word("bn"), shape=_same_shape,
        count=_bn_count, build=_build_simple("BatchNormalization"),
    ),
    LayerType(
        key="dropout", word="dropout", label="dropout", category="dropout", words=("dropout", "drop"),
        summary="dropout: dropout<rate>, active only in training", example="dropout0.5",
        head_hint="dropout<rate>, e.g. dropout0.5",
        params=(Param("rate", "float", lo=0.0, hi=1.0, hi_open=True),),
        parse_head=_head_float("rate"), format_head=_fmt_float("dropout", "rate"), shape=_same_shape,
        count=_no_params, build=_build_simple("Dropout"),
    ),
    LayerType(
        key="activation", word="relu", label="activation", category="activation",
        words=(*ACTIVATIONS, *ACTIVATION_ALIASES),
        summary=f"activation layer: {', '.join(ACTIVATIONS)}", example="relu", head_hint="an activation name",
        params=(Param("activation", "choice", choices=ACTIVATIONS, choice_aliases=ACTIVATION_ALIASES,
                      aliases=("act",)),),
        parse_head=_head_activation, format_head=lambda p: (p["activation"], ("activation",)),
        shape=_same_shape, count=_no_params, build=_build_simple("Activation"),
    ),
    LayerType(
        key="random_flip", word="flip", label="random_flip", category="augment",
        summary="random flip (training only): flip, flip:vertical, flip:horizontal_and_vertical",
        example="flip", head_hint="flip",
        params=(Param("mode", "choice", "horizontal", choices=FLIP_MODES, choice_aliases=FLIP_ALIASES),),
        parse_head=_head_none, format_head=_fmt_word("flip"), shape=_image_same_shape, count=_no_params,
        build=_build_simple("RandomFlip"),
    ),
    LayerType(
        key="random_rotation", word="rotate", label="random_rotation", category="augment",
        summary="random rotation (training only): rotate<fraction of a full turn>", example="rotate0.05",
        head_hint="rotate<factor>, e.g. rotate0.05", params=(_factor(False),),
        parse_head=_head_float("factor"), format_head=_fmt_float("rotate", "factor"),
        shape=_image_same_shape, count=_no_params, build=_build_factor("RandomRotation"),
    ),
    LayerType(
        key="random_zoom", word="zoom", label="random_zoom", category="augment",
        summary="random zoom in/out (training only): zoom<factor>", example="zoom0.1",
        head_hint="zoom<factor>, e.g. zoom0.1", params=(_factor(True),),
        parse_head=_head_float("factor"), format_head=_fmt_float("zoom", "factor"),
        shape=_image_same_shape, count=_no_params, build=_build_factor("RandomZoom"),
    ),
    LayerType(
        key="random_translation", word="translate", label="random_translation", category="augment",
        summary="random shift (training only): translate<fraction of the size>", example="translate0.1",
        head_hint="translate<factor>, e.g. translate0.1", params=(_factor(False),),
        parse_head=_head_float("factor"), format_head=_fmt_float("translate", "factor"),
        shape=_image_same_shape, count=_no_params, build=_build_factor("RandomTranslation", both_axes=True),
    ),
    LayerType(
        key="random_contrast", word="contrast", label="random_contrast", category="augment",
        summary="random contrast (training only): contrast<factor>", example="contrast0.2",
        head_hint="contrast<factor>, e.g. contrast0.2", params=(_factor(False),),
        parse_head=_head_float("factor"), format_head=_fmt_float("contrast", "factor"),
        shape=_image_same_shape, count=_no_params,
        # inputs may be standardized (negative): do not clip to the default 0..255 range
        build=_build_factor("RandomContrast", value_range=(-1e6, 1e6)),
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
