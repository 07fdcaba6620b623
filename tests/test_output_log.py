"""A run's console: output.log kept by `keraslab train` (the whole process, native output too),
by the app's training thread (that thread only), read back in bounded pieces, and followed
live in the run detail's Output tab with control characters made visible."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import run_cli
from keraslab.core import OUTPUT_LOG, RunConfig, TrainingSession, read_output_log
from keraslab.core.rundir.outputlog import OutputLog
from keraslab.core.train.capture import capture_thread


def test_a_thread_capture_keeps_that_threads_prints_only(tmp_path, capsys):
    def other():
        print("from another thread")

    with capture_thread(tmp_path):
        print("from the training thread")
        print("a warning", file=sys.stderr)
        t = threading.Thread(target=other)
        t.start()
        t.join()
    print("after the run")
    log = (tmp_path / OUTPUT_LOG).read_text()
    assert log == "from the training thread\na warning\n"
    out, err = capsys.readouterr()  # (everything still reaches the streams it went to)
    assert out == "from the training thread\nfrom another thread\nafter the run\n" and err == "a warning\n"
    assert not type(sys.stdout).__name__.startswith("_ThreadTee")


def test_a_process_capture_keeps_native_writes_to_fds_1_and_2(tmp_path):
    code = textwrap.dedent(f"""
        import os, sys
        from keraslab.core import capture_process_output
        with capture_process_output({str(tmp_path)!r}):
            print("python stdout", flush=True)
            os.write(2, b"native stderr\\n")
        print("not kept", flush=True)
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "python stdout\nnot kept\n" and done.stderr == "native stderr\n"
    log = (tmp_path / OUTPUT_LOG).read_text()
    assert sorted(log.splitlines()) == ["native stderr", "python stdout"]


def test_reads_are_bounded_and_follow_appends(tmp_path):
    log = OutputLog(tmp_path)
    log.write("".join(f"line {i}\n" for i in range(100_000)))  # about 1 MB
    tail = read_output_log(tmp_path, limit=1000)
    assert len(tail.text.encode()) <= 1000 and tail.skipped > 0
    assert tail.text.startswith("line ") and tail.text.endswith("line 99999\n")
    log.write("one more\n")
    log.write("half a li")
    more = read_output_log(tmp_path, tail.end)
    assert more.start == tail.end and more.text == "one more\nhalf a li"
    log.close()
    assert read_output_log(tmp_path / "nowhere").text == ""
    (tmp_path / "capped").mkdir()
    small = OutputLog(tmp_path / "capped", max_bytes=50)
    small.write("x" * 40 + "\n")
    small.write("y" * 40 + "\n")  # past the cap: a note, then nothing more
    small.write("z\n")
    text = (tmp_path / "capped" / OUTPUT_LOG).read_text()
    assert text.startswith("x" * 40) and "not kept" in text and "yy" not in text and "z\n" not in text


def test_console_text_folds_progress_lines_and_shows_controls():
    from keraslab.tui.widgets.output_log import console_text

    raw = "epoch 1  batch 1/9\r\x1b[2Kepoch 1  batch 9/9\nbell\x07 and \x1b]0;title\x07\n"
    shown = console_text(raw)
    assert shown.splitlines()[0] == "epoch 1  batch 9/9"
    assert "\x07" not in shown and "\x1b" not in shown and "\\x07" in shown


async def test_the_run_detail_follows_the_output_log(tmp_path):
    from browse_helpers import keraslab_run
    from keraslab.tui.browse_app import BrowseApp
    from keraslab.tui.screens.run_detail import RunDetailScreen
    from keraslab.tui.widgets.output_log import OutputLogView

    run = keraslab_run(tmp_path, "mnist-a")
    log = OutputLog(run)
    log.write("epoch 1/2  loss 0.5\n\x1b[31mred\x1b[0m and \x1b]0;evil title\x07\n")
    app = BrowseApp([tmp_path], interval=0.1)
    async with app.run_test(size=(120, 36)) as pilot:
        app.push_screen(RunDetailScreen(run, interval=0.1))
        await pilot.pause()
        detail = app.screen
        detail.query_one("#detail-tabs").active = "tab-output"
        view = detail.query_one(OutputLogView)

        async def until(condition):
            for _ in range(200):
                if condition():
                    return
                await pilot.pause(0.05)
            raise AssertionError("condition not reached")

        await until(lambda: view.line_count >= 2 and "epoch 1/2" in view.lines[0])
        assert view.lines[1] == "red and \\x1b]0;evil title\\x07"
        log.write("epoch 2/2  loss 0.3\n")
        await until(lambda: any("epoch 2/2" in line for line in view.lines))
        log.close()


@pytest.mark.slow
def test_keraslab_train_and_a_session_keep_output_log(tmp_path):
    done = run_cli("train", "--dataset", "digits", "--model", "mlp", "--epochs", "1", "--limit", "300",
                   "--logdir", str(tmp_path / "cli"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run_dir,) = (tmp_path / "cli").iterdir()
    log = (run_dir / OUTPUT_LOG).read_text()
    assert "epoch 1/1" in log and "status: completed" in log and f"run: {run_dir}" in log

    # the app's way: a session in this process keeps its training thread's output only
    from keraslab.core import SessionHooks

    hooks = SessionHooks(on_worker_start=lambda: print("printed in the training thread"))
    session = TrainingSession(RunConfig(dataset="digits", model="mlp", epochs=1, limit=300),
                              tmp_path / "app", hooks=hooks)  # fmt: skip
    result = session.run()
    session._thread.join(timeout=120)  # (the run's last line is written as the thread ends, after wait())
    print("printed by the app")
    assert result.status == "completed"
    text = (Path(result.run_dir) / OUTPUT_LOG).read_text()
    assert "printed in the training thread" in text and "epoch 1/1" in text and "status: completed" in text
    assert "printed by the app" not in text
