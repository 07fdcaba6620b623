"""Lazy, quiet access to Keras and its backend: TF log silencing, device description, versions."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
from collections.abc import Iterator
from importlib import metadata

_lock = threading.Lock()


def quiet_tensorflow() -> None:
    """Set the variables that keep TensorFlow's C++ logging off the terminal (before TF loads)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")


@contextlib.contextmanager
def silenced_fd2() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null while native code prints its start-up noise.

    TensorFlow's absl logging writes "All log messages before absl::InitializeLog()"
    to fd 2 even with TF_CPP_MIN_LOG_LEVEL=3.
    """
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def keras_loaded() -> bool:
    return "keras" in sys.modules


def import_keras():
    """Import and return keras, silencing TensorFlow's import-time noise. Thread-safe."""
    quiet_tensorflow()
    with _lock:
        if "keras" not in sys.modules:
            with silenced_fd2():
                import keras

                if keras.backend.backend() == "tensorflow":
                    import tensorflow as tf

                    tf.get_logger().setLevel("ERROR")
                    tf.config.list_physical_devices("GPU")  # the CUDA probe, while muted
        import keras

        return keras


def describe_device() -> str:
    """The device training runs on, e.g. 'GPU: NVIDIA H100 80GB HBM3' or 'CPU (4 cores)'."""
    keras = import_keras()
    backend = keras.backend.backend()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.get_visible_devices("GPU")  # (those the run's placement left visible)
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                name = details.get("device_name", gpus[0].name)
                return f"GPU: {name}" + (f" (+{len(gpus) - 1} more)" if len(gpus) > 1 else "")
        elif backend == "jax":
            import jax

            devices = jax.devices()
            if devices and devices[0].platform != "cpu":
                kind = getattr(devices[0], "device_kind", devices[0].platform)
                more = f" (+{len(devices) - 1} more)" if len(devices) > 1 else ""
                return f"GPU: {kind}{more}"
        elif backend == "torch":
            import torch

            if torch.cuda.is_available():
                return f"GPU: {torch.cuda.get_device_name(0)}"
    except Exception:  # noqa: BLE001 - a device probe must never break training
        pass
    return f"CPU ({os.cpu_count() or 1} cores)"


def package_versions() -> dict[str, str]:
    """Versions of the packages that shape a run's result (only those installed)."""
    versions = {"python": platform.python_version()}
    for dist in ("keraslab", "keras", "tensorflow", "jax", "torch", "numpy", "scikit-learn"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    if keras_loaded():
        import keras

        versions["keras_backend"] = keras.backend.backend()
    return versions
