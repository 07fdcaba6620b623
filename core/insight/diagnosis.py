"""Curve diagnosis: plain-language findings about a run's learning curves, each with evidence and a fix."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..browse.curves import RunCurves, load_curves, smooth
from ..errors import KeraslabError
from ..rundir.kind import run_kind
from ..rundir.layout import KERASLAB
from ..rundir.reader import load_run

# Keras and TensorBoard spell accuracy several ways; the first present is used.
ACCURACY_NAMES = ("accuracy", "acc", "sparse_categorical_accuracy", "categorical_accuracy")
PATIENCE = 3              # the early-stopping patience the saving is counted for
BN_FEW_STEPS = 1000       # updates after which BatchNorm's moving statistics (momentum 0.99) have caught up
SEVERITY_ORDER = {"error": 0, "warning": 1, "hint": 2}

# code -> (severity, what it means); the README's list of diagnosis codes
CODES: dict[str, tuple[str, str]] = {
    "not-finite": ("error", "the loss became NaN or infinite"),
    "diverging": ("error", "the training loss grew instead of falling"),
    "lr-too-high": ("error", "loss jumps or accuracy at chance: the learning rate is likely too high"),
    "batchnorm-gap": ("warning", "validation at chance from the first epoch in a BatchNorm model trained briefly"),
    "overfitting": ("warning", "validation loss rising while training loss falls"),
    "underfitting": ("warning", "training accuracy low and no better than validation"),
    "lr-too-low": ("warning", "a slow, straight descent: the learning rate is likely too low"),
    "plateau": ("warning", "the training loss stopped moving before the model fit"),
    "noisy-validation": ("hint", "validation loss zig-zags from epoch to epoch"),
    "early-stopping": ("hint", "the best epoch is far before the last"),
}


@dataclass(frozen=True)
class Diagnosis:
    """One finding about the curves: what was seen (with epochs and values) and what to try."""

    code: str        # stable id, see CODES
    severity: str    # error | warning | hint
    message: str     # one line with its evidence
    suggestion: str  # a concrete thing to try
    epoch: int | None = None  # where it starts, when it has a start

    def __str__(self) -> str:
        return f"{self.severity}: {self.message} -> {self.suggestion}"


@dataclass
class CurveContext:
    """What the curves alone do not say; every field may be unknown (None), e.g. for TensorBoard runs."""

    num_classes: int | None = None
    batchnorm: bool | None = None
    steps_per_epoch: int | None = None
    unit: str = "epoch"   # what the x values count (TensorBoard tags not written per epoch: step)


@dataclass
class RunDiagnosis:
    """A run's findings, the epochs they were read from, and what was missing to judge more."""

    path: Path
    findings: list[Diagnosis]
    epochs: int
    context: CurveContext
    notes: list[str] = field(default_factory=list)


class _Series:
    """One metric's (x, value) points, cut at the first non-finite value."""

    def __init__(self, xs: Sequence[float], ys: Sequence[float]):
        self.xs, self.ys = [], []
        self.bad_x: float | None = None
        for x, y in zip(xs, ys, strict=False):
            if not math.isfinite(y):
                self.bad_x, self.bad_y = x, y
                break
            self.xs.append(x)
            self.ys.append(float(y))

    def __len__(self) -> int:
        return len(self.ys)

    def at(self, x: float) -> float | None:
        try:
            return self.ys[self.xs.index(x)]
        except ValueError:
            return None


