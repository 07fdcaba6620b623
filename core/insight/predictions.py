"""A run's test-set predictions: read from its test_predictions.npz (untrusted, checked) or
computed from its best checkpoint, with the run's class names."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import RunConfig
from ..data.datasets import DATASETS, MAX_CLASSES
from ..errors import ConfigError, KeraslabError, RunStoreError
from ..rundir.layout import CHECKPOINT_FILE, PREDICTIONS_FILE
from ..rundir.reader import load_run
from ..safefile import is_regular, open_regular

MAX_SAMPLES = 10_000_000  # test samples a predictions file may hold
MAX_VALUES = 200_000_000  # numbers in its probability array (samples x classes)
_REQUIRED = ("y_true", "y_pred", "confidence")


@dataclass(frozen=True)
class Predictions:
    """Test-set predictions of one run (or of an ensemble).

    ``confidence`` is the probability of the predicted class; ``probs`` holds every class's
    probability when known (runs trained before it was saved have only the confidence).
    """

    y_true: np.ndarray  # (N,) int64
    y_pred: np.ndarray  # (N,) int64
    confidence: np.ndarray  # (N,) float32
    probs: np.ndarray | None  # (N, K) float32
    class_names: tuple[str, ...]
    config: RunConfig
    run_dir: Path
    source: str  # the file they came from

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else 0.0


def run_config(run_dir: Path) -> tuple[RunConfig, dict]:
    """A keraslab run's RunConfig and its config.json record; a one-line error when the run
    has none or it is damaged."""
    record = load_run(run_dir)
    if not record.run_config:
        why = f" ({record.warnings[0]})" if record.warnings else ""
        raise RunStoreError(f"{run_dir.name}: not a keraslab run with a config{why}")
    try:
        return RunConfig.from_dict(record.run_config).validate(), record.config
    except (ConfigError, TypeError) as exc:
        raise RunStoreError(f"{run_dir.name}: config.json: {exc}") from None


def class_names(config: RunConfig, record: dict, num_classes: int | None) -> tuple[str, ...]:
    """The run's class names: a built-in dataset's own, else those config.json lists (untrusted
    strings: show them with care), else the class numbers."""
    info = DATASETS.get(config.dataset)
    if info is not None:
        return info.class_names
    listed = (record.get("dataset_info") or {}).get("class_names")
    if (isinstance(listed, list) and 2 <= len(listed) <= MAX_CLASSES
            and all(isinstance(n, str) for n in listed)
            and (num_classes is None or len(listed) == num_classes)):  # fmt: skip
        return tuple(listed)
    if num_classes is None:
        raise RunStoreError("config.json names no classes")
    return tuple(str(i) for i in range(num_classes))


def _member_shape(archive: zipfile.ZipFile, name: str, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an .npz member declares, read from its header before any data
    (so a small file cannot ask for gigabytes)."""
    with archive.open(f"{name}.npy") as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, _, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, _, dtype = np.lib.format.read_array_header_2_0(f)
    if dtype.hasobject:
        raise RunStoreError(f"{where}: {name} holds Python objects")
    return shape, dtype


def read_predictions_file(path: Path, num_classes: int | None = None) -> dict[str, np.ndarray]:
    """The arrays of a test_predictions.npz, checked: 1-D y_true/y_pred (class numbers) and
    confidence of one length, optional ``probs`` (N, K); never unpickled."""
    where = path.name
    try:
        with open_regular(path) as f, zipfile.ZipFile(f) as archive:
            names = {n.removesuffix(".npy") for n in archive.namelist()}
            missing = [k for k in _REQUIRED if k not in names]
            if missing:
                raise RunStoreError(f"{where}: missing {', '.join(missing)}")
            keys = [*_REQUIRED, *(["probs"] if "probs" in names else [])]
            shapes = {k: _member_shape(archive, k, where) for k in keys}
            _check_shapes(shapes, where)
            f.seek(0)
            with np.load(f, allow_pickle=False) as npz:
                arrays = {k: np.asarray(npz[k]) for k in keys}
    except KeraslabError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise RunStoreError(f"{where}: not a readable predictions file ({type(exc).__name__})") from None
    return _checked(arrays, num_classes, where)


