"""Design review of a layer stack before training: findings with severity, layer, reason and fix."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..errors import SpecError
from .layers import LayerSpec, output_activation, output_layer_index
from .params import ShapeError, is_constant_init, pair, shape_str
from .preview import check_input, check_output_shape

SEVERITIES = ("error", "warning", "hint")
CROSSENTROPY = ("sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy")
CATEGORICAL = ("sparse_categorical_crossentropy", "categorical_crossentropy")
LARGE_KERNEL = 7           # kernels above this are "oversized"
FLATTEN_DENSE_LIMIT = 1_000_000
MIN_FIRST_FILTERS_LIMIT = 64

# code -> (severity, what it means); the README's list of lint codes
CODES: dict[str, tuple[str, str]] = {
    "kernel-too-large": ("error", "a 'valid' kernel larger than its input"),
    "pool-too-large": ("error", "pooling would shrink the map below 1x1"),
    "rank-mismatch": ("error", "dense on an image or conv/pool/augmentation on a flat vector"),
    "no-output": ("error", "the stack does not end in one score per class"),
    "output-units": ("error", "output units differ from the number of classes"),
    "zero-init": ("error", "zero kernel initializer in a hidden layer (symmetry never breaks)"),
    "constant-init": ("error", "constant kernel initializer in a hidden layer (symmetry never breaks)"),
    "hidden-softmax": ("warning", "softmax in a hidden layer"),
    "hidden-sigmoid": ("warning", "sigmoid in a hidden layer"),
    "dropout-after-output": ("error", "dropout after the output layer"),
    "sigmoid-categorical": ("warning", "sigmoid output with categorical crossentropy"),
    "softmax-from-logits": ("error", "softmax/sigmoid output while the loss expects logits"),
    "logits-without-flag": ("error", "linear output while the loss expects probabilities"),
    "kernel-covers-input": ("warning", "a kernel (or stacked kernels) wider than the feature map"),
    "large-kernel": ("warning", "oversized kernel (above 7x7)"),
    "first-layer-filters": ("warning", "far too many filters in the first convolution"),
    "filters-shrink": ("warning", "filter count shrinks with depth"),
    "linear-dense-stack": ("warning", "dense layers stacked without a nonlinearity"),
    "flatten-explosion": ("warning", "parameter explosion at flatten-to-dense"),
    "unnormalized-input": ("warning", "inputs are not normalized"),
    "linear-conv-stack": ("hint", "convolutions stacked without a nonlinearity"),
    "linear-network": ("hint", "no nonlinearity anywhere: the whole model is linear"),
    "augment-late": ("hint", "augmentation layer after learned layers"),
    "double-activation": ("hint", "two activations in a row"),
    "zero-init-output": ("hint", "zero/constant initializer on the output layer (harmless there)"),
    "mixed-precision-cpu": ("warning", "mixed precision on a CPU (slower, not faster)"),
    "precision-slow-gpu": ("warning", "a 16-bit precision this GPU has no fast arithmetic for"),
    "units-not-multiple-of-8": ("hint", "units or filters not a multiple of 8 under mixed precision"),
}
# the first compute capability with fast arithmetic in each 16-bit precision (tensor cores)
FAST_PRECISION = {"mixed_float16": (7, 0), "mixed_bfloat16": (8, 0)}


@dataclass(frozen=True)
class Finding:
    """One review comment on a stack."""

    severity: str            # error | warning | hint
    layer: int | None        # 0-based layer index, None for the whole stack
    code: str                # stable id, see CODES
    message: str             # one line
    suggestion: str          # a concrete fix

    def __str__(self) -> str:
        where = f"layer {self.layer + 1}" if self.layer is not None else "stack"
        return f"{self.severity}: {where}: {self.message} [{self.code}] -> {self.suggestion}"


@dataclass
class _Ctx:
    stack: Sequence[LayerSpec]
    shapes: list[tuple[int, ...] | None]   # input shape of each layer (None after a shape error)
    num_classes: int
    loss: str
    from_logits: bool
    normalized_input: bool
    out: int | None                        # index of the output (last conv/dense) layer
    findings: list[Finding]
    precision: str = "float32"
    device_kind: str | None = None         # cpu | gpu | None (not known)
    capability: tuple[int, int] | None = None  # the GPU's CUDA compute capability

    def add(self, code: str, layer: int | None, message: str, suggestion: str,
            severity: str | None = None) -> None:
        self.findings.append(Finding(severity or CODES[code][0], layer, code, message, suggestion))

    def name(self, i: int) -> str:
        return f"{self.stack[i].token!r}"


def lint_stack(stack: Sequence[LayerSpec], input_shape: Sequence[int], num_classes: int, *,
               loss: str = "sparse_categorical_crossentropy", from_logits: bool = False,
               normalized_input: bool = True, precision: str = "float32",
               device_kind: str | None = None,
               capability: tuple[int, int] | None = None) -> list[Finding]:
    """Review a parsed stack; never raises for a parsed stack: shape errors become "error" findings.

    ``precision`` (a RunConfig precision), ``device_kind`` (cpu, gpu, None: not known) and the
    GPU's ``capability`` say where it will train, for the findings on speed there.
    """
    findings: list[Finding] = []
    try:
        shape = check_input(input_shape, num_classes)
    except SpecError as err:
        return [Finding("error", None, "bad-input", str(err), "check the dataset's input shape")]
    if not stack:
        return [Finding("error", None, "no-output", "empty layer stack", "write e.g. flatten-out-softmax")]
    shapes: list[tuple[int, ...] | None] = []
    current: tuple[int, ...] | None = shape
    for i, spec in enumerate(stack):
        shapes.append(current)
        if current is None:
            continue
        try:
            current = spec.layer_type.shape(current, spec.params, num_classes)
        except ShapeError as err:
            findings.append(Finding("error", i, err.code, f"{spec.token!r}: {err}", _SHAPE_FIX[err.code]))
            current = None
    if current is not None:
        try:
            check_output_shape(stack, current, num_classes)
        except ShapeError as err:
            fix = "end the stack with gap-out-softmax or flatten-out-softmax" if err.code == "no-output" \
                else "write 'out' for the last dense layer: it always has one unit per class"
            findings.append(Finding("error", err.layer, err.code, str(err), fix))
    ctx = _Ctx(stack, shapes, num_classes, loss, from_logits, normalized_input,
               output_layer_index(stack), findings, precision, device_kind, capability)
    for rule in _RULES:
        rule(ctx)
    order = {s: n for n, s in enumerate(SEVERITIES)}
    findings.sort(key=lambda f: (f.layer if f.layer is not None else -1, order[f.severity]))
    return findings


def has_errors(findings: Sequence[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


_SHAPE_FIX = {
    "kernel-too-large": "use a smaller kernel, padding same (:same), or less pooling before it",
    "pool-too-large": "remove this pooling layer or pool less earlier",
    "rank-mismatch": "put flatten or gap between the image layers and the dense layers",
}


# --------------------------------------------------------------------------- rules


def _rule_precision(c: _Ctx) -> None:
    if not c.precision.startswith("mixed_"):
        return
    if c.device_kind == "cpu":
        c.add("mixed-precision-cpu", None, f"{c.precision} on the CPU: CPUs gain nothing from 16-bit "
              "math and the casts cost time", "train in float32 on a CPU (--precision float32)")
    fast = FAST_PRECISION.get(c.precision)
    if c.device_kind == "gpu" and c.capability is not None and fast and tuple(c.capability) < fast:
        have = ".".join(map(str, c.capability))
        c.add("precision-slow-gpu", None, f"{c.precision} needs compute capability "
              f"{fast[0]}.{fast[1]}+ for fast math; this GPU has {have}",
              "train in float32 (--precision float32)")
    for i, spec in enumerate(c.stack):
        width = spec.params.get("units") if spec.type == "dense" else spec.params.get("filters")
        if spec.type not in ("dense", "conv2d") or i == c.out or type(width) is not int:
            continue
        if width % 8:
            c.add("units-not-multiple-of-8", i, f"{c.name(i)} has {width} "
                  f"{'units' if spec.type == 'dense' else 'filters'}: tensor cores work in "
                  "multiples of 8", f"use {max(8, round(width / 8) * 8)}")


def _activation_of(spec: LayerSpec) -> str | None:
    return spec.params.get("activation") if spec.type in ("activation", "conv2d", "dense") else None


def _rule_init(c: _Ctx) -> None:
    for i, spec in enumerate(c.stack):
        init = spec.params.get("init")
        if init is None or not is_constant_init(init):
            continue
        if i == c.out:
            c.add("zero-init-output", i, f"{c.name(i)} starts from a constant {init} kernel",
                  "fine for the output layer; the default glorot_uniform works as well")
            continue
        code = "zero-init" if init == "zeros" else "constant-init"
        c.add(code, i, f"{c.name(i)} uses init={init}: every unit gets the same gradient and they "
              "never become different (symmetry)", "drop :init= (glorot_uniform) or use init=he_normal")


def _rule_hidden_squash(c: _Ctx) -> None:
    if c.out is None:
        return
    for i, spec in enumerate(c.stack[: c.out]):
        act = _activation_of(spec)
        if act == "softmax":
            c.add("hidden-softmax", i, f"softmax in a hidden layer ({c.name(i)}) lets only one or a few "
                  "units fire, wasting the layer", "use relu (softmax belongs only after the output layer)")
        elif act == "sigmoid":
            c.add("hidden-sigmoid", i, f"sigmoid in a hidden layer ({c.name(i)}) saturates and "
                  "vanishes gradients", "use relu, elu or gelu in hidden layers")


def _rule_output(c: _Ctx) -> None:
    if c.out is None:
        return
    for i in range(c.out + 1, len(c.stack)):
        if c.stack[i].type == "dropout":
            c.add("dropout-after-output", i, "dropout after the output zeroes random class "
                  "probabilities: they no longer sum to 1 and the crossentropy blows up",
                  "move the dropout before the output layer")
    act = output_activation(c.stack)
    if act == "sigmoid" and c.loss in CATEGORICAL:
        c.add("sigmoid-categorical", c.out, f"sigmoid output with {c.loss}: class scores do not "
              "sum to 1", "use softmax for single-label classification")
    if c.loss in CROSSENTROPY:
        if act in ("softmax", "sigmoid") and c.from_logits:
            c.add("softmax-from-logits", c.out, f"the output already applies {act} but the loss "
                  "uses from_logits=True (it applies it twice)", f"remove the {act} or use from_logits=False")
        elif act not in ("softmax", "sigmoid") and not c.from_logits:
            c.add("logits-without-flag", c.out, "the output is linear (logits) but the loss expects "
                  "probabilities (from_logits=False)", "end with -softmax or use from_logits=True")


def _rule_kernels(c: _Ctx) -> None:
    window, size = 1, None   # receptive field accumulated at the current resolution
    for i, spec in enumerate(c.stack):
        shape = c.shapes[i]
        if spec.type != "conv2d" or shape is None or len(shape) != 3:
            if shape is not None and spec.layer_type.category in ("pool", "flatten", "global_pool"):
                window, size = 1, None
            continue
        kh, kw = pair(spec.params["kernel"])
        if max(kh, kw) > LARGE_KERNEL:
            few = f" and only {spec.params['filters']} filters" if spec.params["filters"] < 16 else ""
            c.add("large-kernel", i, f"{c.name(i)} uses a {kh}x{kw} kernel{few}: many parameters, "
                  "little benefit", "stack 3x3 convolutions (two 3x3 see 5x5) and use more filters")
        if size != shape[:2]:
            window, size = 1, shape[:2]
        window += max(kh, kw) - 1
        h, w = shape[0], shape[1]
        if spec.params["padding"] == "same" and (kh > h or kw > w or window > max(h, w)):
            what = f"its {kh}x{kw} kernel" if kh > h or kw > w else f"the stacked kernels' {window}x{window} window"
            c.add("kernel-covers-input", i, f"{c.name(i)} gets a {h}x{w} input but {what} is wider: "
                  "most of each window is zero padding", "use smaller kernels here or pool less before it")
        if spec.params["strides"] > 1:
            window, size = 1, None


def _rule_filters(c: _Ctx) -> None:
    convs = [i for i, s in enumerate(c.stack) if s.type == "conv2d"]
    if not convs:
        return
    first = convs[0]
    spec, shape = c.stack[first], c.shapes[first]
    if shape is not None and len(shape) == 3:
        kh, kw = pair(spec.params["kernel"])
        limit = max(MIN_FIRST_FILTERS_LIMIT, 4 * kh * kw * shape[2])
        if spec.params["filters"] > limit:
            c.add("first-layer-filters", first, f"{spec.params['filters']} filters on {kh}x{kw}x{shape[2]} "
                  f"input patches: there are not that many useful patterns to find (overkill)",
                  "start with 16-64 filters and grow them with depth")
    has_dense_after = any(s.type == "dense" for s in c.stack[convs[-1]:])
    for prev, i in zip(convs, convs[1:], strict=False):
        now, before = c.stack[i].params["filters"], c.stack[prev].params["filters"]
        if now >= before or (i == convs[-1] and now == c.num_classes and not has_dense_after):
            continue
        c.add("filters-shrink", i, f"{c.name(i)} has fewer filters ({now}) than the convolution "
              f"before it ({before}); deeper layers combine more features", "increase the filter "
              "count with depth, e.g. double it after each pooling")


def _rule_linear_stacks(c: _Ctx) -> None:
    nonlinear_anywhere = False
    pending: int | None = None      # last weight layer without activation, waiting for a nonlinearity
    for i, spec in enumerate(c.stack):
        cat = spec.layer_type.category
        if cat in ("conv", "dense"):
            if pending is not None and c.stack[pending].layer_type.category == cat:
                if cat == "dense":
                    c.add("linear-dense-stack", i, f"{c.name(pending)} feeds {c.name(i)} with no "
                          "activation between: two dense layers collapse into one linear map",
                          f"add an activation after {c.name(pending)}, e.g. -relu")
                else:
                    c.add("linear-conv-stack", i, f"{c.name(pending)} feeds {c.name(i)} with no "
                          "activation between: the convolutions compose into one linear filter",
                          f"add an activation after {c.name(pending)}, e.g. -relu")
            act = spec.params["activation"]
            nonlinear_anywhere |= act is not None and i != c.out
            pending = i if act is None else None
        elif cat in ("activation", "pool", "flatten", "global_pool"):
            if cat == "activation" or spec.type == "maxpool2d":
                nonlinear_anywhere |= c.out is None or i < c.out
                pending = None
    weights = sum(1 for s in c.stack if s.layer_type.category in ("conv", "dense"))
    if weights > 1 and not nonlinear_anywhere:
        c.add("linear-network", None, "no activation between the learned layers: the whole model "
              "is one linear map, no better than the linear classifier", "add relu after hidden layers")


def _rule_flatten_dense(c: _Ctx) -> None:
    total = 0
    counts = []
    for i, spec in enumerate(c.stack):
        shape = c.shapes[i]
        n = spec.layer_type.count(shape, spec.params, c.num_classes)[0] if shape is not None else 0
        counts.append(n)
        total += n
    for i, spec in enumerate(c.stack[:-1]):
        nxt = c.stack[i + 1]
        if spec.type == "flatten" and nxt.type == "dense" and counts[i + 1] > FLATTEN_DENSE_LIMIT:
            feats = c.shapes[i + 1][0] if c.shapes[i + 1] is not None else 0
            c.add("flatten-explosion", i + 1, f"flatten gives {feats:,} features from "
                  f"{shape_str(c.shapes[i])}, so {nxt.token!r} holds {counts[i + 1]:,} parameters "
                  f"({100 * counts[i + 1] // max(total, 1)}% of the model)",
                  "downsample more before flatten (pooling, strided convs) or use gap instead")


def _rule_input(c: _Ctx) -> None:
    if c.normalized_input:
        return
    for spec in c.stack:
        if spec.type == "bn":
            return
        if spec.layer_type.has_weights:
            break
    c.add("unnormalized-input", None, "the inputs are fed unnormalized (raw 0-255 pixels): "
          "training is slow and unstable", "enable input normalization (scale to 0-1 or standardize) "
          "or start the stack with bn")


def _rule_augment(c: _Ctx) -> None:
    seen_weights = False
    for i, spec in enumerate(c.stack):
        if spec.layer_type.category == "augment" and seen_weights:
            c.add("augment-late", i, f"{c.name(i)} transforms features, not images",
                  "put augmentation layers at the start of the stack")
        seen_weights |= spec.layer_type.has_weights


def _rule_double_activation(c: _Ctx) -> None:
    for i in range(1, len(c.stack)):
        if c.stack[i].type == "activation" and _activation_of(c.stack[i - 1]) is not None:
            c.add("double-activation", i, f"{c.name(i)} follows {c.name(i - 1)}, which already "
                  "applies an activation", "keep only one of the two activations")


_RULES: tuple[Callable[[_Ctx], None], ...] = (
    _rule_input, _rule_init, _rule_hidden_squash, _rule_output, _rule_kernels, _rule_filters,
    _rule_linear_stacks, _rule_flatten_dense, _rule_augment, _rule_double_activation, _rule_precision,
)
