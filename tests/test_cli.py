"""The `keraslab` command line, run as a user would: help, errors, train, runs, show, Ctrl+C."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import run_cli

SUBCOMMANDS = ["train", "runs", "show", "datasets", "presets", "lint", "compare", "export", "browse"]


def test_help_lists_every_command():
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in SUBCOMMANDS:
        assert name in proc.stdout
    for name in SUBCOMMANDS:
        sub = run_cli(name, "--help")
        assert sub.returncode == 0 and f"usage: keraslab {name}" in sub.stdout


@pytest.mark.parametrize(
    "args, code, text",
    [
        (["train", "--epochs", "zero"], 2, "'zero' is not a whole number"),
        (["train", "--optimizer", "adamm"], 2, "invalid choice"),
        (["train", "--dataset", "imagenet", "--epochs", "1"], 1, "unknown dataset 'imagenet'"),
        (["train", "--validation-split", "0.95"], 1, "validation_split"),
        (["show", "no-such-run"], 1, "no run 'no-such-run'"),
        (["frobnicate"], 2, "invalid choice"),
    ],
)
def test_bad_arguments_get_one_line_errors(args, code, text, tmp_path):
    proc = run_cli(*args, "--logdir", str(tmp_path)) if args[0] in ("train", "show") else run_cli(*args)
    assert proc.returncode == code
    assert text in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_train_digits_through_cli_then_runs_and_show(tmp_path):
    logdir = tmp_path / "runs"
    proc = run_cli("train", "--dataset", "digits", "--model", "cnn", "--epochs", "3", "--batch-size", "32", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "\r" not in out and "\x1b" not in out  # no control characters without a TTY
    assert "epoch 3/3" in out and "test accuracy:" in out
    run_dir = Path(out.strip().splitlines()[-1].removeprefix("run: "))
    assert run_dir.parent == logdir and run_dir.name == "digits-cnn-1"
    acc = float(out.split("test accuracy:")[1].split()[0])
    assert acc > 0.8

    listing = run_cli("runs", "--logdir", str(logdir))
    assert listing.returncode == 0
    row = [line for line in listing.stdout.splitlines() if line.startswith("digits-cnn-1")][0]
    assert "completed" in row and "3/3" in row and f"{acc:.4f}" in row

    shown = run_cli("show", "digits-cnn-1", "--logdir", str(logdir))
    assert shown.returncode == 0
    assert "test set" in shown.stdout and "loss" in shown.stdout and "validation" in shown.stdout
    assert "\x1b" not in shown.stdout

    as_json = json.loads(run_cli("runs", "--json", "--logdir", str(logdir)).stdout)
    assert as_json[0]["test_accuracy"] == pytest.approx(acc, abs=1e-4)

    # TensorBoard's own loader reads the scalars we wrote (in a subprocess: it imports TF)
    code = textwrap.dedent(
        f"""
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
        from tensorboard.util import tensor_util
        for split in ("train", "validation"):
            acc = EventAccumulator({str(run_dir)!r} + "/" + split, size_guidance={{"tensors": 0}})
            acc.Reload()
            events = acc.Tensors("epoch_accuracy")
            print(split, [e.step for e in events], [float(tensor_util.make_ndarray(e.tensor_proto)) for e in events])
        """
    )
    tb = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert tb.returncode == 0, tb.stderr
    assert "train [0, 1, 2]" in tb.stdout and "validation [0, 1, 2]" in tb.stdout


def test_show_finds_a_plain_keras_tensorboard_run_as_every_command_does(tmp_path):
    """A plain Keras script's TensorBoard log (logs/plainrun/train, /validation) is a run to
    `show` by name, unique prefix and path, as it is to `runs`: its hyperparameters (HParams
    and the Keras graph's compile settings), last and best of each metric, and its curves."""
    from browse_helpers import KERAS_JSON, keras_model_run, keras_tb_run, keraslab_run

    logs = tmp_path / "logs"
    keras_tb_run(logs / "plainrun", epochs=4)
    keras_model_run(logs / "plainrun", KERAS_JSON, hparams={"dropout": 0.25})
    keraslab_run(logs, "mnist-cnn")
    listed = run_cli("runs", "--logdir", str(logs))
    assert listed.returncode == 0 and "plainrun" in listed.stdout
    outputs = [
        run_cli("show", "plainrun", "--logdir", str(logs)),
        run_cli("show", "plain", "--logdir", str(logs)),
        run_cli("show", str(logs / "plainrun")),
    ]
    for proc in outputs:
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout
        assert "run       plainrun" in out and "kind      tensorboard" in out
        assert "dropout" in out and "0.25" in out and "optimizer" in out and "sgd" in out
        rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("val_", "loss", "acc"))}
        assert rows["loss"][1] == "0.2500"  # best: the lowest loss
        assert rows["val_accuracy"][0] == rows["val_accuracy"][1]  # still rising: the last is the best
        assert "validation" in out and "\x1b" not in out  # the curves, plain text without a terminal
    assert outputs[0].stdout == outputs[1].stdout
    described = run_cli("show", "plainrun", "--logdir", str(logs), "--summary", "--no-plot")
    assert "compiled with optimizer=sgd" in described.stdout and "Conv2D" in described.stdout
    missing = run_cli("show", "mnist-cnn-9", "--logdir", str(logs))
    assert missing.returncode == 1 and "no run 'mnist-cnn-9'" in missing.stderr


