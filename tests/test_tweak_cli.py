"""The tweak loop from the command line: train --from, runs --tree, import of Keras-saved models; and its engine."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from browse_helpers import keraslab_run
from conftest import run_cli
from keraslab import core
from keraslab.core.rundir.writer import RunWriter, create_run_dir


def lineage_run(logdir: Path, name: str, *, lr: float = 1e-3, model: str = "linear",
                parent: str | None = None, diff: dict | None = None, peak: float = 0.9) -> Path:
    """A completed keraslab run written by the real writer, with its lineage in config.json."""
    run = create_run_dir(logdir, name)
    config = core.RunConfig(model=model, learning_rate=lr, epochs=2, parent=parent, diff=diff)
    w = RunWriter(run)
    w.write_config({"run": config.to_dict(), "model_label": config.model_label})
    w.start(epochs=2)
    for e in (1, 2):
        w.log_epoch(e, {"loss": 1 / e, "accuracy": peak * e / 2, "val_loss": 1.1 / e, "val_accuracy": peak * e / 2})
    w.finish("completed")
    w.close()
    return run


# --- engine ---------------------------------------------------------------------------------


def test_a_config_diff_names_each_setting_and_each_layer_with_the_parameter_change():
    a = core.RunConfig(model="cnn")
    b = core.RunConfig(model="conv16k5-relu-maxpool2 | conv64k5-relu-maxpool2 | conv64k5-relu-maxpool2 | "
                       "flatten-dense128-relu-dropout0.5-dense64-relu-out-softmax", learning_rate=3e-4)
    diff = core.config_diff(a, b)
    assert diff.summary() == "lr 1e-3 -> 3e-4; block 2: conv32k5 -> conv64k5; block 4: + dropout0.5"
    info = core.get_dataset_info("digits")
    counts = [core.preview_stack(c.stack(), info.input_shape, info.num_classes).total_params for c in (a, b)]
    assert diff.stack.param_change == counts[1] - counts[0] > 0
    assert [c.kind for c in diff.stack.changes] == ["changed", "added"]
    assert diff.to_dict()["settings"] == {"learning_rate": [1e-3, 3e-4]}
    assert core.config_diff(a, core.RunConfig(model=core.format_stack(a.stack()))).empty  # same layers


@pytest.mark.parametrize("field, value", [("parent", 3), ("parent", ""), ("parent", "a\nb"), ("diff", []),
                                          ("diff", {"summary": 1})])
def test_bad_lineage_fields_are_one_line_config_errors(field, value):
    with pytest.raises(core.ConfigError, match=field):
        core.RunConfig(**{field: value}).validate()


def test_lineage_survives_a_loop_of_parents_and_a_missing_parent(tmp_path):
    lineage_run(tmp_path, "a", parent="b-1")
    lineage_run(tmp_path, "b", parent="a-1")
    lineage_run(tmp_path, "c", parent="gone-1")
    rows = core.lineage_tree(core.discover_runs([tmp_path]))
    assert sorted(r.run.name for r in rows) == ["a-1", "b-1", "c-1"]  # each once, nothing lost


def test_tree_guides_show_siblings_and_where_a_branch_goes_on(tmp_path):
    from keraslab.tui.lineage_text import tree_prefix

    lineage_run(tmp_path, "root")
    lineage_run(tmp_path, "a", parent="root-1")
    lineage_run(tmp_path, "a-child", parent="a-1")
    lineage_run(tmp_path, "b", parent="root-1")
    rows = core.lineage_tree(core.oldest_first(core.discover_runs([tmp_path])))
    drawn = [tree_prefix(r) + r.run.name for r in rows]
    assert drawn == ["root-1", "├─ a-1", "│  └─ a-child-1", "└─ b-1"], drawn


# --- runs --tree ----------------------------------------------------------------------------


def test_runs_tree_shows_children_under_parents_with_change_and_metric(tmp_path):
    lineage_run(tmp_path, "base", peak=0.90)
    lineage_run(tmp_path, "other", peak=0.5)
    lineage_run(tmp_path, "lower-lr", lr=3e-4, parent="base-1", peak=0.908,
                diff={"summary": "lr 1e-3 -> 3e-4"})
    lineage_run(tmp_path, "wider", lr=3e-4, parent="lower-lr-1", peak=0.85,
                diff={"summary": "block 1: + dense64-relu"})
    out = run_cli("runs", "--tree", "--logdir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    names = [line.split()[0 if not line.startswith(("└", " ")) else -1] for line in lines[2:]]
    at = {n: i for i, line in enumerate(lines) for n in ["base-1", "other-1", "lower-lr-1", "wider-1"] if n in line}
    assert at["base-1"] < at["lower-lr-1"] < at["wider-1"], out.stdout
    assert "└─ lower-lr-1" in lines[at["lower-lr-1"]] and "   └─ wider-1" in lines[at["wider-1"]]
    assert "lr 1e-3 -> 3e-4" in lines[at["lower-lr-1"]] and "val_acc +0.8 pt" in lines[at["lower-lr-1"]]
    assert "val_acc -5.8 pt" in lines[at["wider-1"]]
    assert names and "pt" not in lines[at["other-1"]]
    data = json.loads(run_cli("runs", "--tree", "--json", "--logdir", str(tmp_path)).stdout)
    assert {d["name"]: d["parent"] for d in data}["wider-1"] == "lower-lr-1"
    listed = json.loads(run_cli("runs", "--json", "--logdir", str(tmp_path)).stdout)
    assert {d["name"]: d["change"] for d in listed}["lower-lr-1"] == "lr 1e-3 -> 3e-4"
    missing = run_cli("runs", "--tree", "--logdir", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "no such directory" in missing.stderr and "Traceback" not in missing.stderr


# --- train --from ---------------------------------------------------------------------------


def test_train_from_a_run_that_is_not_there_is_one_line(tmp_path):
    out = run_cli("train", "--from", "nope", "--logdir", str(tmp_path))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "no run 'nope'" in out.stderr
    lineage_run(tmp_path, "base")
    out = run_cli("train", "--from", "base", "--config", "x.json", "--logdir", str(tmp_path))
    assert out.returncode == 1 and "--from and --config" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.slow
def test_train_from_changes_only_what_is_given_and_records_parent_and_diff(tmp_path):
    logdir = str(tmp_path)
    first = run_cli("train", "--dataset", "digits", "--model", "linear", "--epochs", "1", "--limit", "200",
                    "--batch-size", "32", "--seed", "7", "--logdir", logdir)
    assert first.returncode == 0, first.stderr
    out = run_cli("train", "--from", "digits-linear", "--lr", "3e-4", "--model", "flatten-dense16-relu-out-softmax",
                  "--logdir", logdir)
    assert out.returncode == 0, out.stderr
    (child,) = [p for p in tmp_path.iterdir() if p.name != "digits-linear-1" and p.is_dir() and (p / "config.json").exists()]
    run = json.loads((child / "config.json").read_text())["run"]
    assert run["parent"] == "digits-linear-1"
    assert (run["learning_rate"], run["batch_size"], run["seed"], run["limit"], run["epochs"]) == (3e-4, 32, 7, 200, 1)
    assert run["diff"]["summary"] == "lr 1e-3 -> 3e-4; block 1: + dense16-relu"
    assert run["diff"]["stack"]["params"][1] > run["diff"]["stack"]["params"][0]
    tree = run_cli("runs", "--tree", "--logdir", logdir).stdout
    assert f"└─ {child.name}" in tree and "lr 1e-3 -> 3e-4" in tree
    show = run_cli("show", child.name, "--no-plot", "--logdir", logdir).stdout
    assert "digits-linear-1" in show and "block 1: + dense16-relu" in show


# --- import ---------------------------------------------------------------------------------

SAVE_MODELS = textwrap.dedent("""
    import os, sys
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import keras
    out = sys.argv[1]
    L = keras.layers
    seq = keras.Sequential([keras.Input((8, 8, 1)), L.Conv2D(16, 3, padding="same", activation="relu"),
                            L.BatchNormalization(), L.MaxPooling2D(2), L.Dropout(0.25), L.Flatten(),
                            L.Dense(32, kernel_regularizer=keras.regularizers.L2(1e-4)), L.ReLU(),
                            L.Dense(10, activation="softmax")])
    seq.save(os.path.join(out, "seq.keras"))
    open(os.path.join(out, "seq.json"), "w").write(seq.to_json())
    lam = keras.Sequential([keras.Input((8, 8, 1)), L.Lambda(lambda x: x * 2), L.Flatten(), L.Dense(10)])
    lam.save(os.path.join(out, "lambda.keras"))
    i = keras.Input((8, 8, 1))
    x = L.Conv2D(8, 3)(i)
    o = L.Dense(10, activation="softmax")(L.GlobalAveragePooling2D()(x))
    keras.Model(i, o).save(os.path.join(out, "functional.keras"))
    try:
        import h5py  # noqa: F401
        seq.save(os.path.join(out, "seq.h5"))
    except ImportError:
        pass
