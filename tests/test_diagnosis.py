"""Curve diagnosis on synthetic curves of known shapes: each finding where it belongs, none on a healthy run."""

from __future__ import annotations

import math

import pytest
from keraslab import core


def curves(**named):
    """{metric: (epochs 1..n, values)} from plain value lists."""
    return {k: (list(range(1, len(v) + 1)), list(v)) for k, v in named.items()}


def decay(start, end, n, rate=0.5):
    """start -> end falling fast then slowly (a well-set learning rate)."""
    return [end + (start - end) * math.exp(-rate * i) for i in range(n)]


def rise(start, end, n):
    return [start + (end - start) * i / (n - 1) for i in range(n)]


TEN = core.CurveContext(num_classes=10, batchnorm=False, steps_per_epoch=400)


def codes(found):
    return [d.code for d in found]


def healthy(n=10):
    return curves(
        loss=decay(2.0, 0.05, n), val_loss=decay(2.0, 0.08, n),
        accuracy=[1 - x / 2.2 for x in decay(2.0, 0.05, n)],
        val_accuracy=[1 - x / 2.2 for x in decay(2.0, 0.08, n)],
    )


def test_a_healthy_run_gets_no_false_alarm():
    assert core.diagnose_curves(healthy(), TEN) == []
    assert core.diagnose_curves(healthy(4), TEN) == []
    assert core.diagnose_curves(healthy(30), TEN) == []


def test_overfitting_names_the_epoch_where_validation_turns_and_the_values():
    n = 20
    val = decay(2.0, 0.2, 6, rate=1.0) + rise(0.21, 0.6, n - 6)
    found = core.diagnose_curves(curves(loss=decay(2.0, 0.001, n), val_loss=val), TEN)
    over = next(d for d in found if d.code == "overfitting")
    assert over.epoch in (6, 7)
    assert f"epoch {over.epoch}" in over.message and "0.6" in over.message
    assert "dropout" in over.suggestion
    stop = next(d for d in found if d.code == "early-stopping")
    assert "saved" in stop.message and "--early-stopping 3" in stop.suggestion


def test_validation_loss_falling_with_training_is_not_overfitting():
    data = healthy(20)
    assert "overfitting" not in codes(core.diagnose_curves(data, TEN))


def test_nan_loss_is_reported_with_its_epoch_and_nothing_after_is_judged():
    loss = [2.3, 1.8, 4.0, float("nan"), float("nan")]
    found = core.diagnose_curves(curves(loss=loss, val_loss=loss), TEN)
    assert found[0].code == "not-finite" and found[0].severity == "error"
    assert "epoch 4" in found[0].message and found[0].epoch == 4
    assert "learning rate" in found[0].suggestion


def test_diverging_loss():
    loss = [1.0, 1.1, 1.5, 2.4, 3.9]
    found = core.diagnose_curves(curves(loss=loss), core.CurveContext())
    assert codes(found)[0] in ("diverging", "lr-too-high")
    assert all(d.severity == "error" for d in found[:1])


def test_accuracy_at_chance_with_a_flat_loss_means_the_learning_rate_is_too_high():
    n = 6
    found = core.diagnose_curves(curves(
        loss=[14.5, 14.6, 14.4, 14.6, 14.5, 14.5], accuracy=[0.10, 0.09, 0.11, 0.10, 0.10, 0.099],
        val_loss=[14.5] * n, val_accuracy=[0.1] * n), TEN)
    assert codes(found)[0] == "lr-too-high"
    assert "chance" in found[0].message and "10.0%" in found[0].message


def test_loss_jumps_mean_the_learning_rate_is_too_high():
    loss = [2.0, 1.2, 3.5, 1.1, 2.9, 1.0]
    found = core.diagnose_curves(curves(loss=loss), core.CurveContext())
    assert codes(found)[0] == "lr-too-high"
    assert "jumped from 1.2 to 3.5 at epoch 3" in found[0].message


# the lab's cnn on MNIST, 20 epochs (keraslab labs, 2026-12-07): its test accuracy was 99.17%
LAB_CNN_LOSS = [0.2101, 0.0499, 0.0362, 0.0281, 0.0213, 0.017, 0.015, 0.0146, 0.0116, 0.012, 0.0097,
                0.0089, 0.0091, 0.008, 0.0092, 0.0051, 0.0039, 0.0081, 0.0053, 0.0084]
LAB_CNN_VAL_LOSS = [0.0706, 0.0496, 0.0559, 0.0553, 0.0437, 0.0458, 0.0457, 0.0413, 0.0548, 0.0473,
                    0.0505, 0.0515, 0.0487, 0.0469, 0.0448, 0.047, 0.0637, 0.0511, 0.0603, 0.0639]


