"""Dataset registry and loading: bundled digits, MNIST family, CIFAR, and user .npz files."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatasetError
from . import files as datafiles

if TYPE_CHECKING:  # numpy loads on first use: the launch screen never needs it
    import numpy as np

IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
DIGITS_TEST_FRACTION = 0.2
MAX_CLASSES = 100_000  # labels are checked against this before anything per class is made


@dataclass(frozen=True)
class DatasetInfo:
    """What a dataset is: its shape, classes and where its files are expected."""

    name: str
    title: str
    input_shape: tuple[int, ...]
    num_classes: int
    class_names: tuple[str, ...]
    train_size: int
    test_size: int
    kind: str  # "bundled" | "keras" | "npz"
    cache_subdir: str = ""
    files: tuple[str, ...] = ()
    description: str = ""
    pixel_max: float = 255.0  # the brightest raw input value (an image file's white maps to it)


@dataclass(frozen=True)
class Availability:
    """Whether a dataset can be loaded right now without a network, and how to fix it if not."""

    name: str
    ready: bool
    location: str | None
    message: str


@dataclass
class Dataset:
    """A loaded dataset split into train, validation and test arrays (images stay raw)."""

    info: DatasetInfo
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def input_stats(self) -> tuple[float, float]:
        """Mean and standard deviation of the training inputs (one scalar each)."""
        import numpy as np
        x = self.x_train
        sample = x if x.size <= 20_000_000 else x[:: max(1, x.shape[0] // 20000)]
        mean = float(sample.mean(dtype=np.float64))
        std = float(sample.std(dtype=np.float64))
        return mean, std

    def input_scaling(self, normalization: str) -> tuple[float, float]:
        """(scale, offset) for a Rescaling layer: x * scale + offset."""
        if normalization == "standardize":
            mean, std = self.input_stats()
            std = std if std > 1e-8 else 1.0
            return 1.0 / std, -mean / std
        if normalization == "rescale":
            high = float(self.x_train.max()) if self.x_train.size else 1.0
            return (1.0 / high if high > 0 else 1.0), 0.0
        return 1.0, 0.0


_DIGITS_NAMES = tuple(str(i) for i in range(10))
_FASHION_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
_CIFAR100_NAMES = (
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank",
    "telephone", "television", "tiger", "tractor", "train", "trout", "tulip", "turtle",
    "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
)  # fmt: skip  (the fine labels, in label order)
_CIFAR10_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip

DATASETS: dict[str, DatasetInfo] = {
    "digits": DatasetInfo(
        "digits", "scikit-learn digits", (8, 8, 1), 10, _DIGITS_NAMES, 1437, 360, "bundled",
        description="8x8 handwritten digits bundled with scikit-learn (offline, the default)",
        pixel_max=16.0,
    ),
    "mnist": DatasetInfo(
        "mnist", "MNIST", (28, 28, 1), 10, _DIGITS_NAMES, 60000, 10000, "keras",
        cache_subdir="mnist", files=IDX_FILES,
        description="28x28 handwritten digits",
    ),
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", "Fashion-MNIST", (28, 28, 1), 10, _FASHION_NAMES, 60000, 10000, "keras",
        cache_subdir="fashion-mnist", files=IDX_FILES,
        description="28x28 grayscale clothing articles",
    ),
    "cifar10": DatasetInfo(
        "cifar10", "CIFAR-10", (32, 32, 3), 10, _CIFAR10_NAMES, 50000, 10000, "keras",
        cache_subdir="", files=("cifar-10-python.tar.gz",),
        description="32x32 colour images of 10 object classes",
    ),
    "cifar100": DatasetInfo(
        "cifar100", "CIFAR-100", (32, 32, 3), 100, _CIFAR100_NAMES,
        50000, 10000, "keras", cache_subdir="", files=("cifar-100-python.tar.gz",),
        description="32x32 colour images of 100 fine-grained classes",
    ),
}  # fmt: skip


def keras_cache_dir() -> Path:
    """Keras' dataset cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "datasets"


