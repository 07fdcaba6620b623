"""Image files (PNG, JPEG, ...) classified by a run's model: read with Pillow, converted to
the model's input size and channels and to the raw value range its dataset has."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data.datasets import DATASETS, get_info
from ..errors import DatasetError, KeraslabError, RunStoreError
from ..rundir.layout import CHECKPOINT_FILE
from ..safefile import NotRegularFile, is_regular, open_regular
from .predictions import class_names, run_config

MAX_PIXELS = 50_000_000  # an image file larger than this is refused before decoding
TOP_K = 3


@dataclass(frozen=True)
class ImagePrediction:
    """The top classes of one image file, most probable first."""

    path: Path
    top: list[tuple[str, float]]  # (class name, probability)
    inverted: bool  # the image was light-on-dark inverted to match the dataset


def read_image(path: str | os.PathLike, shape: tuple[int, ...], high: float,
               invert: bool | None = None) -> tuple[np.ndarray, bool]:
    """An image file as one raw input of ``shape`` (H, W, C): resized, in greyscale or RGB,
    white mapped to ``high``. ``invert=None`` inverts a greyscale image with a light
    background (datasets like MNIST draw light strokes on black). One-line DatasetError
    for a file that is not a readable image."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if len(shape) != 3 or shape[-1] not in (1, 3):
        raise DatasetError(f"the model takes inputs of shape {shape}, not images")
    try:
        with open_regular(path) as f, Image.open(f) as img:
            if img.width * img.height > MAX_PIXELS:
                raise DatasetError(f"{path.name}: {img.width}x{img.height} pixels is too large an image")
            img = img.convert("L" if shape[-1] == 1 else "RGB").resize((shape[1], shape[0]), Image.LANCZOS)
            a = np.asarray(img, dtype=np.float32)
    except KeraslabError:
        raise
    except NotRegularFile:
        raise DatasetError(f"{path}: not a regular file") from None
    except FileNotFoundError:
        raise DatasetError(f"{path}: no such file") from None
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise DatasetError(f"{path.name}: not an image file Pillow can read (PNG, JPEG, ...)") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise DatasetError(f"{path.name}: cannot read the image ({type(exc).__name__}: {exc})") from None
    a = a.reshape(shape)
    inverted = False
    if shape[-1] == 1:
        border = np.concatenate([a[0].ravel(), a[-1].ravel(), a[:, 0].ravel(), a[:, -1].ravel()])
        inverted = bool(border.mean() > 127.5) if invert is None else invert
        if inverted:
            a = 255.0 - a
    return a * (high / 255.0), inverted


def predict_files(run_dir: str | os.PathLike, paths, *, invert: bool | None = None,
                  top: int = TOP_K) -> list[ImagePrediction | KeraslabError]:
    """The top ``top`` classes of each image file by the run's best checkpoint; an unreadable
    image gives its one-line error in its place (the others are still classified)."""
    from ..train.predict import predict_probabilities

    run_dir = Path(run_dir)
    config, record = run_config(run_dir)
    checkpoint = run_dir / CHECKPOINT_FILE
    if not is_regular(checkpoint):
        raise RunStoreError(f"{run_dir.name}: no {CHECKPOINT_FILE} to predict with (has the run finished?)")
    info = DATASETS.get(config.dataset) or get_info(config.dataset)
    out: list[ImagePrediction | KeraslabError] = []
    inputs, where = [], []
    for p in paths:
        try:
            x, inv = read_image(p, info.input_shape, info.pixel_max, invert)
        except KeraslabError as exc:
            out.append(exc)
            continue
        where.append((len(out), Path(p), inv))
        out.append(None)  # type: ignore[arg-type]  # filled below
        inputs.append(x)
    if inputs:
        from_logits = bool((record.get("model_info") or {}).get("from_logits"))
        probs = predict_probabilities(checkpoint, np.stack(inputs), from_logits=from_logits)
        names = class_names(config, record, probs.shape[1])
        for (slot, p, inv), row in zip(where, probs, strict=True):
            order = np.argsort(-row, kind="stable")[:top]
            out[slot] = ImagePrediction(p, [(names[int(k)], float(row[k])) for k in order], inv)
    return out
