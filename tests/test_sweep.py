"""Sweeps without training: the grid grammar, dry runs, the sweep file, ranking and the runs' sweep column."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browse_helpers import keraslab_run
from conftest import run_cli
from keraslab import core
from keraslab.core import ConfigError, RunConfig
from sweep_helpers import sweep_with_runs


def test_values_are_lists_ranges_and_choices():
    assert core.parse_values("learning_rate", "1e-3,3e-4") == [1e-3, 3e-4]
    assert core.parse_values("seed", "0..2") == [0, 1, 2]
    assert core.parse_values("batch_size", "16..64:16,128") == [16, 32, 48, 64, 128]
    assert core.parse_values("seed", "1,1,0..1") == [1, 0]  # duplicates dropped, order kept
    models = core.parse_values("model", 'cnn,conv32k3-bn-relu-maxpool2 | gap-out-softmax')
    assert models == ["cnn", "conv32k3-bn-relu-maxpool2 | gap-out-softmax"]
    for key, text, words in [
        ("learning_rate", "1e-3,abc", "'abc' is not a number"),
        ("seed", "2..0", "must go up"),
        ("seed", "0..x", "range"),
        ("optimizer", "adam,adamm", "'adamm' is not one of"),
        ("learning_rate", "1e-3,,1e-4", "empty value"),
    ]:
        with pytest.raises(ConfigError, match=words):
            core.parse_values(key, text)


def test_grid_points_first_axis_slowest_and_random_draws():
    grid = core.make_grid(RunConfig(epochs=1), {"learning_rate": "0.1,0.2", "seed": "0..2", "epochs": "3"})
    assert grid.size == 6 and grid.varying == ["learning_rate", "seed"]
    assert [grid.values(i) for i in (0, 1, 3)] == [
        {"learning_rate": 0.1, "seed": 0}, {"learning_rate": 0.1, "seed": 1}, {"learning_rate": 0.2, "seed": 0},
    ]  # fmt: skip
    assert grid.base["epochs"] == 3  # one value: fixed, not an axis
    assert grid.positions() == list(range(6))
    drawn = grid.positions(4, seed=7)
    assert len(set(drawn)) == 4 and set(drawn) <= set(range(6)) and drawn == grid.positions(4, seed=7)
    assert grid.positions(4, seed=7) != grid.positions(4, seed=8) or grid.positions(4, seed=9) != drawn
    assert core.describe_grid(grid) == "2 x 3 = 6 points (learning_rate x seed)"
    huge = core.make_grid(RunConfig(), {"seed": "0..9999", "batch_size": "1..9999"})
    with pytest.raises(ConfigError, match="--random"):
        huge.positions()
    assert len(huge.positions(5)) == 5


def test_dry_run_prints_the_differing_options_and_writes_nothing(logdir: Path):
    proc = run_cli("sweep", "--lr", "1e-3,3e-4", "--seed", "0..2", "--epochs", "2", "--model",
                   "cnn,conv8k3-relu-maxpool2 | gap-out-softmax", "--dry-run", "--logdir", str(logdir))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 x 2 x 3 = 12 points (model x learning_rate x seed)" in out
    assert "12 run(s) would be made" in out and "fixed: epochs 2" in out
    assert "conv8k3-relu-maxpool2 | gap-out-softmax" in out and "digits-custom-p11" in out
    assert "optimizer" not in out.split("fixed:")[0]  # only the options that vary are columns
    assert not logdir.exists()


def test_dry_run_slurm_prints_the_array_script(logdir: Path):
    proc = run_cli("sweep", "--lr", "1e-3,3e-4", "--seed", "0..2", "--slurm", "--dry-run", "--partition", "gpu",
                   "--time", "1:00:00", "--gpus", "2", "--cpus-per-task", "4", "--mem", "8G", "--max-parallel", "2",
                   "--requeue", "--sbatch-arg=--qos=long", "--logdir", str(logdir))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for line in ("#SBATCH --array=0-5%2", "#SBATCH --partition=gpu", "#SBATCH --time=1:00:00",
                 "#SBATCH --gres=gpu:2", "#SBATCH --cpus-per-task=4", "#SBATCH --mem=8G",
                 "#SBATCH --requeue", "#SBATCH --qos=long"):  # fmt: skip
        assert line in lines
    (exec_line,) = [x for x in lines if x.startswith("exec ")]
    assert " train " in exec_line and "--resume-existing" in exec_line
    assert '/points/"$SLURM_ARRAY_TASK_ID".json' in exec_line
    assert not logdir.exists()


@pytest.mark.parametrize(
    "args, words",
    [
        (["--lr", "1e-3,fast"], "--learning-rate: 'fast' is not a number"),
        (["--model", "cnn,nosuchpreset"], "nosuchpreset"),
        (["--lr", "1e-3,20"], "learning_rate: 20"),
        (["--partition", "gpu"], "--partition is an sbatch option: add --slurm"),
        (["--slurm", "--local", "2"], "choose one of --local N and --slurm"),
        (["--slurm", "--sbatch-arg", "--x\n#SBATCH --y"], "line break"),
    ],
)
def test_bad_sweeps_are_one_line_errors(logdir: Path, args, words):
    proc = run_cli("sweep", *args, "--dry-run", "--logdir", str(logdir))
    assert proc.returncode != 0
    assert words in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_sweep_show_ranks_points_best_first_with_their_state(logdir: Path):
    sweep = sweep_with_runs(logdir, {0: 0.5, 2: 0.9})
    keraslab_run(logdir, "other")  # not part of the sweep
    proc = run_cli("sweep", "show", sweep.id[:6], "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    table = proc.stdout.split("states:")[0]
    rows = [line.split() for line in table.splitlines() if line.strip()[:1].isdigit()]
    assert [(r[1], r[2], r[3]) for r in rows] == [("2", "0.001", "done"), ("0", "0.1", "done"), ("1", "0.01", "pending")]
    assert rows[0][4] == "0.9000" and "1 pending" in proc.stdout and "2 done" in proc.stdout
    assert "best: point 2 (val_accuracy 0.9000)" in proc.stdout
    assert "keraslab train --lr 0.001" in proc.stdout
    chart = proc.stdout.split("val_accuracy by learning_rate\n")[1].splitlines()[:4]
    strips = {line.split()[0]: line.split()[1] for line in chart[1:]}
    assert chart[0].split() == ["0.5000", "0.9000"]
    assert strips["0.1"].startswith("o") and strips["0.001"].endswith("o") and set(strips["0.01"]) == {"."}
    by_loss = run_cli("sweep", "show", "--metric", "loss", "--logdir", str(logdir))  # newest sweep; loss: lowest first
    assert "best loss" in by_loss.stdout and "best: point 0 (loss 0.5000)" in by_loss.stdout


def test_runs_of_a_sweep_by_option_column_and_filter(logdir: Path):
    sweep = sweep_with_runs(logdir, {0: 0.5, 1: None})
    keraslab_run(logdir, "other")
    listed = run_cli("runs", "--sweep", sweep.id, "--logdir", str(logdir))
    assert listed.returncode == 0, listed.stderr
    assert "digits-cnn-p0-1" in listed.stdout and "digits-cnn-p1-1" in listed.stdout
    assert "other" not in listed.stdout and listed.stdout.splitlines()[0].split()[-1] == "sweep"
    filtered = run_cli("runs", "--filter", f"sweep == {sweep.id}", "--json", "--logdir", str(logdir))
    assert sorted(r["name"] for r in json.loads(filtered.stdout)) == ["digits-cnn-p0-1", "digits-cnn-p1-1"]
    assert {r["sweep"] for r in json.loads(filtered.stdout)} == {sweep.id}
    everything = run_cli("runs", "--json", "--logdir", str(logdir))
    assert "sweep.id" not in everything.stdout  # the sweep mark is not a hyperparameter
    missing = run_cli("runs", "--sweep", "sw-nope", "--logdir", str(logdir))
    assert missing.returncode == 1 and "no sweep 'sw-nope'" in missing.stderr


def test_sweep_file_is_read_as_untrusted(logdir: Path):
    sweep = sweep_with_runs(logdir, {0: 0.5})
    data = json.loads(sweep.path.read_text())
    data["points"][0]["run"] = "../../etc"
    data["points"][1] = {"index": "x"}
    data["points"][2]["name"] = "bad/name"
    data["points"].append({**data["points"][0], "values": {"learning_rate": [1, 2]}})
    sweep.path.write_text(json.dumps(data))
    loaded = core.load_sweep(logdir, sweep.id)
    assert [p.index for p in loaded.points] == [0] and loaded.points[0].run is None
    assert core.point_run(loaded, loaded.points[0]) == logdir / "digits-cnn-p0-1"  # found by its config
    shown = run_cli("sweep", "show", sweep.id, "--logdir", str(logdir))
    assert shown.returncode == 0 and "damaged point entry" in shown.stderr and "Traceback" not in shown.stderr
    for damage in ("{damaged", json.dumps({**data, "grid": {"base": {}, "axes": {"seed": [[1], {}]}}})):
        sweep.path.write_text(damage)
        proc = run_cli("sweep", "show", sweep.id, "--logdir", str(logdir))
        assert proc.returncode == 1 and "not a keraslab sweep file" in proc.stderr and "Traceback" not in proc.stderr


def test_run_config_sweep_field_is_validated():
    RunConfig(sweep={"id": "sw-1", "point": 3, "values": {"seed": 1}}).validate()
    for bad in ({"id": "a/b", "point": 0}, {"id": "sw", "point": -1}, {"id": "sw", "point": 0, "x": 1},
                {"id": "sw", "point": 0, "values": {"a": [1]}}, "sw"):  # fmt: skip
        with pytest.raises(ConfigError, match="sweep"):
            RunConfig(sweep=bad).validate()
    command = core.config_command(RunConfig(sweep={"id": "sw-1", "point": 3}))
    assert "sweep" not in command


def test_slurm_environment_is_recorded_whatever_started_the_run():
    from keraslab.core.rundir.scheduler import slurm_job

    assert slurm_job({"PATH": "/bin"}) is None
    env = {"SLURM_JOB_ID": "17", "SLURM_ARRAY_JOB_ID": "12", "SLURM_ARRAY_TASK_ID": "5",
           "SLURM_JOB_NODELIST": "gpu[01-02]", "SLURM_JOB_PARTITION": "gpu", "SLURM_JOB_GPUS": "0,1"}  # fmt: skip
    assert slurm_job(env) == {"job_id": "17", "array_job_id": "12", "array_task_id": "5",
                              "nodelist": "gpu[01-02]", "partition": "gpu", "gpus": "0,1"}  # fmt: skip


def test_slurm_without_sbatch_is_a_one_line_error(logdir: Path, tmp_path: Path):
    import sys

    proc = run_cli("sweep", "--seed", "0,1", "--slurm", "--logdir", str(logdir),
                   env={"PATH": f"{Path(sys.executable).parent}:{tmp_path}"})  # fmt: skip
    assert proc.returncode == 1 and "sbatch is not installed" in proc.stderr
    assert not (logdir / "sweeps").exists() or not any((logdir / "sweeps").iterdir())


def test_a_slurm_task_that_left_no_run_reads_failed_once_slurm_forgot_it(logdir: Path):
    sweep = sweep_with_runs(logdir, {0: 0.5})
    sweep.launcher = {"kind": "slurm", "job_id": "987654321"}  # (a job no SLURM knows)
    sweep.save()
    sweep.log_file(1).write_text("error: the task died before its run began\n")
    proc = run_cli("sweep", "show", sweep.id, "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    states = {row.split()[1]: row.split()[3] for row in proc.stdout.split("states:")[0].splitlines()
              if row.strip()[:1].isdigit()}  # fmt: skip
    assert states == {"0": "done", "1": "failed", "2": "pending"}


def test_escape_sequences_in_a_sweep_file_are_shown_visible(logdir: Path):
    sweep = sweep_with_runs(logdir, {0: 0.5})
    data = json.loads(sweep.path.read_text())
    data["grid"]["axes"] = {"\x1b[31mlr": data["grid"]["axes"]["learning_rate"], "seed": [0, 1]}
    data["created"] = "\x1b]0;owned\x07"
    sweep.path.write_text(json.dumps(data))
    proc = run_cli("sweep", "show", sweep.id, "--logdir", str(logdir))
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "\\x1b[31mlr" in proc.stdout