def data_dirs(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """Folders searched for dataset files, in order: data_dir, $KERASLAB_DATA_DIR, Keras cache."""
    dirs: list[Path] = []
    if data_dir:
        dirs.append(Path(data_dir).expanduser())
    for part in os.environ.get("KERASLAB_DATA_DIR", "").split(os.pathsep):
        if part:
            dirs.append(Path(part).expanduser())
    dirs.append(keras_cache_dir())
    return dirs


def is_npz_path(name: str) -> bool:
    return name.endswith(".npz") or name.startswith("npz:")


def list_datasets() -> list[DatasetInfo]:
    return list(DATASETS.values())


def get_info(name: str, data_dir: str | None = None) -> DatasetInfo:
    """The DatasetInfo for a registered name or an .npz path (reads the file's header arrays)."""
    if is_npz_path(name):
        return _npz_dataset(name, 0, None).info
    if name not in DATASETS:
        raise DatasetError(
            f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)} or give a path to an .npz file"
        )
    return DATASETS[name]


# --- locating files -----------------------------------------------------------------------


def _idx_set(folder: Path) -> Path | None:
    for suffix in (".gz", ""):
        if all((folder / (f.removesuffix(".gz") + suffix)).is_file() for f in IDX_FILES):
            return folder
    return None


def _locate(name: str, dirs: Sequence[Path]) -> tuple[Path, Callable[[Path], dict]] | None:
    """Find the files of a Keras built-in dataset in the given folders."""
    for d in dirs:
        if name in ("mnist", "fashion_mnist"):
            subdirs = ["mnist", ""] if name == "mnist" else ["fashion-mnist", "fashion_mnist"]
            for sub in subdirs:
                found = _idx_set(d / sub) if sub or name == "mnist" else None
                if found:
                    return found, _read_idx_set
            if name == "mnist":
                for npz in (d / "mnist.npz", d / "mnist" / "mnist.npz"):
                    if npz.is_file():
                        return npz, datafiles.read_npz
        else:
            folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
            tarball = "cifar-10-python.tar.gz" if name == "cifar10" else "cifar-100-python.tar.gz"
            for candidate in (d / folder, d / f"{folder}-target" / folder):
                if candidate.is_dir():
                    return candidate, lambda p, k=name: datafiles.read_cifar(p, k)
            if (d / tarball).is_file():
                return d / tarball, lambda p, k=name: datafiles.read_cifar(p, k)
    return None


def _read_idx_set(folder: Path) -> dict[str, np.ndarray]:
    def pick(stem: str) -> Path:
        gz = folder / f"{stem}.gz"
        return gz if gz.is_file() else folder / stem

    return {
        "x_train": datafiles.read_idx(pick("train-images-idx3-ubyte")),
        "y_train": datafiles.read_idx(pick("train-labels-idx1-ubyte")),
        "x_test": datafiles.read_idx(pick("t10k-images-idx3-ubyte")),
        "y_test": datafiles.read_idx(pick("t10k-labels-idx1-ubyte")),
    }


def _missing_message(info: DatasetInfo, reason: str | None = None) -> str:
    target = keras_cache_dir() / info.cache_subdir if info.cache_subdir else keras_cache_dir()
    files = ", ".join(info.files)
    extra = " (or mnist.npz)" if info.name == "mnist" else ""
    why = f"download failed: {reason}; " if reason else ""
    return (
        f"{info.title} ({info.name}) is not available offline: {why}place {files}{extra} "
        f"in {target}/ (or in a folder named by --data-dir or $KERASLAB_DATA_DIR) and retry"
    )


def availability(name: str, data_dir: str | None = None) -> Availability:
    """Whether a dataset loads without network right now; the fix when it does not."""
    if is_npz_path(name):
        path = Path(name.removeprefix("npz:")).expanduser()
        ok = path.is_file()
        msg = "ready" if ok else f"{path} does not exist"
        return Availability(name, ok, str(path) if ok else None, msg)
    info = get_info(name)
    if info.kind == "bundled":
        return Availability(name, True, "bundled with scikit-learn", "ready (bundled)")
    found = _locate(name, data_dirs(data_dir))
    if found:
        return Availability(name, True, str(found[0]), f"ready ({found[0]})")
    return Availability(name, False, None, _missing_message(info))