def test_show_prints_what_a_run_file_says_without_driving_the_terminal(tmp_path):
    from browse_helpers import keraslab_run

    run = keraslab_run(tmp_path, "mnist-cnn")
    config = json.loads((run / "config.json").read_text())
    config["run"]["optimizer"] = "adam\x1b[2J\x1b]0;owned\x07"
    (run / "config.json").write_text(json.dumps(config))
    proc = run_cli("show", "mnist-cnn-1", "--logdir", str(tmp_path), "--no-plot")
    assert proc.returncode == 0, proc.stderr
    assert r"adam\x1b[2J\x1b]0;owned\x07" in proc.stdout and "\x1b" not in proc.stdout and "\x07" not in proc.stdout


def test_short_real_mnist_run(tmp_path, mnist_dir):
    proc = run_cli(
        "train", "--dataset", "mnist", "--model", "cnn", "--epochs", "2", "--limit", "6000",
        "--data-dir", str(mnist_dir.parent), "--offline", "--logdir", str(tmp_path), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed" and result["epochs_done"] == 2
    assert result["test"]["accuracy"] > 0.9


@pytest.mark.slow
def test_full_mnist_cnn_reaches_98_percent_in_3_epochs(tmp_path, mnist_dir):
    """The README's promise: the CNN preset on all of MNIST, 3 epochs, >= 98% test accuracy."""
    proc = run_cli(
        "train", "--dataset", "mnist", "--model", "cnn", "--epochs", "3",
        "--data-dir", str(mnist_dir.parent), "--offline", "--logdir", str(tmp_path), "--json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "completed"
    assert result["test"]["accuracy"] >= 0.98, result


def test_ctrl_c_stops_and_marks_run_stopped(tmp_path):
    exe = Path(sys.executable).with_name("keraslab")
    proc = subprocess.Popen(
        [str(exe), "train", "--dataset", "digits", "--model", "mlp", "--epochs", "500", "--batch-size", "8", "--logdir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 300
    metrics = None
    while time.monotonic() < deadline:
        found = list(tmp_path.glob("*/metrics.jsonl"))
        if found and '"type": "epoch"' in found[0].read_text():
            metrics = found[0]
            break
        time.sleep(0.2)
    assert metrics is not None, "training never reached an epoch end"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "status: stopped" in out
    status = json.loads((metrics.parent / "status.json").read_text())
    assert status["status"] == "stopped" and status["ended"]
    assert (metrics.parent / "best_model.keras").is_file()


def test_datasets_command_shows_offline_state(empty_keras_home):
    proc = run_cli("datasets", env={"KERAS_HOME": str(empty_keras_home)})
    assert proc.returncode == 0
    digits = [line for line in proc.stdout.splitlines() if line.startswith("digits")][0]
    assert "ready" in digits
    assert "mnist: MNIST (mnist) is not available offline" in proc.stdout
    assert str(empty_keras_home / "datasets" / "mnist") in proc.stdout
