"""A full disk: the run's end still lands in status.json (failed, one line naming the disk),
no traceback, and a run whose best_model.keras could not be written does not exit 0."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import run_cli
from keraslab.core.errors import RunStoreError
from keraslab.core.rundir import writer as writer_module
from keraslab.core.rundir.fileio import overwrite_in_place, write_json_atomic
from keraslab.core.rundir.reader import load_run
from keraslab.core.rundir.writer import STATUS_SLOT, RunWriter

NO_SPACE = "No space left on device"


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str, free_kib: int):
    """A tmpfs of ``size`` mounted in ``tmp_path`` with a filler file leaving ``free_kib`` KiB."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {proc.stderr.strip()}")
    try:
        vfs = os.statvfs(disk)
        fill = vfs.f_bavail * vfs.f_frsize - free_kib * 1024
        if fill > 0:
            fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
            try:
                os.posix_fallocate(fd, 0, fill)
            finally:
                os.close(fd)
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _train(logdir: Path, *args: str):
    return run_cli("train", "--dataset", "digits", "--model", "mlp", "--epochs", "3", "--logdir", str(logdir), *args)


def _status(logdir: Path) -> dict:
    (run,) = logdir.iterdir()
    return json.loads((run / "status.json").read_text())


def test_a_disk_full_before_the_run_starts_is_one_line_and_leaves_no_run(tmp_path):
    with small_disk(tmp_path, "1m", 0) as disk:
        proc = _train(disk / "runs")
        runs = list((disk / "runs").iterdir())
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and NO_SPACE in proc.stderr, proc.stderr
    assert runs == []  # no half-written run directory


def test_a_few_kb_free_ends_the_run_failed_with_one_line(tmp_path):
    with small_disk(tmp_path, "4m", 8) as disk:
        proc = _train(disk / "runs")
        status = _status(disk / "runs")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "During handling" not in out
    assert status["status"] == "failed" and status["ended"]  # not left 'running'
    assert NO_SPACE in status["reason"]
    assert [line for line in out.splitlines() if NO_SPACE in line] == [f"status: failed ({status['reason']})"]


def test_a_checkpoint_that_does_not_fit_fails_the_run_and_says_so(tmp_path):
    """About 2 MB free: the first best_model.keras (about 1 MB) fits, the best epoch's does not."""
    with small_disk(tmp_path, "8m", 2048) as disk:
        proc = _train(disk / "runs")
        status = _status(disk / "runs")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("error: best_model.keras not written") and NO_SPACE in last, out
    assert status["status"] == "failed" and "best_model.keras not written" in status["reason"]


# -- the status write on a full disk, without a real one -------------------------------------


def test_status_json_is_padded_to_its_slot_and_still_reads_as_json(tmp_path):
    writer = RunWriter(tmp_path)
    writer.start(epochs=3)
    raw = (tmp_path / "status.json").read_bytes()
    assert len(raw) >= STATUS_SLOT and json.loads(raw)["status"] == "running"
    assert load_run(tmp_path).status == "running"


def test_the_final_status_lands_in_place_when_the_disk_is_full(tmp_path, monkeypatch):
    writer = RunWriter(tmp_path)
    writer.start(epochs=3)
    size = (tmp_path / "status.json").stat().st_size

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, NO_SPACE)

    monkeypatch.setattr(writer_module, "write_json_atomic", no_space)
    writer.finish("failed", "cannot write metrics.jsonl: " + NO_SPACE + " " + "x" * 5000)
    assert (tmp_path / "status.json").stat().st_size == size  # no new blocks
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "failed" and status["ended"] and NO_SPACE in status["reason"]
    assert load_run(tmp_path).status == "failed"


def test_a_status_that_cannot_be_written_at_all_is_one_line(tmp_path, monkeypatch):
    writer = RunWriter(tmp_path)
    writer.start(epochs=3)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(writer_module, "write_json_atomic", denied)
    with pytest.raises(RunStoreError, match="cannot write .*status.json: Permission denied"):
        writer.finish("failed", "x")


def test_overwrite_in_place_refuses_a_file_too_small(tmp_path):
    path = tmp_path / "status.json"
    write_json_atomic(path, {"status": "running"}, pad_to=64)
    assert not overwrite_in_place(path, {"status": "failed", "reason": "x" * 100})
    assert overwrite_in_place(path, {"status": "failed"}) and json.loads(path.read_text()) == {"status": "failed"}
    assert not overwrite_in_place(tmp_path / "absent.json", {})


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_metrics_on_a_full_disk_raise_one_line_naming_the_file(tmp_path):
    (tmp_path / "metrics.jsonl").symlink_to("/dev/full")
    writer = RunWriter(tmp_path)
    with pytest.raises(RunStoreError) as caught:
        writer.log_batch(0.5, 1, {"loss": 1.0})
    assert str(caught.value) == f"cannot write {tmp_path / 'metrics.jsonl'}: {NO_SPACE}"
    writer.close()  # the failed write is not raised again
