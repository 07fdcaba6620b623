"""Run files are untrusted: paths out of the log directory, delete/archive guards, Markdown cells, malformed values."""

from __future__ import annotations

import json
import math

import pytest
from browse_helpers import keras_tb_run, keraslab_run
from keraslab.core import (
    RunStoreError,
    archive_run,
    delete_run,
    discover_runs,
    export_runs,
    load_run,
)
from keraslab.core.browse.cache import CACHE_NAME, load_cache, save_cache
from keraslab.core.browse.discovery import RunWatcher
from keraslab.tui import cli


def _planted_cache(logdir, *names):
    """The log directory's summary cache, with a real run's entry copied under ``names``."""
    discover_runs(logdir)
    runs = load_cache(logdir)
    entry = runs["tb-1"]
    save_cache(logdir, {**runs, **{name: entry for name in names}})


@pytest.fixture
def victim(tmp_path):
    """A directory outside the log directory that looks like a run, with a file that is not one's."""
    outside = keras_tb_run(tmp_path / "elsewhere" / "run", epochs=2)
    (outside / "precious.txt").write_text("not a run's")
    return outside


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink"])
def test_a_cache_naming_a_run_outside_the_log_directory_is_not_listed(tmp_path, victim, how):
    logdir = tmp_path / "logs"
    keras_tb_run(logdir / "tb-1", epochs=2)
    if how == "symlink":
        (logdir / "link").symlink_to(victim, target_is_directory=True)
    name = {"absolute": str(victim), "dotdot": "../elsewhere/run", "symlink": "link"}[how]
    _planted_cache(logdir, name)
    watcher = RunWatcher(logdir)
    assert watcher.preload()  # the browser's first paint: the cache, as saved
    assert [r.name for r in watcher.summaries()] == ["tb-1"]
    assert any(repr(name) in w and "outside the log directory" in w for w in watcher.warnings)
    watcher.scan()
    assert [r.path for r in watcher.summaries()] == [logdir / "tb-1"]


def test_delete_and_archive_refuse_what_is_not_a_run_inside_the_log_directory(tmp_path, victim):
    logdir = tmp_path / "logs"
    run = keras_tb_run(logdir / "tb-1", epochs=2)
    (logdir / "notes").mkdir()
    (logdir / "link").symlink_to(victim, target_is_directory=True)
    for target in (victim, logdir / ".." / "elsewhere" / "run", logdir / "link"):
        with pytest.raises(RunStoreError, match="not inside the log directory"):
            delete_run(target, logdir)
        with pytest.raises(RunStoreError, match="not inside the log directory"):
            archive_run(target, logdir)
    with pytest.raises(RunStoreError, match="not a run directory"):
        delete_run(logdir / "notes", logdir)
    with pytest.raises(RunStoreError, match="no log directory"):
        delete_run(run, None)
    assert (victim / "precious.txt").read_text() == "not a run's" and (logdir / "notes").is_dir()
    delete_run(run, logdir)  # a run inside: gone
    assert not run.exists()



def test_archive_never_moves_a_run_through_a_symlinked_archive_folder(tmp_path, victim):
    logdir = tmp_path / "logs"
    run = keras_tb_run(logdir / "tb-1", epochs=2)
    (logdir / ".archive").symlink_to(victim.parent, target_is_directory=True)
    with pytest.raises(RunStoreError, match="outside the log directory"):
        archive_run(run, logdir)
    assert run.is_dir() and not (victim.parent / "tb-1").exists()


def test_a_run_that_is_training_is_neither_deleted_nor_archived(tmp_path):
    import os
    import socket
    import time

    run = keraslab_run(tmp_path, "mnist-cnn")
    status = json.loads((run / "status.json").read_text())
    status.update(status="running", pid=os.getpid(), host=socket.gethostname(), heartbeat=time.time())
    (run / "status.json").write_text(json.dumps(status))
    for act in (delete_run, archive_run):
        with pytest.raises(RunStoreError, match="the run is training"):
            act(run, tmp_path)
    assert (run / "config.json").is_file()

def test_markdown_export_escapes_pipes_and_line_breaks_in_every_cell(tmp_path):
    run = keraslab_run(tmp_path, "mnist-cnn")
    config = json.loads((run / "config.json").read_text())
    config["run"]["dataset"] = "a|b\nc"
    config["run"]["extra"] = {"note": "x\r\n| y"}
    (run / "config.json").write_text(json.dumps(config))
    text = export_runs(discover_runs(tmp_path, use_cache=False), "md", curves=False)
    table_lines = [line for line in text.splitlines() if line.startswith("|")]
    header = table_lines[0]
    for line in table_lines:  # every row has as many cells as its table's header
        if line.startswith("| run") or line.startswith("| hyperparameter"):
            header = line
        assert line.replace("\\|", "").count("|") == header.count("|"), line
    assert "a\\|b c" in text and "x \\| y" in text


