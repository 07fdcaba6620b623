"""A FIFO (or any non-regular file) in a log directory never hangs keraslab: skipped with a warning."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.browse_helpers import keras_tb_run, keraslab_run
from tests.conftest import run_cli

HANG_GUARD_S = 120  # only so that a hang fails the test instead of blocking the suite

# (file made a FIFO, the kind of run it sits in)
FIFOS = [
    ("config.json", "keraslab"),
    ("status.json", "keraslab"),
    ("metrics.jsonl", "keraslab"),
    ("notes.md", "keraslab"),
    ("events.out.tfevents.1.host.1.v2", "tensorboard"),
    ("train/events.out.tfevents.2.host.1.v2", "tensorboard"),
    (".keraslab-cache.json", "logdir"),
]


def _logdir(tmp_path: Path, name: str, where: str) -> tuple[Path, str, str, Path]:
    """A log directory with a normal run and a run holding a FIFO named ``name`` (the log
    directory itself for the cache): ``(logdir, normal run's name, odd run's name, fifo)``."""
    logdir = tmp_path / "logs"
    good = keraslab_run(logdir, "good")
    if where == "keraslab":
        odd = keraslab_run(logdir, "odd")
    elif where == "tensorboard":
        odd = keras_tb_run(logdir / "odd")
    else:
        odd = logdir
    fifo = odd / name
    if fifo.exists():
        fifo.unlink()
    os.mkfifo(fifo)
    return logdir, good.name, (good if odd == logdir else odd).name, fifo


def _run(*args: str) -> subprocess.CompletedProcess:
    try:
        return run_cli(*args, timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"keraslab {' '.join(args)} hung on a FIFO: {exc}")


def _names_fifo(stderr: str, fifo: Path) -> bool:
    return any(str(fifo) in line and "not a regular file (a FIFO), skipped" in line for line in stderr.splitlines())


@pytest.mark.parametrize(("name", "where"), FIFOS)
def test_runs_lists_every_run_and_names_the_fifo(tmp_path, name, where):
    logdir, good, odd, fifo = _logdir(tmp_path, name, where)
    p = _run("runs", "--logdir", str(logdir))
    assert p.returncode == 0, p.stderr
    assert good in p.stdout and odd in p.stdout
    if where != "logdir":  # (the summary cache is only a shortcut: skipped quietly, then replaced)
        assert _names_fifo(p.stderr, fifo), p.stderr
    else:
        assert not fifo.exists() or fifo.is_file()


@pytest.mark.parametrize(("name", "where"), FIFOS)
def test_show_compare_export_finish_and_name_the_fifo(tmp_path, name, where):
    logdir, good, odd, fifo = _logdir(tmp_path, name, where)
    for args in (
        ("show", odd, "--no-plot"),
        ("compare", good, odd, "--metric", "val_accuracy"),
        ("export", good, odd, "--format", "json"),
    ):
        p = _run(*args, "--logdir", str(logdir))
        assert p.returncode == 0, (args, p.stderr)
        assert odd in p.stdout and (good in p.stdout or args[0] == "show"), (args, p.stdout)
        if where != "logdir":
            assert _names_fifo(p.stderr, fifo), (args, p.stderr)
