"""A FIFO (or any non-regular file) in a log directory never hangs keraslab: skipped with a warning."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
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


# -- the browser quits while a scan is stuck -----------------------------------------------------


@pytest.fixture
def stuck_scan(monkeypatch):
    """Every RunWatcher.scan blocks until the test ends (as a read of a hung mount would)."""
    from keraslab.core.browse.discovery import RunWatcher

    release = threading.Event()
    entered = threading.Event()

    def scan(self, *args, **kwargs):
        entered.set()
        release.wait()
        return []

    monkeypatch.setattr(RunWatcher, "scan", scan)
    yield entered, release
    release.set()


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_the_browser_quits_while_its_scanner_is_stuck(tmp_path, stuck_scan, key):
    from keraslab.tui.browse_app import BrowseApp

    entered, release = stuck_scan
    keraslab_run(tmp_path, "good")
    app = BrowseApp([tmp_path], use_cache=False)
    try:
        async with app.run_test() as pilot:
            await pilot.pause()
            assert await asyncio.to_thread(entered.wait, HANG_GUARD_S)
            await pilot.press(key)
            await pilot.pause()
            assert app.return_code == 0  # it quit on the key, its scanner still stuck
        assert not app.is_running
    finally:
        release.set()  # (before pytest's event loop joins its executor's threads)


BLOCKED_BROWSER = """
import os, pathlib, sys, threading
from keraslab.core.browse.discovery import RunWatcher
def scan(self, *args, **kwargs):
    pathlib.Path(os.environ["STUCK_MARK"]).touch()
    threading.Event().wait()
RunWatcher.scan = scan
from keraslab.tui.browse_app import run_browser
sys.exit(run_browser(sys.argv[1:]))
"""


def _pty_browser(logdir: Path, mark: Path) -> tuple[subprocess.Popen, int, threading.Thread, list[bytes]]:
    """`run_browser` in a real process on a pseudo-terminal, its scanner stuck for good
    (it touches ``mark`` when it is)."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-c", BLOCKED_BROWSER, str(logdir)],
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
        env={**os.environ, "TERM": "xterm-256color", "STUCK_MARK": str(mark)},
    )  # fmt: skip
    os.close(slave)
    out: list[bytes] = []

    def drain() -> None:  # (the app blocks on a full pty if nobody reads it)
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:
                return
            if not data:
                return
            out.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    return proc, master, reader, out


@pytest.mark.parametrize("how", ["q", "ctrl+c", "SIGTERM"])
def test_a_browser_process_exits_while_its_scanner_is_stuck(tmp_path, how):
    keraslab_run(tmp_path / "logs", "good")
    mark = tmp_path / "stuck"
    proc, master, reader, out = _pty_browser(tmp_path / "logs", mark)
    try:
        for _ in range(HANG_GUARD_S * 20):  # loop guard only
            if mark.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert mark.exists(), b"".join(out)
        if how == "SIGTERM":
            proc.send_signal(signal.SIGTERM)
        else:
            os.write(master, b"q" if how == "q" else b"\x03")
        try:
            rc = proc.wait(HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the browser did not exit on {how} while a worker was stuck")
        reader.join(HANG_GUARD_S)  # (it ends at the pty's end: every byte the app wrote read)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    screen = b"".join(out)
    assert rc == 0, screen[-2000:]
    assert b"did not stop" in screen  # the stuck worker is named, not waited for
    assert b"\x1b[?1049l" in screen  # the terminal left the alternate screen: restored


async def test_the_browser_lists_every_run_beside_fifos_and_quits(tmp_path):
    from keraslab.tui.browse_app import BrowseApp

    logdir = tmp_path / "logs"
    keraslab_run(logdir, "good")
    odd = keraslab_run(logdir, "odd")
    tb = keras_tb_run(logdir / "tb")
    fifos = [odd / n for n in ("config.json", "status.json", "metrics.jsonl", "notes.md")]
    fifos += [tb / "train" / "events.out.tfevents.9.host.1.v2", logdir / ".keraslab-cache.json"]
    for fifo in fifos:
        if fifo.exists():
            fifo.unlink()
        os.mkfifo(fifo)
    app = BrowseApp([logdir], follow=False)
    # the hang guard: a read stuck on a FIFO (in the UI thread, too) is let go after a while,
    # so that the test fails on what it sees instead of hanging
    guard = threading.Timer(HANG_GUARD_S, _unblock, [fifos])
    guard.daemon = True
    guard.start()
    try:
        await _browse_and_quit(app, fifos)
    finally:
        guard.cancel()
        _unblock(fifos)


def _unblock(fifos: list[Path]) -> None:
    """Let any reader blocked opening one of ``fifos`` go on (it then reads an end of file)."""
    for fifo in fifos:
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass  # (no reader waiting, or gone)


async def _browse_and_quit(app, fifos: list[Path]) -> None:
    from keraslab.tui.screens.runs_browser import RunsBrowserScreen

    async with app.run_test() as pilot:
        screen = app.screen
        assert isinstance(screen, RunsBrowserScreen)
        for _ in range(HANG_GUARD_S * 20):  # loop guard only
            if screen.scans and not screen.scanning:
                break
            await pilot.pause(0.05)
        assert sorted(r.name for r in screen.summaries) == ["good-1", "odd-1", "tb"]
        warnings = [w for r in screen.summaries for w in r.warnings]
        for fifo in fifos[:-1]:  # (the cache: skipped quietly, then replaced by a new one)
            assert any(str(fifo) in w and "not a regular file" in w for w in warnings), (fifo, warnings)
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0
