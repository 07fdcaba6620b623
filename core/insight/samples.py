"""A run's test set reproduced from its config (dataset, data_dir, limit), and its samples as
8-bit images for showing."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

from ..config import RunConfig
from ..data.datasets import load_dataset
from ..errors import RunStoreError


@functools.lru_cache(maxsize=2)
def _test_set(dataset: str, limit: int | None, data_dir: str | None) -> tuple[np.ndarray, np.ndarray, float]:
    # the test split depends on the dataset, its files and the limit only (not on the seed)
    data = load_dataset(dataset, validation_split=0.0, limit=limit, data_dir=data_dir, offline=True)
    return data.x_test, data.y_test, data.info.pixel_max


def test_set(config: RunConfig) -> tuple[np.ndarray, np.ndarray]:
    """The run's test inputs (raw, as the model takes them) and labels; a DatasetError when
    the data cannot be loaded offline."""
    x, y, _ = _test_set(config.dataset, config.limit, config.data_dir)
    return x, y


def pixel_max(config: RunConfig) -> float:
    """The brightest raw input value of the run's dataset."""
    return _test_set(config.dataset, config.limit, config.data_dir)[2]


def sample_images(preds, indices: Sequence[int]) -> list[np.ndarray]:
    """The test samples ``indices`` of a run's predictions as ``(H, W, 1|3)`` uint8 images.

    Raises RunStoreError when the reproduced test set is not the one the run was tested on
    (the dataset's files changed since)."""
    x, y = test_set(preds.config)
    if y.shape != preds.y_true.shape or not np.array_equal(y, preds.y_true):
        raise RunStoreError(
            f"{preds.run_dir.name}: the test set of {preds.config.dataset} loaded now differs from "
            "the one the run was tested on; cannot show its samples"
        )
    return [to_uint8(x[int(i)], pixel_max(preds.config)) for i in indices]


def to_uint8(image: np.ndarray, high: float) -> np.ndarray:
    """One raw sample as an 8-bit ``(H, W, C)`` image (0..``high`` mapped to 0..255); a flat
    feature vector shows as one row."""
    a = np.asarray(image, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :, None]
    elif a.ndim == 2:
        a = a[..., None]
    if a.shape[-1] not in (1, 3):
        a = a[..., :1]
    return np.clip(np.rint(a * (255.0 / (high or 1.0))), 0, 255).astype(np.uint8)
