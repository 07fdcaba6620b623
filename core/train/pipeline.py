"""In-memory arrays as batches for the TensorFlow backend: tf.data without its autotuner.

``model.fit`` on NumPy arrays feeds them through tf.data with ``AUTOTUNE``; on a machine with few
cores the tuning competes with training for them and makes some epochs much slower, at random.
A fixed pipeline (two gathers in parallel, two batches prefetched) keeps every epoch at the fast
speed (benchmarks/bench_app_throughput.py, ``--only numpy --only fit``). Only the TensorFlow
backend calls this (``tensorflow`` is imported here).
"""

from __future__ import annotations

import numpy as np

PARALLEL_GATHERS = 2
PREFETCH = 2


def _float32(a: np.ndarray) -> np.ndarray:
    """Other floats as float32, once (as Keras does: the model would cast every batch)."""
    return a.astype("float32") if a.dtype.kind == "f" and a.dtype != np.float32 else a


def array_batches(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int):
    """A ``tf.data.Dataset`` of ``(x, y)`` batches, reshuffled each epoch when ``shuffle``.

    As Keras does, the arrays become one tensor each (zipped in, not captured in a function:
    no 2 GB graph limit), each epoch's order is one permutation of the indices (not a shuffle
    buffer filled one element at a time, slow for large arrays), cut into
    batches, and each batch is gathered by index; the last batch may be short.
    """
    import tensorflow as tf

    n = int(x.shape[0])
    full = n // batch_size

    def epoch(key):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, seed=tf.stack([key, seed]))
        batches = tf.data.Dataset.from_tensor_slices(tf.reshape(order[: full * batch_size], [full, batch_size]))
        if n > full * batch_size:
            batches = batches.concatenate(tf.data.Dataset.from_tensors(order[full * batch_size :]))
        return batches

    steps = full + (n > full * batch_size)
    # one random key a pass, a new one on each (the sequence set by the global and this seed)
    keys = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
    indices = keys.flat_map(epoch).apply(tf.data.experimental.assert_cardinality(steps))
    arrays = tf.data.Dataset.from_tensors(
        (tf.convert_to_tensor(_float32(x)), tf.convert_to_tensor(_float32(y)))
    ).repeat()
    batches = tf.data.Dataset.zip((indices, arrays)).map(
        lambda i, xy: (tf.gather(xy[0], i), tf.gather(xy[1], i)),
        num_parallel_calls=PARALLEL_GATHERS,
        deterministic=True,
    )
    options = tf.data.Options()
    options.autotune.enabled = False
    return batches.prefetch(PREFETCH).with_options(options)


def keras_batched(x, y, validation, batch_size: int) -> dict:
    """``model.fit``'s data arguments for the arrays themselves, batched by Keras."""
    return {"x": x, "y": y, "batch_size": batch_size, "shuffle": True, "validation_data": validation}


def fit_data(backend: str, x, y, validation, batch_size: int, seed: int) -> dict:
    """``model.fit``'s data arguments for these arrays (``validation``: ``(x, y)`` or None):
    ``array_batches`` on TensorFlow, the arrays themselves on other backends (which batch
    them with their own iterators)."""
    if backend != "tensorflow":
        return keras_batched(x, y, validation, batch_size)
    return {
        "x": array_batches(x, y, batch_size, shuffle=True, seed=seed),
        "shuffle": False,  # (the batches are: fit's default would only warn)
        "validation_data": None if validation is None
        else array_batches(*validation, batch_size, shuffle=False, seed=seed),
    }
