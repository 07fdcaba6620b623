"""Class probabilities from a run's saved model: the checkpoint loaded in Keras' safe mode."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunStoreError
from ..safefile import is_regular

if TYPE_CHECKING:
    import numpy as np

MAX_MODEL_CACHE = 4  # loaded models kept: the runs of one ensemble, the run shown in the app


def as_probabilities(outputs: np.ndarray, from_logits: bool) -> np.ndarray:
    """A model's outputs as class probabilities (rows summing to 1): softmax of logits."""
    import numpy as np

    out = np.asarray(outputs, dtype=np.float64)
    if from_logits:
        out = np.exp(out - out.max(axis=-1, keepdims=True))
        out /= out.sum(axis=-1, keepdims=True)
    return out.astype(np.float32)


@functools.lru_cache(maxsize=MAX_MODEL_CACHE)
def _load(path: str, mtime_ns: int, size: int):
    """The model in ``path`` (keyed by mtime and size, so a rewritten checkpoint reloads)."""
    from .backend import import_keras

    keras = import_keras()
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # noqa: BLE001 - any refusal of the file is the user's one line
        text = " ".join(str(exc).split())
        text = text if len(text) <= 240 else text[:240] + " ..."
        raise RunStoreError(f"{Path(path).name}: cannot load ({type(exc).__name__}: {text})") from None


def load_checkpoint(path: str | os.PathLike):
    """The Keras model saved at ``path``, loaded with ``safe_mode=True`` (no code in the file
    runs); a missing, non-regular or unloadable file is a one-line RunStoreError."""
    path = Path(path)
    if not is_regular(path):
        raise RunStoreError(f"{path}: no saved model (a regular .keras file) there")
    st = path.stat()
    return _load(str(path), st.st_mtime_ns, st.st_size)


def predict_probabilities(
    checkpoint: str | os.PathLike, x: np.ndarray, *, from_logits: bool = False, batch_size: int = 256
) -> np.ndarray:
    """Class probabilities ``(N, K)`` of the model at ``checkpoint`` for raw inputs ``x``."""
    model = load_checkpoint(checkpoint)
    shape = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != tuple(s for s in shape):
        raise RunStoreError(f"the model takes inputs of shape {shape}, not {tuple(x.shape[1:])}")
    outputs = model.predict(x.astype("float32"), batch_size=batch_size, verbose=0)
    return as_probabilities(outputs, from_logits)
