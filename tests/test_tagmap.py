"""Every framework's tags: PyTorch, Lightning, train/loss and TensorFlow 1 runs written by
tensorboardX fill the runs table's columns through the metric map, which --metric-map and
the metric-map file extend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from keraslab.core import discover_runs, filter_runs, load_curves, parse_filter
from keraslab.core.browse import tagmap
from keraslab.core.errors import ConfigError
from tensorboardX import SummaryWriter

T0 = 1.7e9


@pytest.fixture(autouse=True)
def fresh_map(tmp_path, monkeypatch):
    """No user rules, and a metric-map file of this test's own (none unless written)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(tagmap, "_file_rules", None)
    tagmap.set_metric_map()
    yield
    monkeypatch.setattr(tagmap, "_file_rules", None)
    tagmap._user_rules = ()


def tagged_run(path: Path, series: dict[str, list[float]]) -> Path:
    """A run logging each tag's values at steps 0, 1, ... (one point per epoch)."""
    w = SummaryWriter(str(path))
    for tag, values in series.items():
        for step, value in enumerate(values):
            w.add_scalar(tag, value, step, walltime=T0 + step)
    w.close()
    return path


def pytorch_run(path: Path, epochs: int = 4) -> Path:
    """The PyTorch tutorial's naming: Loss/train, Accuracy/val, a point per epoch."""
    return tagged_run(path, {
        "Loss/train": [1.0 / (e + 1) for e in range(epochs)], "Loss/val": [1.2 / (e + 1) for e in range(epochs)],
        "Accuracy/train": [0.5 + e / 10 for e in range(epochs)], "Accuracy/val": [0.4 + e / 10 for e in range(epochs)],
    })  # fmt: skip


def lightning_run(path: Path, epochs: int = 3, steps_per_epoch: int = 5) -> Path:
    """Lightning's naming: train_loss and epoch every step, val_loss/val_acc at each epoch's end."""
    w = SummaryWriter(str(path))
    step = 0
    for e in range(epochs):
        for _ in range(steps_per_epoch):
            w.add_scalar("train_loss", 1.0 / (step + 1), step, walltime=T0 + step)
            w.add_scalar("epoch", float(e), step, walltime=T0 + step)
            step += 1
        w.add_scalar("val_loss", 0.9 - e / 10, step - 1, walltime=T0 + step)
        w.add_scalar("val_acc", 0.7 + e / 10, step - 1, walltime=T0 + step)
        w.add_scalar("epoch", float(e), step - 1, walltime=T0 + step)
    w.close()
    return path


def slash_run(path: Path) -> Path:
    return tagged_run(path, {"train/loss": [1.0, 0.9, 0.8], "val/loss": [1.1, 1.0, 0.9], "val/acc": [0.6, 0.7, 0.8],
                             "test/accuracy": [0.75] * 3})  # fmt: skip


def tf1_run(path: Path) -> Path:
    return tagged_run(path, {"loss_1": [1.0, 0.9, 0.8], "val_acc_1": [0.5, 0.6, 0.7]})


def by_name(logdir: Path):
    return {r.name: r for r in discover_runs(logdir)}


def test_pytorch_runs_fill_the_table_and_keep_their_tags(tmp_path):
    run = by_name(pytorch_run(tmp_path / "logs" / "torch").parent)["torch"]
    assert set(run.metrics) == {"loss", "val_loss", "accuracy", "val_accuracy"}
    assert run.best_val_accuracy == pytest.approx(0.7)
    assert run.metric_tags == {"loss": "Loss/train", "val_loss": "Loss/val",
                               "accuracy": "Accuracy/train", "val_accuracy": "Accuracy/val"}  # fmt: skip
    curves = load_curves(run.path).curves
    assert set(curves) == set(run.metrics) and curves["val_accuracy"].tag == "Accuracy/val"
    # the filter language finds a metric by its Keras name, its short name and its tag
    for expr in ("val_accuracy > 0.65", "val_acc > 0.65", "Accuracy/val > 0.65", "val_acc.last > 0.69"):
        assert filter_runs([run], parse_filter(expr)) == [run], expr
    assert filter_runs([run], parse_filter("val_acc > 0.75")) == []


def test_lightning_runs_count_epochs_from_the_epoch_metric(tmp_path):
    run = by_name(lightning_run(tmp_path / "logs" / "lit").parent)["lit"]
    assert run.epochs == 3
    assert run.best_val_accuracy == pytest.approx(0.9)
    assert {"loss", "val_loss", "val_accuracy", "epoch"} <= set(run.metrics)
    assert run.metric_tags["loss"] == "train_loss" and run.metric_tags["val_accuracy"] == "val_acc"
    curves = load_curves(run.path).curves
    val = curves["val_accuracy"]
    assert val.per_epoch and val.xs("epoch") == [1.0, 2.0, 3.0]  # (step 4, 9, 14 -> epochs 1, 2, 3)
    assert curves["loss"].xs("epoch")[:6] == [1.0] * 5 + [2.0]


def test_train_slash_and_tensorflow1_names(tmp_path):
    logdir = tmp_path / "logs"
    slash_run(logdir / "slash")
    tf1_run(logdir / "tf1")
    runs = by_name(logdir)
    slash, tf1 = runs["slash"], runs["tf1"]
    assert set(slash.metrics) == {"loss", "val_loss", "val_accuracy", "test_accuracy"}
    assert slash.best_val_accuracy == pytest.approx(0.8) and slash.test_accuracy == pytest.approx(0.75)
    assert set(tf1.metrics) == {"loss", "val_accuracy"} and tf1.best_val_accuracy == pytest.approx(0.7)
    assert tf1.metric_tags == {"loss": "loss_1", "val_accuracy": "val_acc_1"}