def _check_shapes(shapes: dict, where: str) -> None:
    n = None
    for key, (shape, dtype) in shapes.items():
        want = 2 if key == "probs" else 1
        if len(shape) != want:
            raise RunStoreError(f"{where}: {key} has shape {shape}; expected {want} dimension(s)")
        n = shape[0] if n is None else n
        if shape[0] != n:
            raise RunStoreError(f"{where}: {key} holds {shape[0]} samples, y_true {n}")
        kind = "iu" if key in ("y_true", "y_pred") else "f"
        if dtype.kind not in kind:
            raise RunStoreError(f"{where}: {key} has dtype {dtype}; expected {'integers' if kind == 'iu' else 'floats'}")
    if n is not None and n > MAX_SAMPLES:
        raise RunStoreError(f"{where}: {n:,} samples; at most {MAX_SAMPLES:,}")
    if "probs" in shapes:
        k = shapes["probs"][0][1]
        if not 2 <= k <= MAX_CLASSES or n * k > MAX_VALUES:
            raise RunStoreError(f"{where}: probs of shape {shapes['probs'][0]} is not (samples, classes)")


def _checked(arrays: dict[str, np.ndarray], num_classes: int | None, where: str) -> dict[str, np.ndarray]:
    probs = arrays.get("probs")
    k = num_classes or (probs.shape[1] if probs is not None else None)
    if probs is not None and probs.shape[1] != k:
        raise RunStoreError(f"{where}: probs has {probs.shape[1]} classes; the run has {k}")
    for key in ("y_true", "y_pred"):
        y = arrays[key]
        high = k if k is not None else MAX_CLASSES
        if y.size and (int(y.min()) < 0 or int(y.max()) >= high):
            bad = int(np.flatnonzero((y < 0) | (y >= high))[0])
            raise RunStoreError(f"{where}: {key}[{bad}] = {int(y[bad])} is not a class number 0..{high - 1}")
        arrays[key] = y.astype(np.int64)
    for key in ("confidence", "probs"):
        v = arrays.get(key)
        if v is None:
            continue
        v = v.astype(np.float32)
        if v.size and (not np.all(np.isfinite(v)) or v.min() < 0 or v.max() > 1.001):
            raise RunStoreError(f"{where}: {key} holds values outside 0..1 (or NaN)")
        arrays[key] = v
    return arrays


def load_predictions(run_dir: str | Path, *, need_probs: bool = False) -> Predictions:
    """A keraslab run's test-set predictions: its test_predictions.npz, else (or when every
    class's probability is needed and the file lacks it) its best checkpoint run on the
    reproduced test set. Raises a one-line KeraslabError when neither is there."""
    run_dir = Path(run_dir)
    config, record = run_config(run_dir)
    known = (record.get("dataset_info") or {}).get("num_classes")
    k = DATASETS[config.dataset].num_classes if config.dataset in DATASETS else (
        known if type(known) is int and 2 <= known <= MAX_CLASSES else None)  # fmt: skip
    path = run_dir / PREDICTIONS_FILE
    if is_regular(path):
        arrays = read_predictions_file(path, k)
        if arrays.get("probs") is not None or not need_probs:
            highest = max(int(arrays["y_true"].max(initial=0)), int(arrays["y_pred"].max(initial=0)))
            names = class_names(config, record, k or highest + 1)
            return Predictions(arrays["y_true"], arrays["y_pred"], arrays["confidence"],
                               arrays.get("probs"), names, config, run_dir, PREDICTIONS_FILE)  # fmt: skip
    checkpoint = run_dir / CHECKPOINT_FILE
    if not is_regular(checkpoint):
        raise RunStoreError(
            f"{run_dir.name}: no test predictions and no {CHECKPOINT_FILE} (has the run finished?)"
        )
    from ..train.predict import predict_probabilities
    from .samples import test_set

    x_test, y_test = test_set(config)
    from_logits = bool((record.get("model_info") or {}).get("from_logits"))
    probs = predict_probabilities(checkpoint, x_test, from_logits=from_logits, batch_size=config.batch_size)
    names = class_names(config, record, probs.shape[1])
    if probs.shape[1] != len(names):
        raise RunStoreError(f"{CHECKPOINT_FILE}: the model has {probs.shape[1]} outputs for {len(names)} classes")
    return Predictions(y_test.astype(np.int64), probs.argmax(axis=1).astype(np.int64), probs.max(axis=1),
                       probs, names, config, run_dir, CHECKPOINT_FILE)  # fmt: skip


def has_saved_predictions(run_dir: str | Path) -> bool:
    """Whether the run kept its test predictions (reading them needs no Keras)."""
    return is_regular(Path(run_dir) / PREDICTIONS_FILE)
