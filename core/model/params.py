"""Layer parameters: the notation's vocabulary (activations, initializers, limits), shapes, Param."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
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
MAX_LAYERS = 1_000   # layers in one stack

FLOAT_RE = r"(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?"
FLOAT = re.compile(FLOAT_RE)
INT = re.compile(r"\d+")
SIZE = re.compile(r"(\d+)(?:x(\d+))?")
INIT_SCALED_RE = re.compile(rf"({'|'.join(INIT_SCALED)})({FLOAT_RE})")

Shape = tuple[int, ...]
REQUIRED = object()


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
    m = INIT_SCALED_RE.fullmatch(text)
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
    default: Any = REQUIRED
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
        return self.default is REQUIRED

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
            if not INT.fullmatch(text):
                raise SpecError(f"{self.name} must be a whole number, got {text!r}")
            return self.coerce(to_int(text))
        if kind == "float":
            if not FLOAT.fullmatch(text):
                raise SpecError(f"{self.name} must be a number like 0.5 or 1e-4, got {text!r}")
            return self.coerce(float(text))
        if kind == "size":
            m = SIZE.fullmatch(text)
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