def _x(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _v(v: float) -> str:
    return f"{v:.4g}"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


def diagnose_curves(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                    context: CurveContext | None = None) -> list[Diagnosis]:
    """Findings about per-epoch curves given as ``{metric: (xs, values)}`` (Keras names:
    loss, val_loss, accuracy, val_accuracy); most severe first. A healthy run gets none."""
    ctx = context or CurveContext()
    unit = ctx.unit
    loss = _Series(*curves.get("loss", ((), ())))
    val_loss = _Series(*curves.get("val_loss", ((), ())))
    acc_name = next((n for n in ACCURACY_NAMES if n in curves), None)
    acc = _Series(*curves[acc_name]) if acc_name else _Series((), ())
    val_acc = _Series(*curves["val_" + acc_name]) if acc_name and "val_" + acc_name in curves else _Series((), ())
    chance = 1 / ctx.num_classes if ctx.num_classes and ctx.num_classes > 1 else None

    out: list[Diagnosis] = []
    for name, s in (("training", loss), ("validation", val_loss)):
        if s.bad_x is not None:
            out.append(Diagnosis(
                "not-finite", "error",
                f"the {name} loss became {s.bad_y} at {unit} {_x(s.bad_x)}"
                + (f" (it was {_v(s.ys[-1])} at {unit} {_x(s.xs[-1])})" if s.ys else ""),
                "lower the learning rate (ten times), check the inputs are normalized, "
                "or use a loss that matches the output (from_logits)",
                int(s.bad_x),
            ))
            break
    bn_gap = _batchnorm_gap(acc, val_acc, val_loss, chance, ctx, unit)
    if bn_gap:
        out.append(bn_gap)
    high = _lr_too_high(loss, acc, chance, unit)
    if high:
        out.append(high)
    elif (div := _diverging(loss, unit)) is not None:
        out.append(div)
    fitting = _overfitting(loss, val_loss, unit) if not bn_gap else None
    if fitting:
        out.append(fitting)
    if not high and not any(d.code in ("not-finite", "diverging") for d in out):
        low = _lr_too_low(loss, acc, unit)
        if low:
            out.append(low)
        under = _underfitting(acc, val_acc, loss, chance, unit) if not bn_gap else None
        if under:
            out.append(under)
        if not low:
            flat = _plateau(loss, acc, unit)
            if flat:
                out.append(flat)
    noisy = _noisy(val_loss, unit) if not bn_gap else None
    if noisy:
        out.append(noisy)
    stop = _early_stopping(val_loss, val_acc, unit) if not bn_gap else None
    if stop:
        out.append(stop)
    return sorted(out, key=lambda d: SEVERITY_ORDER[d.severity])


def _lr_too_high(loss: _Series, acc: _Series, chance: float | None, unit: str) -> Diagnosis | None:
    """Accuracy stuck at chance while the loss is not falling, or the loss jumping up."""
    if chance is not None and len(acc) >= 2 and max(acc.ys) < 1.5 * chance:
        guess = -math.log(chance)  # the crossentropy of predicting every class equally
        peak = max(loss.ys) if loss else 0.0
        if not loss or loss.ys[-1] > 0.9 * guess or loss.ys[-1] > 0.9 * loss.ys[0]:
            blew = f"; it peaked at {_v(peak)} at {unit} {_x(loss.xs[loss.ys.index(peak)])}" if peak > 10 * guess else ""
            return Diagnosis(
                "lr-too-high", "error",
                f"training accuracy stays at chance ({_pct(max(acc.ys))} at best over {len(acc)} {unit}s, "
                f"chance is {_pct(chance)})"
                + (f" and the loss ({_v(loss.ys[-1])}) is no better than guessing ({_v(guess)}){blew}" if loss else ""),
                "lower the learning rate ten times (if it is already small, check the labels and the output layer)",
                int(acc.xs[0]),
            )
    # a jump is large against the previous epoch and against where the loss started: a
    # near-zero loss doubling (0.004 to 0.008) is noise, not a learning rate too high
    scale = 0.1 * max(loss.ys[:1] or [0.0])
    jumps = [(i, loss.ys[i - 1], loss.ys[i]) for i in range(1, len(loss))
             if loss.ys[i] > 1.5 * loss.ys[i - 1] and loss.ys[i] - loss.ys[i - 1] > scale]
    if jumps and len(loss) >= 3:
        i, before, after = max(jumps, key=lambda j: j[2] / max(j[1], 1e-12))
        return Diagnosis(
            "lr-too-high", "error",
            f"the training loss jumped from {_v(before)} to {_v(after)} at {unit} {_x(loss.xs[i])}"
            + (f" ({len(jumps)} jumps)" if len(jumps) > 1 else ""),
            "lower the learning rate (three to ten times) or use a decaying schedule",
            int(loss.xs[i]),
        )
    return None


def _diverging(loss: _Series, unit: str) -> Diagnosis | None:
    if len(loss) < 3:
        return None
    first, last, low = loss.ys[0], loss.ys[-1], min(loss.ys)
    if last > 1.2 * first and last > 2 * low:
        return Diagnosis(
            "diverging", "error",
            f"the training loss grew from {_v(first)} ({unit} {_x(loss.xs[0])}) to {_v(last)} "
            f"({unit} {_x(loss.xs[-1])})",
            "lower the learning rate ten times",
            int(loss.xs[loss.ys.index(low)]),
        )
    return None


def _batchnorm_gap(acc: _Series, val_acc: _Series, val_loss: _Series, chance: float | None,
                   ctx: CurveContext, unit: str) -> Diagnosis | None:
    """High training accuracy while validation stays near chance from the first epoch (its
    loss never far from guessing), in a BatchNorm model trained for few updates: the moving
    statistics used at inference have not caught up."""
    if chance is None or not acc or not val_acc or ctx.batchnorm is False:
        return None
    guess = -math.log(chance)
    if (acc.ys[-1] < max(0.6, 3 * chance) or max(val_acc.ys) > 3.5 * chance
            or val_acc.ys[-1] > 2 * chance or (val_loss and min(val_loss.ys) < 0.8 * guess)):
        return None
    steps = ctx.steps_per_epoch * len(acc) if ctx.steps_per_epoch else None
    if steps is not None and steps > BN_FEW_STEPS:
        return None
    did = f" after {steps} updates" if steps else ""
    where = "the model has BatchNormalization" if ctx.batchnorm else "if the model has BatchNormalization"
    return Diagnosis(
        "batchnorm-gap", "warning",
        f"training accuracy reached {_pct(acc.ys[-1])}{did} but validation accuracy stayed near chance "
        f"({_pct(val_acc.ys[-1])} at {unit} {_x(val_acc.xs[-1])}, never above {_pct(max(val_acc.ys))}; "
        f"chance {_pct(chance)}) from {unit} {_x(val_acc.xs[0])}: not overfitting; {where} and "
        "the moving statistics it uses at inference have not caught up",
        "train longer (more epochs or a smaller batch size), or lower the BatchNormalization momentum (e.g. 0.9)",
        int(val_acc.xs[0]),
    )


def _overfitting(loss: _Series, val_loss: _Series, unit: str) -> Diagnosis | None:
    """Validation loss past its minimum and rising, while the training loss keeps falling."""
    if len(val_loss) < 4 or len(loss) < 4:
        return None
    trend = smooth(val_loss.ys, 0.5)
    best = min(range(len(trend)), key=lambda i: (trend[i], -i))
    if best >= len(trend) - 2:
        return None
    best = min(range(best + 1), key=lambda i: (val_loss.ys[i], -i))  # the raw low (its last epoch) before the trend's
    x_best = val_loss.xs[best]
    v_best, v_last = val_loss.ys[best], val_loss.ys[-1]
    t_best, t_last = loss.at(x_best), loss.ys[-1]
    if t_best is None or not (v_last > 1.1 * v_best and trend[-1] > trend[best] * 1.05 and t_last < t_best):
        return None
    return Diagnosis(
        "overfitting", "warning",
        f"overfitting from {unit} {_x(x_best)}: validation loss rose from {_v(v_best)} to {_v(v_last)} "
        f"({unit} {_x(val_loss.xs[-1])}) while training loss fell from {_v(t_best)} to {_v(t_last)}",
        "add dropout or L2 weight decay, augment the data, use a smaller model, or stop early "
        "(--early-stopping)",
        int(x_best),
    )


def _underfitting(acc: _Series, val_acc: _Series, loss: _Series, chance: float | None,
                  unit: str) -> Diagnosis | None:
    """The model fits its own training data poorly, and no better than unseen data."""
    if len(acc) < 3:
        return None
    a = acc.ys[-1]
    if a >= 0.9 or (chance is not None and a < 1.5 * chance):
        return None
    va = val_acc.at(acc.xs[-1]) if val_acc else None
    if va is not None and a - va > 0.05:
        return None
    if len(loss) >= 2 and loss.ys[-1] < 0.97 * loss.ys[-2]:
        return None  # still learning: not judged yet
    return Diagnosis(
        "underfitting", "warning",
        f"underfitting: training accuracy is only {_pct(a)} at {unit} {_x(acc.xs[-1])}"
        + (f" (validation {_pct(va)})" if va is not None else "")
        + " and the training loss has levelled off",
        "use a bigger model (more filters or units), a higher learning rate, or less regularization",
        int(acc.xs[-1]),
    )


def _lr_too_low(loss: _Series, acc: _Series, unit: str) -> Diagnosis | None:
    """The loss falls every epoch by about the same small amount: a straight, slow descent
    instead of the fast-then-slow curve of a well-set learning rate."""
    n = len(loss)
    if n < 4 or (acc and acc.ys[-1] >= 0.9):
        return None
    ys = loss.ys
    drops = [ys[i - 1] - ys[i] for i in range(1, n)]
    if min(drops) <= 0 or ys[-1] < 0.7 * ys[0]:
        return None
    q = max(1, len(drops) // 3)
    early, late = sum(drops[:q]) / q, sum(drops[-q:]) / q
    if late < 0.5 * early:
        return None
    return Diagnosis(
        "lr-too-low", "warning",
        f"the training loss falls slowly and steadily: {_v(ys[0])} to {_v(ys[-1])} over {n} {unit}s "
        f"(about {_v(late)} per {unit}, no sign of levelling off)",
        "raise the learning rate (three to ten times) or train much longer",
        int(loss.xs[0]),
    )


def _plateau(loss: _Series, acc: _Series, unit: str) -> Diagnosis | None:
    """The training loss stopped moving while the model is still far from fitting."""
    n = len(loss)
    k = max(3, n // 4)
    if n < k + 2 or (acc and acc.ys[-1] >= 0.97) or loss.ys[-1] < 0.05:
        return None
    tail = loss.ys[-k:]
    spread = (max(tail) - min(tail)) / max(abs(tail[0]), 1e-12)
    if spread > 0.01:
        return None
    start = loss.xs[n - k]
    return Diagnosis(
        "plateau", "warning",
        f"plateau: the training loss stayed at {_v(tail[-1])} (within {_pct(spread)}) "
        f"from {unit} {_x(start)} to {_x(loss.xs[-1])}"
        + (f" with training accuracy {_pct(acc.ys[-1])}" if acc else ""),
        "try a learning-rate schedule (cosine) or a different learning rate; a bigger model if it still underfits",
        int(start),
    )


def _noisy(val_loss: _Series, unit: str) -> Diagnosis | None:
    """Validation loss that zig-zags: many reversals, each large against its trend."""
    n = len(val_loss)
    if n < 6:
        return None
    ys = val_loss.ys
    diffs = [ys[i] - ys[i - 1] for i in range(1, n)]
    reversals = sum(1 for a, b in zip(diffs, diffs[1:], strict=False) if a * b < 0)
    trend = smooth(ys, 0.6)
    rel = [abs(y - t) / max(abs(t), 1e-12) for y, t in zip(ys, trend, strict=True)]
    wobble = sum(rel) / n
    if reversals < 0.5 * (n - 2) or wobble < 0.08:
        return None
    return Diagnosis(
        "noisy-validation", "hint",
        f"noisy validation: the validation loss changed direction {reversals} times in {n} {unit}s, "
        f"about {_pct(wobble)} off its trend",
        "use a larger validation split, a lower learning rate or a larger batch; judge by the smoothed curve",
    )


def _early_stopping(val_loss: _Series, val_acc: _Series, unit: str) -> Diagnosis | None:
    """The best validation epoch far before the last: early stopping would have saved epochs."""
    s, better = (val_loss, min) if val_loss else (val_acc, max)
    n = len(s)
    if n < 6 or unit != "epoch":
        return None
    best = s.ys.index(better(s.ys))
    saved = n - 1 - (best + PATIENCE)
    if saved < max(2, n // 4):
        return None
    name = "validation loss" if s is val_loss else "validation accuracy"
    return Diagnosis(
        "early-stopping", "hint",
        f"the best epoch was {_x(s.xs[best])} of {_x(s.xs[-1])} ({name} {_v(s.ys[best])}): early stopping "
        f"with patience {PATIENCE} would have stopped at epoch {_x(s.xs[best + PATIENCE])} and saved {saved} epochs",
        f"train with --early-stopping {PATIENCE} (the best checkpoint is kept either way)",
        int(s.xs[best]),
    )


def series_from_records(records: Sequence[Mapping]) -> dict[str, tuple[list[float], list[float]]]:
    """``{metric: (epochs, values)}`` from per-epoch log dicts (1-based epoch order), for
    diagnosing a run while it trains."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    for i, logs in enumerate(records, start=1):
        for key, value in logs.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                xs, ys = out.setdefault(key, ([], []))
                xs.append(i)
                ys.append(float(value))
    return out


def run_context(config: Mapping) -> CurveContext:
    """What a keraslab run's config.json says about its classes, BatchNorm and steps per epoch."""
    ds = config.get("dataset_info") if isinstance(config.get("dataset_info"), Mapping) else {}
    info = config.get("model_info") if isinstance(config.get("model_info"), Mapping) else {}
    run = config.get("run") if isinstance(config.get("run"), Mapping) else {}
    classes = ds.get("num_classes")
    layers = info.get("layers")
    bn = None
    if isinstance(layers, list):
        bn = any(isinstance(ly, Mapping) and ly.get("type") == "bn" for ly in layers)
    steps = None
    train, batch = ds.get("train"), run.get("batch_size")
    if type(train) is int and type(batch) is int and train > 0 and batch > 0:
        steps = -(-train // batch)
    return CurveContext(classes if type(classes) is int else None, bn, steps)


def config_context(dataset: str, stack, steps_per_epoch: int | None = None,
                   data_dir: str | None = None) -> CurveContext:
    """The context of a run that is training: its dataset's class count (None when it cannot
    be told) and whether its layer stack (LayerSpecs; None: unknown) has BatchNorm."""
    from ..data.datasets import get_info

    try:
        classes = get_info(dataset, data_dir).num_classes
    except (KeraslabError, OSError, ValueError):
        classes = None
    bn = None if stack is None else any(spec.type == "bn" for spec in stack)
    return CurveContext(classes, bn, steps_per_epoch or None)


def diagnose_run(path: str | os.PathLike, curves: RunCurves | None = None) -> RunDiagnosis:
    """The findings for a run directory of either kind (keraslab or TensorBoard), from its
    curves (``curves``: already loaded ones); a keraslab run's config adds its class count,
    BatchNorm and steps per epoch."""
    path = Path(path)
    curves = curves if curves is not None else load_curves(path)
    notes = list(curves.warnings)
    context = CurveContext()
    if run_kind(path) == KERASLAB:
        try:
            context = run_context(load_run(path).config)
        except KeraslabError as exc:
            notes.append(str(exc))
    else:
        notes.append("a TensorBoard run: the number of classes and the model are unknown, "
                     "so checks against chance accuracy are skipped")
    per_epoch = {n: c for n, c in curves.curves.items() if not n.startswith("batch/")}
    if per_epoch and not any(c.per_epoch for c in per_epoch.values()):
        context.unit = "step"
    else:
        per_epoch = {n: c for n, c in per_epoch.items() if c.per_epoch}
    series = {n: (c.xs("epoch"), c.values) for n, c in per_epoch.items()}
    epochs = max((len(c) for n, c in per_epoch.items() if n in ("loss", "val_loss")), default=0)
    if not any(n in series for n in ("loss", "val_loss")):
        notes.append("no loss curve (loss or val_loss) to diagnose")
    return RunDiagnosis(path, diagnose_curves(series, context), epochs, context, notes)