def _damage(run, name, edit):
    path = run / name
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def _set(path_keys, value):
    def edit(data):
        for key in path_keys[:-1]:
            data = data[key]
        data[path_keys[-1]] = value

    return edit


MALFORMED = {
    "ended is a number": ("status.json", _set(["ended"], 7)),
    "heartbeat is text": ("status.json", _set(["heartbeat"], "soon")),
    "started is a list": ("status.json", _set(["started"], [1])),
    "run config is text": ("config.json", _set(["run"], "cnn")),
    "model_info is text": ("config.json", _set(["model_info"], "big")),
    "planned epochs are text": ("config.json", _set(["run", "epochs"], "five")),
    "test accuracy is text": ("results.json", _set(["test", "accuracy"], "high")),
    "test is a list": ("results.json", _set(["test"], [0.9])),
    "status is an array": ("status.json", lambda data: data.clear()),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_value_costs_its_run_a_warning_not_the_listing(tmp_path, case, capsys):
    name, edit = MALFORMED[case]
    good = keraslab_run(tmp_path, "good")
    bad = keraslab_run(tmp_path, "bad")
    if case == "status is an array":
        (bad / name).write_text("[1, 2]")
    else:
        _damage(bad, name, edit)
    runs = {r.name: r for r in discover_runs(tmp_path, use_cache=False)}
    assert set(runs) == {"good-1", "bad-1"}
    assert runs["bad-1"].warnings and any(name in w for w in runs["bad-1"].warnings)
    assert not runs["good-1"].warnings and runs["good-1"].test_accuracy == 0.9
    for value in (runs["bad-1"].test_accuracy, runs["bad-1"].duration):
        assert value is None or isinstance(value, float)
    assert cli.main(["runs", "--logdir", str(tmp_path)]) == 0
    assert cli.main(["runs", "--logdir", str(tmp_path), "--sort", "test_acc"]) == 0
    assert cli.main(["show", "bad-1", "--logdir", str(tmp_path), "--no-plot"]) == 0
    assert load_run(bad).warnings
    assert good.name in capsys.readouterr().out


def test_a_heartbeat_of_text_on_a_running_run_is_a_warning(tmp_path):
    run = keraslab_run(tmp_path, "live", status=None)
    _damage(run, "status.json", _set(["heartbeat"], "soon"))
    (summary,) = discover_runs(tmp_path, use_cache=False)
    assert summary.status in ("running", "interrupted") and any("heartbeat" in w for w in summary.warnings)


def test_deeply_nested_json_is_damage_not_a_recursion_error(tmp_path):
    good = keraslab_run(tmp_path, "good")
    bad = keraslab_run(tmp_path, "bad")
    (bad / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    (bad / "tags.json").write_text("[" * 100_000)
    with open(bad / "metrics.jsonl", "a") as f:
        f.write("[" * 100_000 + "]" * 100_000 + "\n")
    runs = {r.name: r for r in discover_runs(tmp_path, use_cache=False)}
    assert set(runs) == {"good-1", "bad-1"} and not runs["good-1"].warnings
    assert any("config.json" in w for w in runs["bad-1"].warnings)
    assert any("metrics.jsonl" in w for w in runs["bad-1"].warnings)
    assert runs["bad-1"].epochs == 5
    assert load_run(bad).warnings and good.exists()


@pytest.mark.parametrize("offset", [math.inf, "z", -1, 1.5, None])
def test_a_malformed_cache_entry_is_read_again_from_the_run(tmp_path, offset):
    keraslab_run(tmp_path, "kl")
    keras_tb_run(tmp_path / "tb-1", epochs=3)
    first = {r.name: r.metrics["val_accuracy"].last for r in discover_runs(tmp_path)}
    cache = json.loads((tmp_path / CACHE_NAME).read_text())
    [block] = cache["keraslab"]  # (keraslab runs as columns: kl-1's metrics offset is the first "pos")
    assert block["rel"] == ["kl-1"]
    block["pos"][0] = offset
    for info in cache["runs"]["tb-1"]["files"].values():
        info["offset"] = offset
    (tmp_path / CACHE_NAME).write_text(json.dumps(cache))  # (inf is written as Infinity)
    watcher = RunWatcher(tmp_path)
    watcher.preload()
    assert [r.name for r in watcher.summaries()] == []  # no entry taken as it is
    watcher.scan()
    assert {r.name: r.metrics["val_accuracy"].last for r in watcher.summaries()} == first


def test_a_cache_entry_naming_files_outside_its_run_is_not_taken(tmp_path, victim):
    logdir = tmp_path / "logs"
    keras_tb_run(logdir / "tb-1", epochs=2)
    discover_runs(logdir)
    cache = json.loads((logdir / CACHE_NAME).read_text())
    files = cache["runs"]["tb-1"]["files"]
    files["../../elsewhere/run/train/x"] = next(iter(files.values()))
    (logdir / CACHE_NAME).write_text(json.dumps(cache))
    watcher = RunWatcher(logdir)
    watcher.preload()
    assert watcher.summaries() == []
