"""Browsing at sweep scale: `runs` streams a first scan's rows, and the summary cache stays right while many processes write runs and save it."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil

import pytest
from browse_helpers import keras_tb_run, keraslab_run
from conftest import run_cli
from keraslab.core import discover_runs
from keraslab.core.browse import discovery
from keraslab.core.browse.cache import load_cache, save_cache
from keraslab.core.rundir.layout import STATUS_FILE
from keraslab.core.rundir.writer import RunWriter, create_run_dir
from keraslab.tui import cli, cli_runs


def _names(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[2:] if line.strip()]


def test_runs_prints_a_first_scans_rows_as_it_reads_them_then_in_order_from_the_cache(tmp_path, monkeypatch, capsys):
    for i in range(230):
        keraslab_run(tmp_path, f"sweep-{i:03d}", epochs=2)
    monkeypatch.setattr(cli_runs, "STREAM_AFTER", 0.0)  # (a small directory streams too)
    monkeypatch.setattr(discovery, "PROGRESS_EVERY", 0.0)
    printed = []
    real = cli_runs.RowStream.__call__

    def spy(self, final=False):
        before = self.printed
        real(self, final)
        printed.append(self.printed - before)

    monkeypatch.setattr(cli_runs.RowStream, "__call__", spy)
    assert cli.main(["runs", "--logdir", str(tmp_path)]) == 0
    cold = capsys.readouterr()
    assert printed == [100, 100, 30]  # each hundred printed once read, the rest at the end
    assert sorted(_names(cold.out)) == sorted(r.name for r in discover_runs(tmp_path, use_cache=False))
    assert "230 runs listed as a first scan read them" in cold.err

    assert cli.main(["runs", "--logdir", str(tmp_path)]) == 0  # the cache has them all: one table, in order
    warm = capsys.readouterr()
    assert _names(warm.out) == [r.name for r in discover_runs(tmp_path)]
    assert "first scan" not in warm.err
    assert sorted(_names(warm.out)) == sorted(_names(cold.out))


def test_a_streamed_first_scan_keeps_to_the_filter_and_a_sorted_one_waits_for_every_run(tmp_path, monkeypatch, capsys):
    for i in range(150):
        keraslab_run(tmp_path, f"run-{i:03d}", epochs=2, dataset="mnist" if i % 3 else "cifar10")
    monkeypatch.setattr(cli_runs, "STREAM_AFTER", 0.0)
    monkeypatch.setattr(discovery, "PROGRESS_EVERY", 0.0)
    assert cli.main(["runs", "--logdir", str(tmp_path), "--filter", "dataset == cifar10"]) == 0
    out = capsys.readouterr()
    assert len(_names(out.out)) == 50 and "first scan" in out.err
    for path in tmp_path.glob(".keraslab-cache.json*"):
        path.unlink()
    assert cli.main(["runs", "--logdir", str(tmp_path), "--sort", "name", "--reverse"]) == 0
    out = capsys.readouterr()
    assert _names(out.out) == sorted((r.name for r in discover_runs(tmp_path, use_cache=False)), reverse=True)
    assert "first scan" not in out.err


def test_status_rewritten_within_one_clock_tick_still_looks_changed(tmp_path):
    """Readers tell a file changed by size and mtime; status.json keeps its size (padded),
    so each write must move its mtime on, even where the clock has not (a coarse
    timestamp, here a file stamped ahead of the clock)."""
    run = create_run_dir(tmp_path, "fast")
    w = RunWriter(run)
    w.start(epochs=50)
    status = run / STATUS_FILE
    seen = [os.stat(status)]
    for epoch in range(20):
        if epoch % 2:
            ahead = seen[-1].st_mtime_ns + 3600 * 10**9
            os.utime(status, ns=(ahead, ahead))
            seen[-1] = os.stat(status)
        w.update_status(epochs_done=epoch)
        seen.append(os.stat(status))
    w.close()
    assert len({s.st_size for s in seen}) == 1  # (the same size each time)
    assert all(b.st_mtime_ns > a.st_mtime_ns for a, b in zip(seen, seen[1:], strict=False))


def test_a_cached_run_that_is_no_longer_one_is_seen_for_what_it_is(tmp_path):
    keraslab_run(tmp_path, "a", epochs=2)
    gone = keraslab_run(tmp_path, "b", epochs=2)
    changed = keraslab_run(tmp_path, "c", epochs=2)
    assert {r.name for r in discover_runs(tmp_path)} == {"a-1", "b-1", "c-1"}  # (cached)
    for p in gone.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    for p in changed.iterdir():
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    keras_tb_run(changed, epochs=3)
    runs = {r.name: r for r in discover_runs(tmp_path)}
    assert set(runs) == {"a-1", "c-1"} and runs["c-1"].kind == "tensorboard" and runs["c-1"].epochs == 3


# --- several processes at once (spawned: each a fresh interpreter, as separate commands are)


def _save_many(logdir: str, worker: int, entry: dict, rounds: int) -> None:
    mine: dict = {}
    for i in range(rounds):
        mine[f"w{worker}-{i:02d}"] = entry
        save_cache(logdir, dict(mine))


def test_caches_saved_by_several_processes_at_once_lose_no_entry(tmp_path):
    keraslab_run(tmp_path, "real", epochs=2)
    discover_runs(tmp_path)
    entry = load_cache(tmp_path)["real-1"]
    workers, rounds = 4, 15
    for w in range(workers):
        for i in range(rounds):
            (tmp_path / f"w{w}-{i:02d}").mkdir()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_save_many, args=(str(tmp_path), w, entry, rounds)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
        assert p.exitcode == 0
    cached = load_cache(tmp_path)
    assert set(cached) == {"real-1"} | {f"w{w}-{i:02d}" for w in range(workers) for i in range(rounds)}
    assert all(e == entry for e in cached.values())


def _sweep(logdir: str, worker: int, runs: int) -> None:
    from pathlib import Path

    for i in range(runs):
        run = create_run_dir(Path(logdir), f"sweep{worker}-{i}")
        w = RunWriter(run)
        w.write_config({"run": {"dataset": "digits", "model": "mlp", "epochs": 4, "seed": i}})
        w.start(epochs=4)
        for e in range(1, 5):
            w.log_epoch(e, {"loss": 1 / e, "val_accuracy": e / 5})
            w.update_status(epochs_done=e)
        w.write_results({"test": {"accuracy": 0.5 + i / 100, "loss": 0.4}})
        w.finish("completed")
        w.close()


def _browse(logdir: str, done, scans) -> None:
    while not done.is_set():
        discover_runs(logdir)  # (a fresh watcher each time: loads the cache, checks, saves)
        scans.value += 1
    discover_runs(logdir)


def test_sweeps_writing_while_browsers_scan_leave_no_stale_or_lost_summary(tmp_path):
    keraslab_run(tmp_path, "before", epochs=3)
    ctx = multiprocessing.get_context("spawn")
    done, scans = ctx.Event(), ctx.Value("i", 0)
    readers = [ctx.Process(target=_browse, args=(str(tmp_path), done, scans)) for _ in range(2)]
    writers = [ctx.Process(target=_sweep, args=(str(tmp_path), w, 6)) for w in range(3)]
    for p in readers + writers:
        p.start()
    for p in writers:
        p.join(300)
        assert p.exitcode == 0
    done.set()
    for p in readers:
        p.join(300)
        assert p.exitcode == 0
    assert scans.value > 2  # (the browsers scanned while the sweeps wrote)
    fresh = {r.name: r.to_dict() for r in discover_runs(tmp_path, use_cache=False)}
    assert len(fresh) == 19
    assert set(load_cache(tmp_path)) == set(fresh)  # every run has its entry
    runs = discover_runs(tmp_path)
    cached = {r.name: r.to_dict() for r in runs}
    assert json.dumps(cached, sort_keys=True, default=str) == json.dumps(fresh, sort_keys=True, default=str)
    assert all(r.status == "completed" and r.epochs == (3 if r.name == "before-1" else 4) for r in runs)


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / ".xdg"))


def test_runs_help_says_where_the_summary_cache_is():
    proc = run_cli("runs", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    assert "prints runs as it reads them" in text and ".keraslab-cache.json (safe to delete" in text