def test_two_tags_of_one_name_keep_apart(tmp_path):
    """val_acc and Accuracy/val both mean val_accuracy: the second keeps its own tag as its name."""
    w = SummaryWriter(str(tmp_path / "logs" / "both"))
    for e in range(3):
        w.add_scalar("val_acc", 0.5, e, walltime=T0 + e)
        w.add_scalar("Accuracy/val", 0.75, e, walltime=T0 + e)
    w.close()
    run = by_name(tmp_path / "logs")["both"]
    assert run.metrics["val_accuracy"].last == 0.5 and run.metrics["Accuracy/val"].last == 0.75
    assert set(load_curves(run.path).curves) == set(run.metrics)


def test_user_rules_come_first_and_bad_ones_say_so():
    tagmap.set_metric_map(["my/acc=val_accuracy", "{m}/training={m}"])
    assert tagmap.mapped_name("my/acc") == "val_accuracy"
    assert tagmap.mapped_name("Loss/training") == "loss"
    assert tagmap.mapped_name("a/b/c") == "a/b/c"  # no rule: the tag itself
    assert tagmap.mapped_name("loss/train/loss") == "loss" and tagmap.mapped_name("logs/train/epoch_loss") == "logs/train/epoch_loss"
    tagmap.set_metric_map(["{m}/{m}=twice_{m}"])
    assert tagmap.mapped_name("acc/acc") == "twice_accuracy" and tagmap.mapped_name("acc/loss") == "acc/loss"
    for bad in ("noequals", "=x", "x=", "a=b{m}", "a{x}=b"):
        with pytest.raises(ConfigError):
            tagmap.set_metric_map([bad])


def test_the_metric_map_file_is_read_and_a_bad_line_is_named(tmp_path):
    path = tagmap.map_file()
    path.parent.mkdir(parents=True)
    path.write_text("# my lab's names\nmetrics/top1 = val_accuracy  # the held-out top-1\n")
    tagmap._file_rules = None
    assert tagmap.mapped_name("metrics/top1") == "val_accuracy"
    path.write_text("ok=fine\nbroken line\n")
    tagmap._file_rules = None
    with pytest.raises(ConfigError, match=r"metric-map.txt:2: .*broken line"):
        tagmap.set_metric_map()


def test_cli_metric_map_option_file_and_cache(tmp_path):
    logdir = tmp_path / "logs"
    w = SummaryWriter(str(logdir / "custom"))
    for e in range(3):
        w.add_scalar("metrics/heldout_top1", 0.6 + e / 10, e, walltime=T0 + e)
    w.close()
    pytorch_run(logdir / "torch")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_CACHE_HOME": str(tmp_path / "cache")}

    def runs(*extra):
        out = run_cli("runs", "--logdir", str(logdir), "--json", *extra, env=env)
        assert out.returncode == 0, out.stderr
        return {r["name"]: r for r in json.loads(out.stdout)}

    plain = runs()
    assert plain["custom"]["best_val_accuracy"] is None
    assert plain["torch"]["best_val_accuracy"] == pytest.approx(0.7)
    mapped = runs("--metric-map", "metrics/heldout_top1=val_accuracy")  # (the cache of `plain` is stale)
    assert mapped["custom"]["best_val_accuracy"] == pytest.approx(0.8)
    assert mapped["custom"]["metric_tags"] == {"val_accuracy": "metrics/heldout_top1"}
    assert runs()["custom"]["best_val_accuracy"] is None

    (tmp_path / "config" / "keraslab").mkdir(parents=True)
    (tmp_path / "config" / "keraslab" / "metric-map.txt").write_text("metrics/heldout_{m}=val_{m}\n")
    assert "val_top1" in runs()["custom"]["metrics"]

    show = run_cli("show", "torch", "--logdir", str(logdir), "--no-plot", env=env)
    assert show.returncode == 0, show.stderr
    row = next(line.split() for line in show.stdout.splitlines() if line.startswith("val_accuracy"))
    assert row[-1] == "Accuracy/val"

    listing = run_cli("metric-map", "Loss/train", "val_acc", "metrics/heldout_x", env=env)
    assert listing.returncode == 0, listing.stderr
    named = dict(line.split() for line in listing.stdout.splitlines()[2:])
    assert named == {"Loss/train": "loss", "val_acc": "val_accuracy", "metrics/heldout_x": "val_x"}

    bad = run_cli("runs", "--logdir", str(logdir), "--metric-map", "nonsense", env=env)
    assert bad.returncode == 2 and "PATTERN=NAME" in bad.stderr and "Traceback" not in bad.stderr


async def test_run_detail_shows_each_metric_beside_its_original_tag(tmp_path):
    from keraslab.tui.browse_app import BrowseApp
    from keraslab.tui.screens.run_detail import RunDetailScreen

    logdir = pytorch_run(tmp_path / "logs" / "torch").parent
    app = BrowseApp([logdir], interval=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(RunDetailScreen(logdir / "torch", follow=False))
        for _ in range(200):
            if isinstance(app.screen, RunDetailScreen) and app.screen._plots:
                break
            await pilot.pause(0.05)
        detail = app.screen
        assert set(detail._plots) == {"loss", "accuracy"}  # (loss with val_loss: PyTorch's tags charted as Keras')
        text = str(detail.query_one("#config-text").render())
        line = next(x for x in text.splitlines() if x.strip().startswith("val_accuracy"))
        assert line.rstrip().endswith("tag Accuracy/val")
