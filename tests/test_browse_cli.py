"""CLI of the runs browser: runs --sort/--filter/--hparams, compare, export (through keraslab.tui.cli_runs)."""

from __future__ import annotations

import argparse
import csv
import io
import json

import pytest
from browse_helpers import sample_logdir
from keraslab.core import KeraslabError
from keraslab.tui import cli_runs


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="keraslab")
    sub = parser.add_subparsers(dest="command")
    runs = sub.add_parser("runs")
    runs.add_argument("--logdir")
    runs.add_argument("--json", action="store_true")
    cli_runs.extend_runs_parser(runs)
    cli_runs.add_browse_commands(sub)
    return parser.parse_args(argv)


def run(*argv: str) -> int:
    args = parse(*argv)
    return cli_runs.BROWSE_COMMANDS[args.command](args)


@pytest.fixture
def logdir(tmp_path):
    return sample_logdir(tmp_path / "runs")


def _names(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[2:] if line.strip()]


def test_runs_sort_filter_and_hparams(logdir, capsys):
    assert run("runs", "--logdir", str(logdir), "--sort", "test_acc", "--reverse") == 0
    out = capsys.readouterr().out
    assert _names(out) == ["mnist-cnn-1", "mnist-cnn-2", "fashion-cnn-1", "plain-keras"]
    assert "completed" in out and "5/5" in out and "0.9900" in out

    run("runs", "--logdir", str(logdir), "--filter", "val_accuracy > 0.95 and dataset == mnist")
    assert _names(capsys.readouterr().out) == ["mnist-cnn-1"]

    run("runs", "--logdir", str(logdir), "--filter", "kind == tensorboard", "--json")
    (item,) = json.loads(capsys.readouterr().out)
    assert item["name"] == "plain-keras" and item["epochs_done"] == 6 and item["metrics"]["val_accuracy"]["count"] == 6

    run("runs", "--logdir", str(logdir), "--filter", "dataset == mnist", "--hparams")
    header = capsys.readouterr().out.splitlines()[0]
    assert "learning_rate" in header and "batch_size" not in header  # only what differs

    with pytest.raises(KeraslabError, match="expected a value"):
        run("runs", "--logdir", str(logdir), "--filter", "val_accuracy >")
    with pytest.raises(KeraslabError, match="unknown sort column"):
        run("runs", "--logdir", str(logdir), "--sort", "nope")
    with pytest.raises(KeraslabError, match="no such directory"):  # a typo, not "no runs"
        run("runs", "--logdir", str(logdir / "nope"))
    with pytest.raises(KeraslabError, match="config.json: not a directory"):
        run("runs", "--logdir", str(logdir / "mnist-cnn-1" / "config.json"))


def test_runs_in_a_default_logdir_not_made_yet(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KERASLAB_LOGDIR", str(tmp_path / "runs"))
    assert run("runs") == 0
    assert "no runs in" in capsys.readouterr().out


def test_compare_prints_curves_and_the_hparam_diff(logdir, capsys):
    assert run("compare", "mnist-cnn-1", "mnist-cnn-2", str(logdir / "plain-keras"),
               "--logdir", str(logdir), "--metric", "val_accuracy", "--smoothing", "0.6", "--logy") == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "val_accuracy (smoothing 0.6)" in out
    # not a terminal: no escape codes, and each run its own marker in the legend
    assert "\x1b[" not in out and "** mnist-cnn-1" in out and "++ mnist-cnn-2" in out
    assert "mnist-cnn-1" in out and "plain-keras" in out
    diff = out.split("hyperparameter")[1]
    assert "learning_rate" in diff and "0.001" in diff and "0.01" in diff
    assert "batch_size      128          128          -" in diff  # missing from the plain log

    run("compare", "mnist-cnn-1", "mnist-cnn-2", "--logdir", str(logdir))
    diff = capsys.readouterr().out.split("hyperparameter")[1]
    assert "learning_rate" in diff and "batch_size" not in diff and "dataset" not in diff

    run("compare", "mnist-cnn-1", "fashion", "--logdir", str(logdir), "--x", "time")
    assert "seconds" in capsys.readouterr().out
    with pytest.raises(KeraslabError, match="matches several runs"):
        run("compare", "mnist", "--logdir", str(logdir))
    with pytest.raises(KeraslabError, match="no run 'nothing'"):
        run("compare", "nothing", "--logdir", str(logdir))
    with pytest.raises(KeraslabError, match="no run has metric"):
        run("compare", "mnist-cnn-1", "--logdir", str(logdir), "--metric", "bleu")


def test_export_csv_json_md(logdir, tmp_path, capsys):
    out_csv = tmp_path / "out.csv"
    assert run("export", "mnist-cnn-1", "plain-keras", "--logdir", str(logdir), "--format", "csv",
               "--output", str(out_csv)) == 0  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out_csv.read_text())))
    acc = [r for r in rows if r["run"] == "plain-keras" and r["metric"] == "val_accuracy"]
    assert [r["epoch"] for r in acc] == ["1", "2", "3", "4", "5", "6"]
    assert {r["hp.learning_rate"] for r in rows if r["run"] == "mnist-cnn-1"} == {"0.001"}

    run("export", "mnist-cnn-1", "--logdir", str(logdir), "--format", "json")
    (item,) = json.loads(capsys.readouterr().out)
    assert item["config"]["run"]["dataset"] == "mnist" and len(item["curves"]["loss"]["value"]) == 5

    run("export", "mnist-cnn-1", "mnist-cnn-2", "--logdir", str(logdir), "--format", "md")
    md = capsys.readouterr().out
    assert "## Hyperparameters that differ" in md and "| learning_rate |" in md and "| epoch |" in md
