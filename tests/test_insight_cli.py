"""`keraslab evaluate`, `predict` and `ensemble` on real short digits runs, as a user types them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli
from insight_helpers import fake_run
from PIL import Image

pytestmark = pytest.mark.slow
LIMIT = 200


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two finished digits runs (an MLP and a CNN) in one log directory."""
    logdir = tmp_path_factory.mktemp("insight") / "runs"
    for name, model in (("mlp", "mlp"), ("cnn", "cnn")):
        r = run_cli("train", "--dataset", "digits", "--model", model, "--epochs", "2", "--limit", str(LIMIT),
                    "--name", name, "--logdir", str(logdir))
        assert r.returncode == 0, r.stderr
    return logdir


def _npz(run_dir):
    with np.load(run_dir / "test_predictions.npz") as z:
        return {k: z[k] for k in z.files}


def test_evaluate_prints_classes_matrix_and_pairs_that_agree_with_the_run(runs):
    r = run_cli("evaluate", "mlp", "--logdir", str(runs))
    assert r.returncode == 0, r.stderr
    assert "per class" in r.stdout and "confusion matrix" in r.stdout and "most confused" in r.stdout
    assert "\x1b[" not in r.stdout  # plain when not a terminal
    j = json.loads(run_cli("evaluate", "mlp", "--json", "--logdir", str(runs)).stdout)
    results = json.loads((runs / "mlp-1" / "results.json").read_text())
    assert j["accuracy"] == pytest.approx(results["test"]["accuracy"], abs=1e-6)
    cm = np.array(j["confusion"])
    assert cm.sum() == j["samples"] == LIMIT
    assert [c["support"] for c in j["classes"]] == cm.sum(axis=1).tolist()
    assert j["errors"] == LIMIT - np.trace(cm)


def test_evaluate_without_saved_predictions_uses_the_checkpoint_and_agrees(runs, tmp_path):
    copy = tmp_path / "copy-1"
    shutil.copytree(runs / "cnn-1", copy)
    (copy / "test_predictions.npz").unlink()
    saved = json.loads(run_cli("evaluate", str(runs / "cnn-1"), "--json").stdout)
    r = run_cli("evaluate", str(copy), "--json")
    assert r.returncode == 0, r.stderr
    computed = json.loads(r.stdout)
    assert computed["source"] == "best_model.keras" and saved["source"] == "test_predictions.npz"
    assert computed["confusion"] == saved["confusion"]


def test_mistakes_are_printed_worst_first_as_images(runs):
    r = run_cli("evaluate", "mlp", "--mistakes", "3", "--logdir", str(runs))
    assert r.returncode == 0, r.stderr
    z = _npz(runs / "mlp-1")
    wrong = np.flatnonzero(z["y_true"] != z["y_pred"])
    worst = wrong[np.argsort(-z["confidence"][wrong], kind="stable")][:3]
    shown = [int(word[1:]) for word in r.stdout.split() if word.startswith("#") and word[1:].isdigit()]
    assert shown == worst.tolist()
    assert any(c in r.stdout for c in "@%#*")  # plain-text images
    colour = run_cli("evaluate", "mlp", "--mistakes", "2", "--color", "always", "--logdir", str(runs))
    assert "▀" in colour.stdout and "\x1b[38;2;" in colour.stdout  # half blocks in 24-bit colour


def test_ensemble_averages_the_members_probabilities(runs):
    r = run_cli("ensemble", "mlp", "cnn", "--logdir", str(runs))
    assert r.returncode == 0, r.stderr
    assert "ensemble of 2 runs on digits" in r.stdout and "mlp-1" in r.stdout and "confusion matrix" in r.stdout
    j = json.loads(run_cli("ensemble", "mlp", "cnn", "--json", "--logdir", str(runs)).stdout)
    a, b = _npz(runs / "mlp-1"), _npz(runs / "cnn-1")
    expected = ((a["probs"] + b["probs"]) / 2).argmax(1)
    assert j["ensemble"]["accuracy"] == pytest.approx(float(np.mean(expected == a["y_true"])))
    assert [m["accuracy"] for m in j["members"]] == [pytest.approx(float(np.mean(z["y_pred"] == z["y_true"]))) for z in (a, b)]


def test_ensemble_of_runs_on_other_test_sets_is_a_one_line_error(runs):
    other = fake_run(runs, "short", [0, 1, 2], np.eye(10)[[0, 1, 2]], limit=3)
    r = run_cli("ensemble", "mlp", other.name, "--logdir", str(runs))
    assert r.returncode == 1 and "different test sets" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    shutil.rmtree(other)


def test_predict_classifies_image_files_like_the_test_set(runs, tmp_path):
    from keraslab.core import load_dataset

    x = load_dataset("digits", limit=LIMIT).x_test
    z = _npz(runs / "cnn-1")
    paths = []
    for i in range(3):
        path = tmp_path / f"sample{i}.png"
        Image.fromarray(np.rint(x[i, ..., 0] * 255 / 16).astype(np.uint8)).save(path)
        paths.append(str(path))
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    r = run_cli("predict", "cnn", *paths, str(tmp_path / "broken.jpg"), "--logdir", str(runs))
    assert r.returncode == 1  # one image was bad; the others are still classified
    lines = r.stdout.strip().splitlines()
    assert len(lines) == 3
    for i, line in enumerate(lines):
        top = line.split(": ", 1)[1].split(", ")
        assert len(top) == 3 and top[0].split()[0] == str(int(z["y_pred"][i]))
    assert r.stderr.strip() == "keraslab: error: broken.jpg: not an image file Pillow can read (PNG, JPEG, ...)"
