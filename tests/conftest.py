"""Shared fixtures: quiet TensorFlow, isolated log and data folders, the shared real datasets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("KERASLAB_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    return tmp_path / "runs"


@pytest.fixture
def empty_keras_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Keras home with an empty dataset cache and no extra data folders."""
    home = tmp_path / "keras-home"
    (home / "datasets").mkdir(parents=True)
    monkeypatch.setenv("KERAS_HOME", str(home))
    monkeypatch.delenv("KERASLAB_DATA_DIR", raising=False)
    return home


@pytest.fixture
def mnist_dir() -> Path:
    folder = SHARED_DATASETS / "mnist"
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real MNIST idx files not found in {folder}")
    return folder


@pytest.fixture
def fashion_dir() -> Path:
    folder = SHARED_DATASETS / "fashion-mnist"
    if not (folder / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"real Fashion-MNIST idx files not found in {folder}")
    return folder


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 900):
    """Run the installed `keraslab` console script as a user would (no TTY)."""
    exe = Path(sys.executable).with_name("keraslab")
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def epochs_logged(run_dir: Path) -> int:
    """Epoch records a run has written to its metrics.jsonl so far (0 before the file exists)."""
    try:
        text = (run_dir / "metrics.jsonl").read_text()
    except OSError:
        return 0
    return text.count('"type": "epoch"')
