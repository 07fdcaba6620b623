"""The evaluation core on synthetic predictions with known answers: per-class scores, the
confusion matrix, confused pairs, mistakes worst first, ensembles, image files, and
predictions files that lie."""

from __future__ import annotations

import os

import numpy as np
import pytest
from insight_helpers import digits_labels, fake_run
from keraslab import core
from keraslab.core import ConfigError, DatasetError, KeraslabError, RunStoreError
from PIL import Image


def test_per_class_scores_confusion_and_pairs_match_a_hand_count(logdir):
    # class 0: 2 samples, one taken for 1; class 1: both right; class 2: one taken for 0
    run = fake_run(logdir, "r", [0, 0, 1, 1, 2, 2], y_pred=[0, 1, 1, 1, 2, 0],
                   dataset="x.npz", class_names=["cat", "dog", "eel"])
    ev = core.evaluate(core.load_predictions(run))
    assert ev.confusion.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert ev.accuracy == pytest.approx(4 / 6) and ev.errors == 2 and ev.samples == 6
    by = {s.name: s for s in ev.classes}
    assert (by["cat"].precision, by["cat"].recall) == (pytest.approx(0.5), pytest.approx(0.5))
    assert (by["dog"].precision, by["dog"].recall) == (pytest.approx(2 / 3), pytest.approx(1.0))
    assert by["dog"].f1 == pytest.approx(0.8)
    assert (by["eel"].precision, by["eel"].recall, by["eel"].support) == (pytest.approx(1.0), pytest.approx(0.5), 2)
    assert [(p.a, p.b, p.a_as_b, p.b_as_a) for p in ev.pairs] == [(0, 1, 1, 0), (2, 0, 1, 0)]
    assert ev.macro_f1 == pytest.approx(np.mean([0.5, 0.8, 2 / 3]))


def test_a_class_never_predicted_has_no_precision_rather_than_zero(logdir):
    run = fake_run(logdir, "r", [0, 1, 2], y_pred=[0, 0, 0], dataset="x.npz", class_names=["a", "b", "c"])
    ev = core.evaluate(core.load_predictions(run))
    assert ev.classes[1].precision is None and ev.classes[1].recall == 0.0
    assert [(p.a, p.b) for p in ev.pairs] == [(1, 0), (2, 0)]


def test_mistakes_come_worst_first_and_a_cell_lists_its_samples(logdir):
    probs = [[0.9, 0.1], [0.3, 0.7], [0.05, 0.95], [0.6, 0.4], [0.2, 0.8]]
    run = fake_run(logdir, "r", [0, 0, 0, 1, 1], probs, dataset="x.npz", class_names=["a", "b"])
    preds = core.load_predictions(run)
    assert core.mistakes(preds).tolist() == [2, 1, 3]  # 0.95, 0.7, 0.6 confident wrong answers
    assert core.mistakes(preds, true=1, pred=1).tolist() == [4]
    assert core.mistakes(preds, true=0, pred=0).tolist() == [0]


def test_builtin_datasets_name_their_classes(logdir):
    y = digits_labels(limit=20)
    run = fake_run(logdir, "d", y, y_pred=y, limit=20)
    assert core.load_predictions(run).class_names == tuple(str(i) for i in range(10))
    names = core.get_dataset_info("cifar100").class_names
    assert len(set(names)) == 100 and names[0] == "apple" and names[-1] == "worm"
    assert core.get_dataset_info("fashion_mnist").class_names[9] == "Ankle boot"


def test_samples_come_from_the_reproduced_test_set_and_a_changed_one_is_refused(logdir):
    y = digits_labels(limit=30)
    run = fake_run(logdir, "d", y, y_pred=(y + 1) % 10, limit=30)
    preds = core.load_predictions(run)
    images = core.sample_images(preds, [0, 5])
    x = core.load_dataset("digits", limit=30).x_test
    assert images[0].shape == (8, 8, 1) and images[0].dtype == np.uint8
    assert images[1][..., 0].tolist() == np.clip(np.rint(x[5, ..., 0].astype(float) * 255 / 16), 0, 255).astype(int).tolist()
    other = fake_run(logdir, "o", (y + 3) % 10, y_pred=y, limit=30)
    with pytest.raises(RunStoreError, match="differs"):
        core.sample_images(core.load_predictions(other), [0])


def test_an_ensemble_averages_probabilities(logdir):
    y = [0, 1, 1, 0]
    a = fake_run(logdir, "a", y, [[0.6, 0.4], [0.6, 0.4], [0.1, 0.9], [0.9, 0.1]], dataset="x.npz", class_names=["n", "p"])
    b = fake_run(logdir, "b", y, [[0.3, 0.7], [0.1, 0.9], [0.45, 0.55], [0.45, 0.55]], dataset="x.npz", class_names=["n", "p"])
    result = core.ensemble_runs([a, b])
    assert [m.accuracy for m in result.members] == [0.75, 0.5]
    assert result.predictions.y_pred.tolist() == [1, 1, 1, 0]  # means .45/.55, .35/.65, .275/.725, .675/.325
    assert result.evaluation.accuracy == 0.75
    assert result.predictions.probs[0].tolist() == pytest.approx([0.45, 0.55])
    assert result.evaluation.confusion.tolist() == [[1, 1], [0, 2]]


