"""Optimizer, learning-rate schedule and loss objects built from a RunConfig (Keras imported lazily)."""

from __future__ import annotations

from typing import Any

from ..config import RunConfig


def make_learning_rate(keras, config: RunConfig, steps_per_epoch: int) -> Any:
    """A float or a keras LearningRateSchedule for ``config.lr_schedule``.

    - constant: the learning rate throughout;
    - cosine: cosine decay to 0 over all training steps;
    - exponential: x0.9 per epoch;
    - step: halved at 1/3 and 2/3 of the epochs;
    - plateau: a float here; the session adds ReduceLROnPlateau (x0.5 after 2 flat epochs).
    """
    lr = float(config.learning_rate)
    total = max(1, steps_per_epoch * config.epochs)
    schedules = keras.optimizers.schedules
    if config.lr_schedule == "cosine":
        return schedules.CosineDecay(lr, decay_steps=total)
    if config.lr_schedule == "exponential":
        return schedules.ExponentialDecay(lr, decay_steps=max(1, steps_per_epoch), decay_rate=0.9)
    if config.lr_schedule == "step":
        a = max(1, config.epochs // 3) * steps_per_epoch
        b = max(2, 2 * config.epochs // 3) * steps_per_epoch
        return schedules.PiecewiseConstant([a, max(a + 1, b)], [lr, lr / 2, lr / 4])
    return lr


def make_optimizer(keras, config: RunConfig, steps_per_epoch: int):
    lr = make_learning_rate(keras, config, steps_per_epoch)
    opts = keras.optimizers
    name = config.optimizer
    if name == "sgd":
        return opts.SGD(learning_rate=lr, momentum=config.momentum)
    if name == "rmsprop":
        return opts.RMSprop(learning_rate=lr, momentum=config.momentum)
    classes = {
        "adam": opts.Adam,
        "adamw": opts.AdamW,
        "adagrad": opts.Adagrad,
        "adadelta": opts.Adadelta,
        "adamax": opts.Adamax,
        "nadam": opts.Nadam,
    }
    return classes[name](learning_rate=lr)


def make_loss(keras, config: RunConfig, from_logits: bool):
    losses = keras.losses
    if config.loss == "categorical_crossentropy":
        return losses.CategoricalCrossentropy(from_logits=from_logits)
    if config.loss == "mse":
        return losses.MeanSquaredError()
    return losses.SparseCategoricalCrossentropy(from_logits=from_logits)


def needs_one_hot(config: RunConfig) -> bool:
    """Whether labels must be one-hot encoded for this loss."""
    return config.loss in ("categorical_crossentropy", "mse")


def current_learning_rate(optimizer) -> float | None:
    """The optimizer's learning rate now, as a float (schedules evaluated at the current step)."""
    try:
        return float(optimizer.learning_rate)
    except Exception:  # noqa: BLE001
        try:
            import numpy as np

            return float(np.asarray(optimizer.learning_rate))
        except Exception:  # noqa: BLE001
            return None
