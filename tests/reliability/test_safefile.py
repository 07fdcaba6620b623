"""Files from a log directory are opened only when regular: a FIFO never blocks a read."""

from __future__ import annotations

import os
import threading

import pytest
from keraslab.core.safefile import NotRegularFile, inside, is_regular, read_bytes, read_text


def _in_thread(fn, *args):
    """Run fn in a daemon thread; what it returned or raised, or 'blocked' if it never ends."""
    out: list = []

    def target():
        try:
            out.append(fn(*args))
        except Exception as exc:  # noqa: BLE001
            out.append(exc)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(30)  # a generous bound on a call that must return at once; not a speed check
    return out[0] if out else "blocked"


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "status.json"
    os.mkfifo(fifo)
    result = _in_thread(read_bytes, fifo)
    assert isinstance(result, NotRegularFile) and "FIFO" in str(result)
    assert not is_regular(fifo)


def test_devices_and_directories_are_refused(tmp_path):
    assert isinstance(_in_thread(read_bytes, "/dev/zero"), NotRegularFile)
    assert isinstance(_in_thread(read_bytes, tmp_path), (NotRegularFile, IsADirectoryError))


def test_regular_files_and_symlinks_to_them_read(tmp_path):
    f = tmp_path / "a.json"
    f.write_bytes(b'{"x": 1}\xff')
    (tmp_path / "link.json").symlink_to(f)
    assert read_bytes(tmp_path / "link.json", offset=2, limit=3) == b'x":'
    assert read_text(f).endswith("\ufffd")
    with pytest.raises(FileNotFoundError):
        read_bytes(tmp_path / "missing")


def test_inside_resolves_dot_dot_and_symlinks(tmp_path):
    logdir = tmp_path / "runs"
    (logdir / "a").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (logdir / "sneaky").symlink_to(tmp_path / "elsewhere")
    assert inside(logdir / "a", logdir) == (logdir / "a").resolve()
    assert inside(logdir / ".." / "elsewhere", logdir) is None
    assert inside(logdir / "sneaky", logdir) is None
    assert inside("/etc", logdir) is None
