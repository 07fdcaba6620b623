"""The TensorFlow input batches a session feeds fit(): every sample once an epoch, shuffled by seed."""

from __future__ import annotations

import numpy as np
import pytest
from keraslab.core.train.pipeline import array_batches, fit_data


@pytest.fixture(scope="module")
def tf():
    """TensorFlow, imported when the first test here runs (collecting the suite stays fast)."""
    return pytest.importorskip("tensorflow")


def epochs_of(dataset, n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for _ in range(n):
        xs, ys = zip(*((x.numpy(), y.numpy()) for x, y in dataset), strict=True)
        out.append((np.concatenate(xs), np.concatenate(ys)))
    return out


def test_every_sample_once_an_epoch_in_a_new_order_each_epoch_the_same_for_a_seed(tf):
    x = np.arange(103 * 4, dtype="uint8").reshape(103, 2, 2, 1)
    y = np.arange(103, dtype="int64")
    sizes = [b[0].shape[0] for b in array_batches(x, y, 10, shuffle=True, seed=7)]
    assert sizes == [10] * 10 + [3]  # the last batch is short
    batches = array_batches(x, y, 10, shuffle=True, seed=7)
    assert int(batches.cardinality()) == 11  # known: fit's steps, progress and last batch rely on it
    first, second = epochs_of(batches, 2)
    for xs, ys in (first, second):
        assert xs.dtype == np.uint8 and ys.dtype == np.int64
        assert sorted(ys.tolist()) == list(range(103))  # each sample once
        np.testing.assert_array_equal(xs, x[ys])  # images stay with their labels
    assert first[1].tolist() != second[1].tolist()  # reshuffled each epoch
    again = epochs_of(array_batches(x, y, 10, shuffle=True, seed=7), 1)[0]
    np.testing.assert_array_equal(again[1], first[1])  # the seed decides the order
    other = epochs_of(array_batches(x, y, 10, shuffle=True, seed=8), 1)[0]
    assert other[1].tolist() != first[1].tolist()
    assert batches.options().autotune.enabled is False


def test_validation_batches_keep_their_order_and_other_backends_get_the_arrays(tf):
    x, y = np.zeros((25, 3), "float64"), np.arange(25)
    (xs, ys), = epochs_of(array_batches(x, y, 8, shuffle=False, seed=0), 1)
    assert ys.tolist() == list(range(25))
    assert xs.dtype == np.float32 and ys.dtype == y.dtype  # other floats as float32, once
    data = fit_data("tensorflow", x, y, (x[:5], y[:5]), 8, seed=0)
    assert data["shuffle"] is False and isinstance(data["x"], tf.data.Dataset)
    assert isinstance(data["validation_data"], tf.data.Dataset) and "y" not in data
    assert fit_data("tensorflow", x, y, None, 8, seed=0)["validation_data"] is None
    validation = (x[:5], y[:5])
    jax = fit_data("jax", x, y, validation, 8, seed=0)
    assert jax["x"] is x and jax["y"] is y and jax["validation_data"] is validation  # as they are
    assert jax["batch_size"] == 8 and jax["shuffle"] is True


@pytest.mark.parametrize(("n", "batch", "sizes"), [(7, 10, [7]), (20, 10, [10, 10]), (1, 1, [1])])
def test_a_batch_bigger_than_the_data_or_dividing_it_makes_no_empty_batch(tf, n, batch, sizes):
    x, y = np.ones((n, 2), "float32"), np.arange(n)
    batches = array_batches(x, y, batch, shuffle=True, seed=0)
    assert [b[0].shape[0] for b in batches] == sizes and int(batches.cardinality()) == len(sizes)