# --- loading -------------------------------------------------------------------------------


def _offline_default() -> bool:
    return os.environ.get("KERASLAB_OFFLINE", "").lower() in ("1", "true", "yes")


def _short_reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


Downloader = Callable[[str], dict]
"""Fetches a built-in dataset by name (needs a network): arrays x_train, y_train, x_test, y_test."""


def _load_raw(
    name: str, data_dir: str | None, offline: bool, download: Downloader | None
) -> tuple[dict, str]:
    info = DATASETS[name]
    if info.kind == "bundled":
        return _digits_arrays(), "scikit-learn"
    found = _locate(name, data_dirs(data_dir))
    if found:
        path, reader = found
        return reader(path), str(path)
    if offline:
        raise DatasetError(_missing_message(info, "offline mode (KERASLAB_OFFLINE)"))
    if download is None:
        raise DatasetError(_missing_message(info))
    try:
        return download(name), f"keras.datasets.{name}"
    except DatasetError:
        raise
    except Exception as exc:  # noqa: BLE001 - Keras raises bare Exceptions on network failure
        raise DatasetError(_missing_message(info, _short_reason(exc))) from None


def _digits_arrays() -> dict[str, np.ndarray]:
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = digits.images.astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, digits.target, test_size=DIGITS_TEST_FRACTION, random_state=0,
        stratify=digits.target,
    )  # fmt: skip
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def _as_images(x: np.ndarray, where: str) -> np.ndarray:
    import numpy as np
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim not in (2, 4):
        raise DatasetError(
            f"{where}: inputs have shape {x.shape}; expected (N, H, W), (N, H, W, C) or (N, features)"
        )
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise DatasetError(f"{where}: inputs have non-numeric dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.inexact):
        bad = x.size - int(np.count_nonzero(np.isfinite(x)))
        if bad:
            raise DatasetError(f"{where}: inputs hold {bad:,} NaN or infinite value(s)")
    return x


def _as_labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    import numpy as np
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        y = y.argmax(axis=1)  # one-hot labels
    if y.ndim != 1 or y.shape[0] != n:
        raise DatasetError(f"{where}: labels have shape {y.shape}; expected ({n},) to match inputs")
    if not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.floating) or not np.all(np.equal(np.mod(y, 1), 0)):
            raise DatasetError(f"{where}: labels must be whole class numbers, got dtype {y.dtype}")
    if y.size and not np.all(np.isfinite(y)):
        i = int(np.flatnonzero(~np.isfinite(y))[0])
        raise DatasetError(f"{where}: label {y[i]} at index {i} is not a class number")
    if y.size and (y.min() < 0 or y.max() >= MAX_CLASSES):
        i = int(np.flatnonzero((y < 0) | (y >= MAX_CLASSES))[0])
        raise DatasetError(
            f"{where}: label {y[i]} at index {i} is outside 0..{MAX_CLASSES - 1}; "
            "labels are class numbers 0..K-1"
        )
    return y.astype(np.int64)


def _check_classes(y: np.ndarray, num_classes: int, where: str) -> None:
    """Labels must name one of the dataset's ``num_classes`` classes."""
    import numpy as np

    if y.size and int(y.max()) >= num_classes:
        i = int(np.flatnonzero(y >= num_classes)[0])
        raise DatasetError(
            f"{where}: label {y[i]} at index {i} is not one of the {num_classes} classes"
        )


