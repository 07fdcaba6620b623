"""Datasets: registry, IDX/npz/CIFAR readers, splits, and clear errors for missing or bad data."""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile

import numpy as np
import pytest
from keraslab.core import DatasetError, availability, get_dataset_info, load_dataset
from keraslab.core.data.files import read_idx


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        with gzip.open(path, "wb") as f:
            f.write(data)
    else:
        path.write_bytes(data)


def make_idx_set(folder, n_train=50, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte.gz": rng.integers(0, 10, n_train),
        "t10k-images-idx3-ubyte.gz": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte.gz": rng.integers(0, 10, n_test),
    }
    for name, array in arrays.items():
        write_idx(folder / name, array)
    return arrays


def test_digits_is_offline_default_with_fixed_test_split():
    a = load_dataset("digits", validation_split=0.1, seed=1)
    b = load_dataset("digits", validation_split=0.1, seed=2)
    assert a.x_train.shape[1:] == (8, 8, 1) and a.info.num_classes == 10
    assert a.x_train.shape[0] + a.x_val.shape[0] + a.x_test.shape[0] == 1797
    # the test set never depends on the run seed; the validation split does
    np.testing.assert_array_equal(a.x_test, b.x_test)
    assert not np.array_equal(a.y_val, b.y_val)
    assert availability("digits").ready


def test_limit_caps_train_and_test_and_seed_reproduces():
    a = load_dataset("digits", validation_split=0.2, seed=3, limit=100)
    b = load_dataset("digits", validation_split=0.2, seed=3, limit=100)
    assert a.x_train.shape[0] == 80 and a.x_val.shape[0] == 20 and a.x_test.shape[0] == 100
    np.testing.assert_array_equal(a.y_train, b.y_train)


def test_idx_files_in_data_dir_are_read_directly(tmp_path, empty_keras_home):
    arrays = make_idx_set(tmp_path / "data" / "mnist")
    ds = load_dataset("mnist", validation_split=0.0, data_dir=str(tmp_path / "data"), offline=True)
    assert ds.x_train.shape == (50, 28, 28, 1)
    assert sorted(ds.y_train.tolist()) == sorted(arrays["train-labels-idx1-ubyte.gz"].tolist())
    np.testing.assert_array_equal(ds.x_test[..., 0], arrays["t10k-images-idx3-ubyte.gz"])


def test_fashion_mnist_read_from_keras_cache_layout(empty_keras_home):
    make_idx_set(empty_keras_home / "datasets" / "fashion-mnist", seed=5)
    ds = load_dataset("fashion_mnist", validation_split=0.1, offline=True)
    assert ds.info.class_names[9] == "Ankle boot"
    assert ds.x_train.shape[0] + ds.x_val.shape[0] == 50
    assert availability("fashion_mnist").ready


def test_real_mnist_idx_files_decode(mnist_dir):
    images = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(mnist_dir / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_offline_error_names_cache_dir_and_files(empty_keras_home):
    with pytest.raises(DatasetError) as err:
        load_dataset("mnist", offline=True)
    message = str(err.value)
    assert "\n" not in message
    assert str(empty_keras_home / "datasets" / "mnist") in message
    assert "train-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message
    assert not availability("mnist").ready


def test_failed_download_becomes_one_line_error(empty_keras_home):
    """No network here: Keras' own download raises; we turn it into the cache-path message."""
    from keraslab.core.train.download import keras_download

    with pytest.raises(DatasetError) as err:
        load_dataset("cifar10", offline=False, download=keras_download)
    message = str(err.value)
    assert "download failed" in message and "cifar-10-python.tar.gz" in message
    assert str(empty_keras_home / "datasets") in message and "\n" not in message


def _cifar_batch(n: int, rng, key: bytes) -> bytes:
    return pickle.dumps({b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), key: rng.integers(0, 10, n).tolist()})


def test_cifar10_tarball_with_real_shapes(tmp_path, empty_keras_home):
    """CIFAR-10 is not here: generate its real format (5 pickled batches + test) in a tarball."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(_cifar_batch(10, rng, b"labels"))
    (folder / "test_batch").write_bytes(_cifar_batch(7, rng, b"labels"))
    with tarfile.open(empty_keras_home / "datasets" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(folder, arcname="cifar-10-batches-py")
    ds = load_dataset("cifar10", validation_split=0.0, offline=True)
    assert ds.x_train.shape == (50, 32, 32, 3) and ds.x_test.shape == (7, 32, 32, 3)
    assert ds.info.class_names[0] == "airplane"
    # channels: the pickles hold (N, 3, 32, 32) planes; we give channels-last images
    raw = pickle.loads((folder / "test_batch").read_bytes())[b"data"].reshape(-1, 3, 32, 32)
    np.testing.assert_array_equal(ds.x_test[0, :, :, 2], raw[0, 2])


def test_cifar100_folder_layout(empty_keras_home):
    rng = np.random.default_rng(1)
    folder = empty_keras_home / "datasets" / "cifar-100-python"
    folder.mkdir()
    (folder / "train").write_bytes(_cifar_batch(12, rng, b"fine_labels"))
    (folder / "test").write_bytes(_cifar_batch(4, rng, b"fine_labels"))
    ds = load_dataset("cifar100", validation_split=0.25, offline=True)
    assert ds.info.num_classes == 100 and ds.x_train.shape == (9, 32, 32, 3)


def test_user_npz(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mine.npz"
    np.savez(path, x_train=rng.random((40, 6, 6)), y_train=rng.integers(0, 3, 40),
             x_test=rng.random((10, 6, 6)), y_test=rng.integers(0, 3, 10),
             class_names=np.array(["a", "b", "c"]))  # fmt: skip
    ds = load_dataset(str(path), validation_split=0.25)
    assert ds.info.input_shape == (6, 6, 1) and ds.info.num_classes == 3
    assert ds.info.class_names == ("a", "b", "c") and ds.x_val.shape[0] == 10
    assert get_dataset_info(str(path)).input_shape == (6, 6, 1)


@pytest.mark.parametrize(
    "contents, expected",
    [
        (b"this is not a zip archive", "not a readable .npz"),
        ("missing-keys", "missing array(s) x_test, y_test"),
        ("bad-labels", "labels have shape"),
        ("bad-shapes", "x_test samples are"),
    ],
)
def test_bad_npz_gets_clear_error(tmp_path, contents, expected):
    path = tmp_path / "bad.npz"
    rng = np.random.default_rng(0)
    if contents == "missing-keys":
        np.savez(path, x_train=rng.random((4, 2, 2)), y_train=np.arange(4))
    elif contents == "bad-labels":
        np.savez(path, x_train=rng.random((4, 2, 2)), y_train=np.arange(3),
                 x_test=rng.random((2, 2, 2)), y_test=np.arange(2))  # fmt: skip
    elif contents == "bad-shapes":
        np.savez(path, x_train=rng.random((4, 2, 2)), y_train=np.arange(4),
                 x_test=rng.random((2, 3, 3)), y_test=np.arange(2))  # fmt: skip
    else:
        path.write_bytes(contents)
    with pytest.raises(DatasetError) as err:
        load_dataset(str(path))
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_corrupt_idx_file(tmp_path, empty_keras_home):
    make_idx_set(tmp_path / "mnist")
    (tmp_path / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 20))
    with pytest.raises(DatasetError, match="IDX size mismatch"):
        load_dataset("mnist", data_dir=str(tmp_path), offline=True)


def test_unknown_dataset():
    with pytest.raises(DatasetError, match="unknown dataset 'imagenet'"):
        load_dataset("imagenet")
