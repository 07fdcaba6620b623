"""Fetching a built-in dataset through ``keras.datasets`` (the data package never imports Keras)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .backend import import_keras

if TYPE_CHECKING:
    import numpy as np


def keras_download(name: str) -> dict[str, np.ndarray]:
    """Download ``name`` (mnist, fashion_mnist, cifar10, cifar100) into Keras' dataset cache."""
    keras = import_keras()
    loader = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
        "cifar10": keras.datasets.cifar10,
        "cifar100": keras.datasets.cifar100,
    }[name]
    (x_train, y_train), (x_test, y_test) = loader.load_data()
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