def test_an_ensemble_of_different_test_sets_or_datasets_is_one_line_error(logdir):
    y = digits_labels(limit=20)
    p = np.eye(10, dtype=np.float32)[y]
    a = fake_run(logdir, "a", y, p, limit=20)
    b = fake_run(logdir, "b", y[:10], p[:10], limit=10)
    with pytest.raises(ConfigError, match="different test sets"):
        core.ensemble_runs([a, b])
    c = fake_run(logdir, "c", y, p, dataset="other.npz", class_names=[str(i) for i in range(10)])
    with pytest.raises(ConfigError, match="one dataset"):
        core.ensemble_runs([a, c])
    with pytest.raises(ConfigError, match="twice"):
        core.ensemble_runs([a, a])


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 1])}, "missing confidence"),
        ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 12]), "confidence": np.ones(2)}, "not a class number"),
        ({"y_true": np.array([0, 1]), "y_pred": np.array([0]), "confidence": np.ones(2)}, "holds 1 samples"),
        ({"y_true": np.array([[0, 1]]), "y_pred": np.array([0]), "confidence": np.ones(1)}, "dimension"),
        ({"y_true": np.array([0.5, 1]), "y_pred": np.array([0, 1]), "confidence": np.ones(2)}, "integers"),
        ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 1]), "confidence": np.array([np.nan, 1])}, "outside 0..1"),
        ({"y_true": np.array([0, 1]), "y_pred": np.array([0, 1]), "confidence": np.array(["a", "b"])}, "floats"),
        ({"y_true": np.array([0, 1], dtype=object), "y_pred": np.array([0, 1]), "confidence": np.ones(2)}, "Python objects"),
    ],
)
def test_a_predictions_file_that_lies_is_a_one_line_error(logdir, arrays, message):
    run = fake_run(logdir, "r", [0, 1], y_pred=[0, 1])
    np.savez(run / "test_predictions.npz", allow_pickle=True, **arrays)
    with pytest.raises(RunStoreError, match=message) as info:
        core.load_predictions(run)
    assert "\n" not in str(info.value)


def test_a_predictions_file_declaring_a_huge_array_is_refused_before_reading(logdir):
    run = fake_run(logdir, "r", [0, 1], y_pred=[0, 1])
    import io
    import zipfile

    with zipfile.ZipFile(run / "test_predictions.npz", "w") as z:
        for key, descr in (("y_true", "<i8"), ("y_pred", "<i8"), ("confidence", "<f4")):
            header = io.BytesIO()  # a header only: the data it announces (8 GB) is not there
            np.lib.format.write_array_header_1_0(header, {"descr": descr, "fortran_order": False, "shape": (10**9,)})
            z.writestr(f"{key}.npy", header.getvalue())
    with pytest.raises(RunStoreError, match="at most"):
        core.load_predictions(run)


def test_garbage_or_a_fifo_as_predictions_file_is_a_one_line_error(logdir):
    run = fake_run(logdir, "r", [0, 1], y_pred=[0, 1])
    (run / "test_predictions.npz").write_bytes(b"not a zip at all")
    with pytest.raises(RunStoreError, match="not a readable predictions file"):
        core.load_predictions(run)
    (run / "test_predictions.npz").unlink()
    os.mkfifo(run / "test_predictions.npz")
    with pytest.raises(KeraslabError, match="no test predictions and no best_model.keras"):
        core.load_predictions(run)


def test_image_files_become_raw_inputs_of_the_dataset(tmp_path):
    from keraslab.core.insight.imagefile import read_image

    img = np.full((40, 40), 255, np.uint8)
    img[10:30, 15:25] = 0  # a dark stroke on white paper
    Image.fromarray(img).save(tmp_path / "one.png")
    x, inverted = read_image(tmp_path / "one.png", (8, 8, 1), 16.0)
    assert inverted and x.shape == (8, 8, 1) and x.max() <= 16.0
    assert x[4, 4, 0] > 8 and x[0, 0, 0] < 1  # the stroke is bright now, the paper dark
    Image.fromarray(np.zeros((5, 5, 3), np.uint8)).convert("RGB").save(tmp_path / "c.jpg")
    x, inverted = read_image(tmp_path / "c.jpg", (32, 32, 3), 255.0)
    assert x.shape == (32, 32, 3) and not inverted
    (tmp_path / "bad.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(DatasetError, match="not an image file"):
        read_image(tmp_path / "bad.png", (8, 8, 1), 16.0)
    with pytest.raises(DatasetError, match="no such file"):
        read_image(tmp_path / "missing.png", (8, 8, 1), 16.0)


def test_logits_become_probabilities_and_probabilities_stay():
    from keraslab.core.train.predict import as_probabilities

    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 3.0]])
    p = as_probabilities(logits, from_logits=True)
    assert p.sum(axis=1) == pytest.approx([1.0, 1.0]) and p.argmax(1).tolist() == [0, 2]
    assert p[0, 0] == pytest.approx(np.exp(2) / (np.exp(2) + 1 + np.exp(-1)), rel=1e-6)
    probs = np.array([[0.2, 0.8]])
    assert as_probabilities(probs, from_logits=False)[0].tolist() == pytest.approx([0.2, 0.8])
