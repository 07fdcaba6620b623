"""Lab recipes (`train --recipe`, RunConfig.with_recipe) and `keraslab labs` reproducing the MNIST lab's table."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from keraslab import core


def test_the_lab_recipes_are_the_labs_settings():
    cnn = core.RunConfig(model="cnn").with_recipe()
    assert (cnn.epochs, cnn.batch_size, cnn.optimizer, cnn.learning_rate, cnn.validation_split) == (
        20, 128, "adam", 1e-3, 0.1)  # 003: fit(batch_size=128, epochs=20, validation_split=0.1), adam
    assert cnn.model == "cnn" and cnn.extra == {"recipe": "cnn"} and cnn.name is None
    assert core.RunConfig(model="mnist99").with_recipe().batch_size == 500   # 001: batch_size=500
    assert core.RunConfig(model="cifar_dense").with_recipe().learning_rate == 0.005  # 004: Adam(0.005)


def test_a_recipe_with_augmentation_puts_its_layers_in_front_and_names_the_run():
    fancy = core.RunConfig(dataset="mnist", model="fancy").with_recipe().validate()
    stack = core.parse_stack(fancy.model)
    assert [s.type for s in stack[:2]] == ["random_rotation", "random_zoom"]
    assert core.format_stack(stack[2:]) == core.get_preset("fancy").notation
    assert fancy.name == "mnist-fancy-aug"
    assert core.RunConfig(model="fancy", name="mine").with_recipe().name == "mine"


def test_no_recipe_is_one_line():
    with pytest.raises(core.SpecError, match="no lab recipe; presets with one: linear, mlp, cnn, fancy"):
        core.RunConfig(model="avgpool").with_recipe()
    with pytest.raises(core.SpecError, match="unknown preset"):
        core.RunConfig(model="conv8k3-relu-flatten-out-softmax").with_recipe()


def test_lab_claims_build_valid_configs():
    configs = {c.key: core.lab_claim_config(c) for c in core.LAB_CLAIMS if not c.members}
    assert configs["cnn"].model == "cnn" and configs["cnn"].epochs == 20
    assert configs["cnn_dropout"].model.startswith("dropout0.2 | conv16k5")
    assert configs["fancy"].model == "fancy"
    assert configs["fancy_aug"].model.startswith("rotate0.028-zoom0.1 | conv16k3")
    preview = core.preview_stack(core.parse_stack(configs["fancy_aug"].model), (28, 28, 1), 10)
    assert preview.trainable_params == 72_890   # augmentation adds no weights: still the lab's count
    assert {c.key: c.lab_accuracy for c in core.LAB_CLAIMS} == {
        "cnn": 0.989, "cnn_dropout": 0.992, "fancy": 0.992, "fancy_aug": 0.995, "ensemble": 0.9968}


@pytest.mark.slow
def test_train_recipe_records_the_recipe_and_options_override_it(tmp_path):
    res = run_cli("train", "--dataset", "digits", "--model", "fancy", "--recipe", "--epochs", "1",
                  "--limit", "200", "--logdir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    run = tmp_path / "digits-fancy-aug-1"
    config = json.loads((run / "config.json").read_text())["run"]
    assert config["epochs"] == 1 and config["batch_size"] == 128      # --epochs wins over the recipe's 20
    assert config["extra"] == {"recipe": "fancy"} and config["model"].startswith("rotate0.028-zoom0.1 | ")


def test_train_recipe_errors_are_one_line(tmp_path):
    res = run_cli("train", "--dataset", "digits", "--model", "avgpool", "--recipe", "--logdir", str(tmp_path))
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "no lab recipe" in res.stderr
    res = run_cli("train", "--resume", "x", "--recipe", "--logdir", str(tmp_path))
    assert res.returncode == 2 and "drop --recipe" in res.stderr


def test_labs_recipes_lists_them():
    res = run_cli("labs", "--recipes")
    assert res.returncode == 0
    assert "fancy        adam lr 0.001 (constant), batch 128, 20 epochs, 10% validation, augmentation" in res.stdout


def test_labs_quick_runs_every_row_and_prints_the_lab_beside_keraslab(tmp_path):
    res = run_cli("labs", "--quick", "--logdir", str(tmp_path), "--json")
    assert res.returncode == 0, res.stderr
    rows = {r["row"]: r for r in json.loads(res.stdout)}
    assert list(rows) == ["cnn", "cnn_dropout", "fancy", "fancy_aug", "ensemble"]
    for key in ("cnn", "cnn_dropout", "fancy", "fancy_aug"):
        assert rows[key]["status"] == "completed" and 0 <= rows[key]["keraslab"] <= 1
        run = json.loads((tmp_path / f"lab-{key}-1" / "config.json").read_text())["run"]
        assert run["dataset"] == "digits" and run["epochs"] == 1
    # the ensemble: the fancy + augmentation run and three more seeds, their probabilities averaged
    members = rows["ensemble"]["runs"]
    assert rows["ensemble"]["status"] == "completed" and len(members) == 4
    assert members[0] == rows["fancy_aug"]["runs"][0]
    seeds = [json.loads((Path(m) / "config.json").read_text())["run"]["seed"] for m in members[1:]]
    assert seeds == [1, 2, 3]
    npz = [np.load(Path(m) / "test_predictions.npz") for m in members]
    averaged = np.mean([z["probs"] for z in npz], axis=0).argmax(axis=1)
    assert rows["ensemble"]["keraslab"] == pytest.approx(float(np.mean(averaged == npz[0]["y_true"])))
    assert "member 4/4" in res.stderr
    assert "[4/5] fancy + data augmentation: 1 epochs on digits" in res.stderr
    # a second table takes the rows already in the log directory; --fresh trains them again
    res = run_cli("labs", "--quick", "--only", "cnn", "--logdir", str(tmp_path))
    lines = res.stdout.splitlines()
    assert lines[1].split()[:2] == ["claim", "lab"] and "98.90%" in lines[3] and len(lines) == 4
    assert "reused" in lines[3] and "lab-cnn-1 is already in the log directory" in res.stderr
    assert f"{100 * rows['cnn']['keraslab']:.2f}%" in lines[3] and not (tmp_path / "lab-cnn-2").exists()
    res = run_cli("labs", "--quick", "--only", "ensemble", "--logdir", str(tmp_path))  # its four members are there
    row = res.stdout.splitlines()[-1]
    assert res.returncode == 0 and "reused" in row and f"{100 * rows['ensemble']['keraslab']:.2f}%" in row, res.stdout
    res = run_cli("labs", "--quick", "--only", "cnn", "--fresh", "--logdir", str(tmp_path))
    assert res.returncode == 0 and (tmp_path / "lab-cnn-2" / "results.json").is_file()


async def test_launch_screen_shows_the_recipe_and_r_applies_it(tmp_path):
    from keraslab.tui.app import KeraslabApp
    from keraslab.tui.screens.launch import LaunchScreen
    from keraslab.tui.widgets.settings_form import SettingsForm
    from textual.widgets import Checkbox

    app = KeraslabApp(logdir=tmp_path / "runs")
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LaunchScreen)
        screen.set_focus(None)
        screen.set_stack(core.get_preset("avgpool").stack)
        await pilot.pause()
        assert str(screen.query_one("#recipe-line").render()).strip() == ""
        await pilot.press("R")  # no recipe: a warning, nothing changes
        await pilot.pause()
        assert screen.stack == core.get_preset("avgpool").stack
        screen.set_stack(core.get_preset("fancy").stack)
        await pilot.pause()
        line = str(screen.query_one("#recipe-line").render())
        assert "fancy's lab recipe (R applies it): adam lr 0.001 (constant), batch 128, 20 epochs" in line
        await pilot.press("R")
        await pilot.pause()
        values, errors = screen.query_one(SettingsForm).raw_values()
        assert not errors and values["epochs"] == 20 and values["batch_size"] == 128
        assert core.format_stack(screen.stack).startswith("rotate0.028-zoom0.1 | conv16k3")
        assert screen.query_one("#augment", Checkbox).value
        assert "fancy's lab recipe" in str(screen.query_one("#recipe-line").render())
        config = screen.build_config()
        assert config is not None and config.epochs == 20


def _fake_run(path: Path, config: core.RunConfig, status: str, accuracy) -> None:
    path.mkdir()
    (path / "config.json").write_text(json.dumps({"run": config.to_dict()}))
    (path / "status.json").write_text(json.dumps({"status": status}))
    (path / "results.json").write_text(json.dumps({"test": {"accuracy": accuracy}}))


def test_labs_reuses_only_a_completed_run_with_the_same_settings(tmp_path):
    claim = next(c for c in core.LAB_CLAIMS if c.key == "ensemble")
    seed1 = core.lab_claim_config(claim, seed=1)
    assert core.find_lab_run(tmp_path, seed1) is None
    _fake_run(tmp_path / "lab-ensemble-s1-1", seed1, "failed", 0.99)
    _fake_run(tmp_path / "lab-ensemble-s1-2", core.lab_claim_config(claim, seed=2), "completed", 0.99)
    _fake_run(tmp_path / "lab-ensemble-s1-3", seed1, "completed", "0.99")  # a hostile accuracy
    (tmp_path / "lab-junk").mkdir()
    (tmp_path / "lab-junk" / "config.json").write_text('{"run": {"epochs": [1]}}')
    assert core.find_lab_run(tmp_path, seed1) is None
    # the augmentation row's run under another name is the ensemble's seed-0 member
    fancy_aug = core.lab_claim_config(next(c for c in core.LAB_CLAIMS if c.key == "fancy_aug"))
    _fake_run(tmp_path / "lab-fancy_aug-1", fancy_aug, "completed", 0.9931)
    assert core.find_lab_run(tmp_path, core.lab_claim_config(claim, seed=0)) == (tmp_path / "lab-fancy_aug-1", 0.9931)
