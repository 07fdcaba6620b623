"""`keraslab diagnose` as a user runs it: on TensorBoard logs, on keraslab runs, and on real short runs built to go wrong."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from browse_helpers import keraslab_run
from conftest import run_cli


def tensorboardx_run(run: Path, train_loss, val_loss) -> Path:
    """A Keras-callback-shaped TensorBoard log written by tensorboardX (train/ and validation/)."""
    from tensorboardX import SummaryWriter

    for sub, values in (("train", train_loss), ("validation", val_loss)):
        w = SummaryWriter(str(run / sub))
        for step, value in enumerate(values):
            w.add_scalar("epoch_loss", value, step)
        w.close()
    return run


def test_diagnose_finds_overfitting_in_a_tensorboard_run(tmp_path):
    n = 15
    train = [2.0 * math.exp(-0.4 * i) for i in range(n)]
    val = [2.0 * math.exp(-0.6 * i) + 0.3 for i in range(5)] + [0.5 + 0.05 * i for i in range(n - 5)]
    run = tensorboardx_run(tmp_path / "tb-overfit", train, val)
    res = run_cli("diagnose", str(run))
    assert res.returncode == 0, res.stderr
    assert "tb-overfit: 15 epochs" in res.stdout
    assert "overfitting from epoch 5" in res.stdout
    assert "-> add dropout" in res.stdout
    assert "number of classes and the model are unknown" in res.stderr


def test_diagnose_a_healthy_keraslab_run_by_name_and_as_json(tmp_path):
    logdir = tmp_path / "runs"
    keraslab_run(logdir, "digits-cnn", epochs=8)
    res = run_cli("diagnose", "digits-cnn", "--logdir", str(logdir))
    assert res.returncode == 0, res.stderr
    assert "no findings: the curves look healthy" in res.stdout
    res = run_cli("diagnose", "digits-cnn", "--logdir", str(logdir), "--json")
    data = json.loads(res.stdout)
    assert data["epochs"] == 8 and data["findings"] == []


def test_diagnose_an_unknown_run_is_one_line(tmp_path):
    (tmp_path / "runs").mkdir()
    res = run_cli("diagnose", "nope", "--logdir", str(tmp_path / "runs"))
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "no run 'nope'" in res.stderr


def _train(logdir: Path, name: str, *args: str) -> Path:
    res = run_cli("train", "--dataset", "digits", "--logdir", str(logdir), "--name", name, *args)
    assert res.returncode == 0, res.stderr
    return logdir / f"{name}-1"


def _findings(run: Path) -> dict[str, dict]:
    res = run_cli("diagnose", str(run), "--json")
    assert res.returncode == 0, res.stderr
    return {f["code"]: f for f in json.loads(res.stdout)["findings"]}


@pytest.mark.slow
def test_a_big_mlp_on_a_small_subset_overfits(tmp_path):
    run = _train(tmp_path, "overfit", "--model", "flatten-dense512-relu-dense512-relu-out-softmax",
                 "--limit", "150", "--validation-split", "0.3", "--epochs", "30", "--lr", "0.003")
    found = _findings(run)
    assert "overfitting" in found and "early-stopping" in found
    assert found["overfitting"]["epoch"] < 20


@pytest.mark.slow
def test_a_learning_rate_of_10_is_called_too_high(tmp_path):
    run = _train(tmp_path, "lr10", "--model", "mlp", "--optimizer", "sgd", "--lr", "10", "--epochs", "4")
    found = _findings(run)
    assert "lr-too-high" in found or "not-finite" in found
    assert "learning rate" in (found.get("lr-too-high") or found["not-finite"])["suggestion"]


@pytest.mark.slow
def test_a_batchnorm_net_trained_briefly_shows_the_gap_not_overfitting(tmp_path):
    run = _train(tmp_path, "bn", "--model", "fancy", "--epochs", "3")
    found = _findings(run)
    assert "batchnorm-gap" in found and "overfitting" not in found
    assert "momentum" in found["batchnorm-gap"]["suggestion"]
