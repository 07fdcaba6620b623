"""`keraslab sweep --config FILE` and `--from RUN`: a saved setup as the base of every point."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from browse_helpers import keraslab_run
from conftest import run_cli


def _config_file(tmp_path: Path, data) -> Path:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(data))
    return path


def _fake_sbatch(tmp_path: Path) -> dict:
    """A PATH whose `sbatch` accepts any script as job 4242 (the points' files are written as for SLURM)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    sbatch = bin_dir / "sbatch"
    sbatch.write_text("#!/bin/sh\necho 4242\n")
    sbatch.chmod(sbatch.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def _points(logdir: Path) -> list[dict]:
    (folder,) = [p for p in (logdir / "sweeps").iterdir() if p.is_dir()]
    files = sorted((folder / "points").glob("*.json"), key=lambda p: int(p.stem))
    return [json.loads(p.read_text()) for p in files]


def test_dry_run_shows_the_base_file_and_what_varies_on_it(logdir: Path, tmp_path: Path):
    # a run's config.json: the RunConfig under "run", beside what only a run records
    path = _config_file(tmp_path, {"run": {"dataset": "digits", "model": "mlp", "epochs": 4, "batch_size": 64,
                                           "name": "myexp"}, "reproduce": "keraslab train ..."})  # fmt: skip
    proc = run_cli("sweep", "--config", str(path), "--lr", "1e-3,3e-4", "--seed", "0..1", "--dry-run",
                   "--logdir", str(logdir))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 x 2 = 4 points (learning_rate x seed)" in out
    assert f"base: --config {path}" in out
    assert "fixed: model mlp, batch_size 64, epochs 4" in out  # the file's values, not train's defaults
    assert "myexp-p0" in out and "myexp-p3" in out  # its name names the points
    assert not (logdir / "sweeps").exists()


def test_options_given_once_override_the_file(logdir: Path, tmp_path: Path):
    path = _config_file(tmp_path, {"model": "mlp", "epochs": 4, "optimizer": "sgd", "momentum": 0.9})
    proc = run_cli("sweep", "--config", str(path), "--epochs", "2", "--lr", "0.1,0.01", "--slurm",
                   "--logdir", str(logdir), env=_fake_sbatch(tmp_path))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    points = _points(logdir)
    assert [(p["learning_rate"], p["epochs"], p["optimizer"], p["momentum"]) for p in points] == [
        (0.1, 2, "sgd", 0.9), (0.01, 2, "sgd", 0.9),
    ]  # fmt: skip
    assert [p["sweep"]["point"] for p in points] == [0, 1] and points[0]["parent"] is None


def test_a_sweep_points_config_as_base_starts_a_sweep_of_its_own(logdir: Path, tmp_path: Path):
    env = _fake_sbatch(tmp_path)
    first = run_cli("sweep", "--model", "mlp", "--seed", "0,1", "--slurm", "--logdir", str(logdir), env=env)
    assert first.returncode == 0, first.stderr
    (point_file,) = [p for p in (logdir / "sweeps").glob("*/points/1.json")]
    proc = run_cli("sweep", "--config", str(point_file), "--lr", "0.1,0.01", "--dry-run", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    assert "digits-mlp-p0" in proc.stdout and "-p1-p0" not in proc.stdout  # (not named after the old point)
    assert "seed 1" in proc.stdout.split("fixed:")[1]


def test_from_run_is_the_base_and_each_point_records_it_as_parent(logdir: Path, tmp_path: Path):
    keraslab_run(logdir, "mnist-cnn", lr=0.01, batch_size=32)
    proc = run_cli("sweep", "--from", "mnist-cnn-1", "--seed", "0..2", "--dry-run", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    assert "base: the setup of run mnist-cnn-1" in proc.stdout
    assert "learning_rate 0.01" in proc.stdout and "batch_size 32" in proc.stdout and "mnist-cnn-p2" in proc.stdout
    made = run_cli("sweep", "--from", "mnist-cnn-1", "--seed", "0,1", "--slurm", "--logdir", str(logdir),
                   env=_fake_sbatch(tmp_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    points = _points(logdir)
    assert [p["parent"] for p in points] == ["mnist-cnn-1", "mnist-cnn-1"]
    assert [p["diff"]["summary"] for p in points] == ["no change", "seed 0 -> 1"]  # (each point against RUN)
    both = run_cli("sweep", "--from", "mnist-cnn-1", "--config", "x.json", "--seed", "0,1", "--dry-run",
                   "--logdir", str(logdir))  # fmt: skip
    assert both.returncode == 1 and "--from and --config" in both.stderr


@pytest.mark.parametrize(
    "content, words",
    [
        (None, "No such file"),
        ("{not json", "cannot read JSON"),
        ("fifo", "not a regular file (a FIFO)"),
    ],
)
def test_an_unreadable_file_is_a_one_line_error_exit_2(logdir: Path, tmp_path: Path, content, words):
    path = tmp_path / "base.json"
    if content == "fifo":
        os.mkfifo(path)  # (read as a plain open() would, it would block forever)
    elif content is not None:
        path.write_text(content)
    proc = run_cli("sweep", "--config", str(path), "--lr", "0.1,0.01", "--dry-run", "--logdir", str(logdir), timeout=60)
    assert proc.returncode == 2 and words in proc.stderr and f"--config {path}" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "data, words",
    [
        ({"run": {"epochs": "ten"}}, "epochs: 'ten' is not a whole number"),
        ({"learning_rate": [1]}, "learning_rate: [1] is not a number"),
        ({"run": {"layers": "rm -rf /"}}, "layers: must be a list"),
        ({"run": {"layers": [{"type": "os.system", "cmd": "id"}]}}, "os.system"),
        ({"run": {"epochs": 3, "__class__": "x"}}, "unknown config key(s): '__class__'"),
        ([1, 2], "must be a JSON object, not a list"),
        ({"run": {"sweep": {"id": "../../etc", "point": 0}}}, "sweep: id"),
        ({"run": {"name": "\x1b[31mred"}}, "name:"),
    ],
)
def test_a_hostile_config_is_a_one_line_error_naming_the_file(logdir: Path, tmp_path: Path, data, words):
    path = _config_file(tmp_path, data)
    proc = run_cli("sweep", "--config", str(path), "--lr", "0.1,0.01", "--dry-run", "--logdir", str(logdir))
    assert proc.returncode == 1, proc.stdout
    assert words in proc.stderr and f"--config {path}" in proc.stderr and "\x1b" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (logdir / "sweeps").exists()


@pytest.mark.slow
def test_a_local_sweep_from_a_config_file_trains_its_points_on_that_base(logdir: Path, tmp_path: Path):
    path = _config_file(tmp_path, {"run": {"model": "mlp", "limit": 300, "batch_size": 32, "epochs": 1}})
    proc = run_cli("sweep", "--config", str(path), "--lr", "1e-3,3e-3", "--local", "2", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 queued, 0 running, 2 done, 0 failed" in proc.stdout
    for index, lr in enumerate((1e-3, 3e-3)):
        record = json.loads((logdir / f"digits-mlp-p{index}-1" / "config.json").read_text())["run"]
        assert (record["learning_rate"], record["batch_size"], record["limit"]) == (lr, 32, 300)
    listed = run_cli("runs", "--sort", "sweep", "--logdir", str(logdir))
    assert [line.split()[-1] for line in listed.stdout.splitlines()[2:]] == ["#0", "#1"]


def test_a_base_with_its_own_layer_stack_keeps_it_unless_models_vary(logdir: Path, tmp_path: Path):
    from keraslab import core

    stack = core.stack_to_json(core.parse_stack("flatten-dense32-relu-dense10-softmax"))
    path = _config_file(tmp_path, {"run": {"model": "mine", "layers": stack, "epochs": 2}})
    proc = run_cli("sweep", "--config", str(path), "--lr", "1e-3,1e-2", "--dry-run", "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    assert "fixed: epochs 2, layers flatten-dense32-relu-dense10-softmax" in proc.stdout
    varied = run_cli("sweep", "--config", str(path), "--model", "mlp,cnn", "--dry-run", "--logdir", str(logdir))
    assert "fixed: epochs 2\n" in varied.stdout  # (each point's model replaces the stack)
    made = run_cli("sweep", "--config", str(path), "--lr", "1e-3,1e-2", "--model", "mlp,cnn", "--slurm",
                   "--logdir", str(logdir), env=_fake_sbatch(tmp_path))  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert [(p["model"], p["layers"]) for p in _points(logdir)] == [("mlp", None), ("mlp", None), ("cnn", None), ("cnn", None)]
