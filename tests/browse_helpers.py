"""Helpers for the runs-browser tests: write keraslab runs and Keras-style TensorBoard logs without TF."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from keraslab.core.rundir.writer import RunWriter, create_run_dir
from keraslab.core.tfevents import EventWriter


def keraslab_run(
    logdir: Path,
    name: str = "mnist-cnn",
    *,
    epochs: int = 5,
    planned: int | None = None,
    dataset: str = "mnist",
    lr: float = 1e-3,
    batch_size: int = 128,
    status: str | None = "completed",
    test_accuracy: float | None = 0.9,
    peak: float = 0.95,
) -> Path:
    """A finished (or running when status is None) keraslab run with rising val_accuracy."""
    run = create_run_dir(logdir, name)
    w = RunWriter(run)
    w.write_config(
        {
            "run": {"dataset": dataset, "model": "cnn", "epochs": planned or epochs,
                    "learning_rate": lr, "batch_size": batch_size, "optimizer": "adam"},
            "model_label": "cnn",
            "model_info": {"params": 12345, "notation": "conv16k3-relu-flatten-dense10-softmax"},
        }
    )  # fmt: skip
    w.start(epochs=planned or epochs)
    t0 = time.time() - 100
    for e in range(1, epochs + 1):
        acc = peak * (1 - math.exp(-e))
        w.log_epoch(e, {"loss": 1 / e, "accuracy": acc, "val_loss": 1.1 / e, "val_accuracy": acc - 0.01},
                    wall_time=t0 + e)  # fmt: skip
    if test_accuracy is not None:
        w.write_results({"test": {"accuracy": test_accuracy, "loss": 0.3}, "best_epoch": epochs})
    if status:
        w.finish(status)
    w.close()
    return run


def keras_tb_run(run: Path, epochs: int = 5, *, t0: float = 1.7e9, scale: float = 1.0) -> Path:
    """A plain Keras TensorBoard-callback-shaped log: <run>/train and <run>/validation event files."""
    with EventWriter(run / "train") as tw, EventWriter(run / "validation") as vw:
        for e in range(epochs):
            acc = scale * (1 - math.exp(-(e + 1)))
            tw.add_scalar("epoch_loss", 1 / (e + 1), e, wall_time=t0 + e)
            tw.add_scalar("epoch_accuracy", acc, e, wall_time=t0 + e)
            vw.add_scalar("epoch_loss", 1.2 / (e + 1), e, wall_time=t0 + e)
            vw.add_scalar("epoch_accuracy", acc - 0.02, e, wall_time=t0 + e)
    return run


def sample_logdir(root: Path) -> Path:
    """Three keraslab runs (two datasets, two learning rates) and one plain Keras TensorBoard log."""
    keraslab_run(root, "mnist-cnn", dataset="mnist", lr=1e-3, peak=0.999, test_accuracy=0.99)
    keraslab_run(root, "mnist-cnn", dataset="mnist", lr=1e-2, peak=0.95, test_accuracy=0.93)
    keraslab_run(root, "fashion-cnn", dataset="fashion_mnist", lr=1e-3, peak=0.9, test_accuracy=0.88)
    keras_tb_run(root / "plain-keras", epochs=6)
    return root


KERAS_JSON = {
    "class_name": "Functional",
    "config": {"name": "net", "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 28, 28, 1], "name": "img"}},
        {"class_name": "Conv2D", "config": {"name": "c1", "filters": 32, "kernel_size": [3, 3],
                                            "strides": [1, 1], "padding": "same", "activation": "relu"}},
        {"class_name": "Sequential", "config": {"name": "head", "layers": [{}, {}]}},
        {"class_name": "Activation", "config": {"name": "act", "activation": {"class_name": "ReLU", "config": {}}}},
    ]},
    "compile_config": {
        "optimizer": {"class_name": "SGD", "config": {"learning_rate": {"class_name": "ExponentialDecay"}}},
        "loss": {"class_name": "LossFunctionWrapper", "config": {"name": "mse"}},
    },
}  # fmt: skip


def keras_model_run(path: Path, model: dict, hparams: dict | None = None) -> None:
    """A run holding a Keras model graph (as the Keras callback writes it) and maybe HParams."""
    from tensorboard.compat.proto import summary_pb2, tensor_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2

    def meta(plugin: str, content: bytes = b"") -> summary_pb2.SummaryMetadata:
        data = summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin, content=content)
        return summary_pb2.SummaryMetadata(plugin_data=data)

    graph = tensor_pb2.TensorProto(dtype=7, string_val=[json.dumps(model).encode()])
    with EventWriter(path / "train") as w:
        w.add_summary(summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="keras", metadata=meta("graph_keras_model", b"1"), tensor=graph)
        ]), 0, wall_time=1.7e9)  # fmt: skip
        w.add_scalar("epoch_loss", 0.5, 0, wall_time=1.7e9 + 1)
    if hparams is not None:
        start = plugin_data_pb2.HParamsPluginData()
        for k, v in hparams.items():
            start.session_start_info.hparams[k].number_value = v
        with EventWriter(path) as w:
            w.add_summary(summary_pb2.Summary(value=[summary_pb2.Summary.Value(
                tag="_hparams_/session_start_info", metadata=meta("hparams", start.SerializeToString()))
            ]), 0, wall_time=1.7e9)  # fmt: skip
