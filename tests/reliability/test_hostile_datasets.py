"""Dataset files from a data folder are data: a crafted CIFAR batch runs nothing, labels and
inputs are checked before anything per class is made."""

from __future__ import annotations

import os
import pickle
import tarfile

import numpy as np
import pytest
from keraslab.core import DatasetError, load_dataset


class _Payload:
    """Pickles as a call to os.system, as a crafted batch file would."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _batch(n, rng, key=b"labels", protocol=2):
    # the real files are Python 2 pickles (protocol 2) of a dict of bytes keys
    return pickle.dumps(
        {
            b"batch_label": b"training batch 1 of 5",
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            key: rng.integers(0, 10, n).tolist(),
            b"filenames": [b"img%d.png" % i for i in range(n)],
        },
        protocol=protocol,
    )


def _cifar10_folder(root, rng, first_batch: bytes):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    (folder / "data_batch_1").write_bytes(first_batch)
    for i in range(2, 6):
        (folder / f"data_batch_{i}").write_bytes(_batch(4, rng))
    (folder / "test_batch").write_bytes(_batch(3, rng))
    return folder


@pytest.mark.parametrize("protocol", [2, 5])
def test_real_cifar_batches_load(tmp_path, empty_keras_home, protocol):
    rng = np.random.default_rng(0)
    _cifar10_folder(tmp_path, rng, _batch(6, rng, protocol=protocol))
    ds = load_dataset("cifar10", validation_split=0.0, data_dir=str(tmp_path), offline=True)
    assert ds.x_train.shape == (22, 32, 32, 3) and ds.x_test.shape == (3, 32, 32, 3)


@pytest.mark.parametrize("where", ["folder", "tarball"])
def test_crafted_cifar_batch_runs_no_code(tmp_path, empty_keras_home, where):
    rng = np.random.default_rng(0)
    marker = tmp_path / "pwned"
    evil = pickle.dumps({b"data": _Payload(marker), b"labels": [0]}, protocol=2)
    folder = _cifar10_folder(tmp_path / "src", rng, evil)
    data = tmp_path / "data"
    data.mkdir()
    if where == "folder":
        folder.rename(data / folder.name)
    else:
        with tarfile.open(data / "cifar-10-python.tar.gz", "w:gz") as tar:
            tar.add(folder, arcname=folder.name)
    with pytest.raises(DatasetError) as err:
        load_dataset("cifar10", data_dir=str(data), offline=True)
    assert not marker.exists()
    assert "data_batch_1" in str(err.value) and "not allowed" in str(err.value)
    assert "\n" not in str(err.value)


def test_object_array_in_a_batch_is_refused(tmp_path, empty_keras_home):
    rng = np.random.default_rng(0)
    evil = pickle.dumps({b"data": np.array([1, "x"], dtype=object), b"labels": [0]}, protocol=2)
    _cifar10_folder(tmp_path, rng, evil)
    with pytest.raises(DatasetError, match="object arrays are not allowed"):
        load_dataset("cifar10", data_dir=str(tmp_path), offline=True)


def _npz(path, **arrays):
    rng = np.random.default_rng(0)
    base = {
        "x_train": rng.random((20, 4, 4)).astype(np.float32),
        "y_train": np.arange(20) % 3,
        "x_test": rng.random((6, 4, 4)).astype(np.float32),
        "y_test": np.arange(6) % 3,
    }
    base.update(arrays)
    np.savez(path, **base)
    return str(path)


def test_huge_label_is_refused_before_anything_is_allocated(tmp_path):
    y = np.arange(20) % 3
    y[7] = 10**9
    with pytest.raises(DatasetError) as err:
        load_dataset(_npz(tmp_path / "d.npz", y_train=y))
    message = str(err.value)
    assert "1000000000" in message and "index 7" in message and "\n" not in message


def test_test_labels_outside_the_training_classes(tmp_path):
    y_test = np.arange(6) % 3
    y_test[4] = 5
    with pytest.raises(DatasetError, match=r"label 5 at index 4 is not one of the 3 classes"):
        load_dataset(_npz(tmp_path / "d.npz", y_test=y_test))


def test_class_names_may_name_classes_the_labels_do_not_use(tmp_path):
    path = _npz(tmp_path / "d.npz", class_names=np.array(["a", "b", "c", "d"]))
    ds = load_dataset(path, validation_split=0.0)
    assert ds.info.num_classes == 4 and ds.info.class_names == ("a", "b", "c", "d")


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_inputs_are_refused_with_their_count(tmp_path, bad):
    x = np.random.default_rng(1).random((20, 4, 4)).astype(np.float32)
    x[3, 1, 1] = x[9, 0, 0] = bad
    with pytest.raises(DatasetError, match=r"x_train: inputs hold 2 NaN or infinite value"):
        load_dataset(_npz(tmp_path / "d.npz", x_train=x))


def test_nan_label_is_refused(tmp_path):
    y = (np.arange(20) % 3).astype(np.float64)
    y[2] = np.nan
    with pytest.raises(DatasetError, match="y_train"):
        load_dataset(_npz(tmp_path / "d.npz", y_train=y))


@pytest.mark.parametrize("batch", [
    {b"data": {b"x": 1}, b"labels": [0]},
    {b"data": np.zeros((2, 3072), np.uint8), b"labels": ["a", "b"]},
    {b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10**300]},
    {b"\xff": 1, b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 1]},
])  # fmt: skip
def test_malformed_cifar_batches_are_a_one_line_dataset_error(tmp_path, empty_keras_home, batch):
    _cifar10_folder(tmp_path, np.random.default_rng(0), pickle.dumps(batch, protocol=2))
    with pytest.raises(DatasetError) as err:
        load_dataset("cifar10", data_dir=str(tmp_path), offline=True)
    assert "data_batch_1" in str(err.value) and "\n" not in str(err.value)