def _npz_dataset(name: str, validation_split: float, limit: int | None, seed: int = 0) -> Dataset:
    path = Path(name.removeprefix("npz:")).expanduser()
    if not path.is_file():
        raise DatasetError(f"{path}: no such .npz file")
    raw = datafiles.read_npz(path)
    x_train = _as_images(raw["x_train"], f"{path}: x_train")
    x_test = _as_images(raw["x_test"], f"{path}: x_test")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DatasetError(
            f"{path}: x_train samples are {x_train.shape[1:]} but x_test samples are {x_test.shape[1:]}"
        )
    y_train = _as_labels(raw["y_train"], x_train.shape[0], f"{path}: y_train")
    y_test = _as_labels(raw["y_test"], x_test.shape[0], f"{path}: y_test")
    if x_train.shape[0] == 0:
        raise DatasetError(f"{path}: x_train is empty")
    num_classes = int(y_train.max(initial=0)) + 1
    given = raw.get("class_names")
    if given is not None and len(given) > MAX_CLASSES:
        raise DatasetError(f"{path}: class_names lists {len(given):,} classes; at most {MAX_CLASSES:,}")
    if given is not None and given.ndim == 1 and len(given) >= num_classes:
        num_classes = len(given)
    if num_classes < 2:
        raise DatasetError(f"{path}: labels hold a single class; need at least 2")
    _check_classes(y_test, num_classes, f"{path}: y_test")
    names = tuple(str(c) for c in given) if given is not None and len(given) == num_classes else ()
    names = names or tuple(str(i) for i in range(num_classes))
    info = DatasetInfo(
        str(path), path.stem, tuple(int(s) for s in x_train.shape[1:]), num_classes, names,
        x_train.shape[0], x_test.shape[0], "npz", description=f"user dataset {path}",
        pixel_max=float(x_train.max()) or 1.0,
    )  # fmt: skip
    return _split(info, x_train, y_train, x_test, y_test, str(path), validation_split, seed, limit)


def _split(
    info: DatasetInfo,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    source: str,
    validation_split: float,
    seed: int,
    limit: int | None,
) -> Dataset:
    import numpy as np
    rng = np.random.default_rng(seed)
    order = rng.permutation(x_train.shape[0])
    if limit is not None:
        order = order[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]
    n_val = int(round(len(order) * validation_split))
    if validation_split > 0 and n_val == 0 and len(order) > 1:
        n_val = 1
    if n_val >= len(order):
        raise DatasetError(
            f"{info.name}: {len(order)} training samples leave none for training after a "
            f"validation split of {validation_split}"
        )
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    info = replace(info, train_size=len(train_idx), test_size=int(x_test.shape[0]))
    return Dataset(
        info, x_train[train_idx], y_train[train_idx], x_train[val_idx], y_train[val_idx],
        x_test, y_test, source,
    )  # fmt: skip


def load_dataset(
    name: str,
    *,
    validation_split: float = 0.1,
    seed: int = 0,
    limit: int | None = None,
    data_dir: str | None = None,
    offline: bool | None = None,
    download: Downloader | None = None,
) -> Dataset:
    """Load a dataset by name (or .npz path), split off a seeded validation set.

    A built-in dataset found in no data folder is fetched with ``download`` (the training
    side passes Keras' downloader), unless ``offline``.

    ``limit`` caps the number of training samples (before the validation split)
    and of test samples, for quick experiments. Raises DatasetError with a
    one-line message for missing, offline or malformed data.
    """
    if is_npz_path(name):
        return _npz_dataset(name, validation_split, limit, seed)
    info = get_info(name)
    offline = _offline_default() if offline is None else offline
    raw, source = _load_raw(name, data_dir, offline, download)
    x_train = _as_images(raw["x_train"], f"{source}: x_train")
    x_test = _as_images(raw["x_test"], f"{source}: x_test")
    y_train = _as_labels(raw["y_train"], x_train.shape[0], f"{source}: y_train")
    y_test = _as_labels(raw["y_test"], x_test.shape[0], f"{source}: y_test")
    if x_train.shape[1:] != info.input_shape:
        raise DatasetError(
            f"{source}: images are {x_train.shape[1:]}, expected {info.input_shape} for {name}"
        )
    _check_classes(y_train, info.num_classes, f"{source}: y_train")
    _check_classes(y_test, info.num_classes, f"{source}: y_test")
    return _split(info, x_train, y_train, x_test, y_test, source, validation_split, seed, limit)