def test_a_near_zero_loss_wobbling_is_no_learning_rate_problem_but_overfitting_is_seen():
    found = core.diagnose_curves(curves(loss=LAB_CNN_LOSS, val_loss=LAB_CNN_VAL_LOSS), TEN)
    assert "lr-too-high" not in codes(found)
    over = next(d for d in found if d.code == "overfitting")
    assert over.epoch == 8 and "0.04135" not in over.message and "0.0413 to 0.0639" in over.message
    assert "early-stopping" in codes(found)


def test_a_slow_straight_descent_means_the_learning_rate_is_too_low():
    n = 10
    loss = rise(2.30, 2.05, n)
    acc = rise(0.12, 0.30, n)
    found = core.diagnose_curves(curves(loss=loss, accuracy=acc, val_loss=loss, val_accuracy=acc), TEN)
    assert "lr-too-low" in codes(found)
    assert "plateau" not in codes(found)
    # the fast-then-slow curve of a good learning rate is not "too low"
    assert "lr-too-low" not in codes(core.diagnose_curves(healthy(10), TEN))


def test_underfitting_when_training_accuracy_is_low_and_no_better_than_validation():
    n = 10
    loss = decay(2.0, 1.2, n)
    acc = [0.62 - 0.3 * math.exp(-0.5 * i) for i in range(n)]
    found = core.diagnose_curves(curves(loss=loss, accuracy=acc, val_loss=loss, val_accuracy=acc), TEN)
    under = next(d for d in found if d.code == "underfitting")
    assert f"{100 * acc[-1]:.1f}%" in under.message and "bigger model" in under.suggestion


def test_plateau_when_the_loss_stops_moving_far_from_a_fit():
    loss = [2.0, 1.2, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]
    acc = [0.4, 0.6, 0.7, 0.72, 0.72, 0.72, 0.72, 0.72, 0.72, 0.72]
    found = core.diagnose_curves(curves(loss=loss, accuracy=acc), TEN)
    flat = next(d for d in found if d.code == "plateau")
    assert "0.8" in flat.message and "schedule" in flat.suggestion
    # a loss that is flat because it has converged is no plateau
    assert "plateau" not in codes(core.diagnose_curves(healthy(30), TEN))


def test_noisy_validation():
    n = 12
    val = [0.3 + (0.12 if i % 2 else -0.08) for i in range(n)]
    found = core.diagnose_curves(curves(loss=decay(1.0, 0.1, n), val_loss=val), TEN)
    assert "noisy-validation" in codes(found)
    assert "noisy-validation" not in codes(core.diagnose_curves(healthy(12), TEN))


def test_batchnorm_gap_is_not_called_overfitting():
    n = 5
    ctx = core.CurveContext(num_classes=10, batchnorm=True, steps_per_epoch=11)
    data = curves(
        loss=decay(1.5, 0.1, n), accuracy=[0.6, 0.85, 0.93, 0.96, 0.98],
        val_loss=[2.4, 2.6, 3.1, 3.0, 3.3], val_accuracy=[0.10, 0.09, 0.11, 0.10, 0.12],
    )
    found = core.diagnose_curves(data, ctx)
    assert codes(found) == ["batchnorm-gap"]
    assert "98.0% after 55 updates" in found[0].message and "momentum" in found[0].suggestion
    # the same curves after many updates, or without BatchNorm, are something else
    long = core.CurveContext(num_classes=10, batchnorm=True, steps_per_epoch=2000)
    assert "batchnorm-gap" not in codes(core.diagnose_curves(data, long))
    assert "batchnorm-gap" not in codes(core.diagnose_curves(data, TEN))


@pytest.mark.parametrize("ctx", [core.CurveContext(), TEN])
def test_too_few_points_say_nothing(ctx):
    assert core.diagnose_curves(curves(loss=[2.0], val_loss=[2.1]), ctx) == []
    assert core.diagnose_curves({}, ctx) == []


def test_series_from_records_feeds_the_live_view():
    recs = [{"loss": 2.0, "val_loss": 2.1}, {"loss": 1.0, "val_loss": 1.1, "flag": True}]
    assert core.series_from_records(recs) == {"loss": ([1, 2], [2.0, 1.0]), "val_loss": ([1, 2], [2.1, 1.1])}


def test_every_code_is_documented():
    for d_code, (severity, meaning) in core.DIAGNOSIS_CODES.items():
        assert severity in ("error", "warning", "hint") and meaning, d_code


def test_the_diagnose_help_names_every_code():
    from keraslab.tui.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    epilog = sub.choices["diagnose"].epilog
    assert all(code in epilog for code in core.DIAGNOSIS_CODES)