""")


@pytest.fixture(scope="module")
def keras_models(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("keras-models")
    done = subprocess.run([sys.executable, "-c", SAVE_MODELS, str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


SEQ = "conv16k3:relu-bn-maxpool2 | dropout0.25-flatten-dense32:l2=0.0001-relu-dense10:softmax"


@pytest.mark.parametrize("name", ["seq.keras", "seq.json", "seq.h5"])
def test_import_prints_the_notation_of_a_model_keras_saved(keras_models, name, tmp_path):
    if not (keras_models / name).exists():
        pytest.skip("h5py is not installed: Keras cannot save .h5 here")
    out = run_cli("import", str(keras_models / name))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == SEQ
    assert "input 8x8x1" in out.stderr and "keraslab train --model" in out.stderr
    lint = run_cli("lint", out.stdout.strip(), "--dataset", "digits")  # ready for train --model
    assert "total 6," in lint.stdout or "parameters" in lint.stdout, lint.stdout


def test_import_of_a_functional_chain(keras_models):
    out = run_cli("import", str(keras_models / "functional.keras"))
    assert out.returncode == 0 and out.stdout.strip() == "conv8k3:valid | gap-dense10:softmax"


def test_import_names_an_unsupported_layer_instead_of_dropping_it(keras_models):
    out = run_cli("import", str(keras_models / "lambda.keras"))
    assert out.returncode == 1
    assert "layer 1 lambda (Lambda)" in out.stderr and "never runs" in out.stderr
    assert out.stdout.strip() == "flatten-dense10"
    data = json.loads(run_cli("import", "--json", str(keras_models / "lambda.keras")).stdout)
    assert data["unsupported"][0]["class"] == "Lambda"


@pytest.mark.parametrize("content, suffix, message", [
    (b"not a zip", ".keras", "not a zip archive"),
    (b"[1, 2]", ".json", "no Keras model config"),
    (b"{", ".json", "not JSON"),
    (b"x", ".txt", "not a Keras model file"),
])
def test_import_of_a_bad_file_is_one_line(tmp_path, content, suffix, message):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(content)
    out = run_cli("import", str(path))
    assert out.returncode == 1 and message in out.stderr and out.stderr.count("\n") == 1, out.stderr


def test_a_run_edited_as_a_new_one_leaves_its_parents_sweep_and_lineage_behind(tmp_path):
    run = keraslab_run(tmp_path, "digits-cnn", dataset="digits")
    path = run / "config.json"
    data = json.loads(path.read_text())
    data["run"].update(parent="digits-cnn-0", diff={"summary": "lr 1e-2 -> 1e-3"},
                       sweep={"id": "sw-261207-010101", "point": 2, "values": {"learning_rate": 1e-3}})
    path.write_text(json.dumps(data))
    config = core.config_of(core.load_summary(run))
    assert (config.parent, config.diff, config.sweep) == (None, None, None)
    assert (config.dataset, config.learning_rate) == ("digits", 1e-3)


def test_lineage_tree_finds_the_parents_find_parent_finds():
    import random
    from pathlib import Path

    rng = random.Random(0)
    logdir = Path("/logs")
    runs = [core.RunSummary(f"r{i % 40}", logdir / f"d{i}" / f"r{i % 40}", "keraslab", "completed", logdir=logdir)
            for i in range(120)]  # (names repeat: the first match in order wins)
    for r in runs:
        other = rng.choice(runs)
        r.parent = rng.choice([None, other.name, str(other.path), other.path.relative_to(logdir).as_posix(), "gone"])
    rows = core.lineage_tree(runs)
    expected = {id(r): core.find_parent(r, runs) for r in runs}
    assert sorted(id(t.run) for t in rows) == sorted(expected)  # every run once
    for t in rows:  # a child sits under the run find_parent names (a loop's first run is a root)
        assert t.parent is None or t.parent is expected[id(t.run)]
    assert sum(t.parent is not None for t in rows) >= 60
