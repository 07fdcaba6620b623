"""Strings from run files reach the terminal with their control characters made visible, in the
CLI and in the app (fmt.visible), and a name that is not UTF-8 never breaks the output."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from browse_helpers import keraslab_run
from keraslab.core import write_notes, write_tags
from keraslab.tui.fmt import visible

EVIL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\x07\x7f"


def raw_controls(text: str) -> list[str]:
    """Control characters other than a newline: what must never reach the terminal."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0]


def test_visible_shows_control_characters_as_escapes_and_bad_bytes_as_a_replacement():
    assert visible("plain name-1") == "plain name-1"
    assert visible("ok é ✓") == "ok é ✓"
    assert visible("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert visible("\x9b\x07\x7f\x00") == "\\x9b\\x07\\x7f\\x00"
    assert visible("tab\there\nline") == "tab\\there\\nline"
    assert visible("one\ntwo\x1b", multiline=True) == "one\ntwo\\x1b"
    assert visible(os.fsdecode(b"bad\xffname")) == "bad\ufffdname"
    assert not raw_controls(visible("".join(map(chr, range(0xA0)))))
    # bidi overrides, zero-width and line separators cannot make one name pass for another
    assert visible("run\u202eexe.1") == "run\\u202eexe.1"
    assert visible("a\u200bb\u2028c\ufeff") == "a\\u200bb\\u2028c\\ufeff"
    # notes keep their tabs and lines (CRLF read as one line end)
    assert visible("a\tb\r\nc\x1b", multiline=True) == "a\tb\nc\\x1b"


@pytest.fixture
def evil_logdir(tmp_path: Path) -> Path:
    logdir = tmp_path / "runs"
    run = keraslab_run(logdir, "evil", dataset=f"mnist{EVIL}")
    config = json.loads((run / "config.json").read_text())
    config["run"][f"hp{EVIL}"] = f"value{EVIL}"
    (run / "config.json").write_text(json.dumps(config))
    write_tags(run, [f"tag{EVIL}"])
    write_notes(run, f"notes{EVIL}\nsecond line")
    run = run.rename(run.with_name(f"evil{EVIL}"))
    keraslab_run(logdir, "plain", lr=0.1)
    return logdir


def keraslab_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "keraslab.tui.cli", *args], capture_output=True,
                          env={**os.environ, **(env or {})}, timeout=300)  # fmt: skip


@pytest.mark.parametrize("command", [["runs", "--hparams"], ["compare", "evil", "plain"], ["export", "--format", "md", "evil"]])
def test_the_cli_prints_no_control_characters_from_run_files(evil_logdir, command):
    proc = keraslab_cli(*command, "--logdir", str(evil_logdir))
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    out = proc.stdout.decode()
    assert "\\x1b" in out  # the name (or the config) is there, made visible
    assert raw_controls(out) == [] and raw_controls(proc.stderr.decode()) == []


def test_a_run_dir_name_that_is_not_utf8_is_listed_under_a_strict_ascii_stdout(tmp_path):
    logdir = tmp_path / "runs"
    run = keraslab_run(logdir, "bad")
    os.rename(os.fsencode(run), os.fsencode(run.parent) + b"/bad\xffname-1")
    proc = keraslab_cli("runs", "--logdir", str(logdir), env={"PYTHONIOENCODING": "ascii:strict"})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert b"bad?name-1" in proc.stdout


async def test_the_browser_and_run_detail_show_no_control_characters(evil_logdir):
    from keraslab.tui.browse_app import BrowseApp
    from keraslab.tui.screens.run_detail import RunDetailScreen
    from keraslab.tui.widgets.line_table import LineTable
    from textual.widgets import Input, Static, TextArea

    app = BrowseApp([evil_logdir], follow=False)
    async with app.run_test(size=(160, 40)) as pilot:
        table = app.screen.query_one(LineTable)
        for _ in range(200):
            if table.row_count == 2:
                break
            await pilot.pause(0.05)
        await pilot.press("h")  # the hyperparameter columns too
        await pilot.pause()
        cells = [str(c) for i in range(table.row_count) for c in table.get_row_at(i)]
        cells += [c.label for c in table.columns]
        assert any("\\x1b" in c for c in cells) and not raw_controls("".join(cells))
        evil = next(i for i in range(table.row_count) if "evil" in str(table.get_row_at(i)[0]))
        table.move_cursor(row=evil)
        await pilot.press("enter")
        for _ in range(200):
            if isinstance(app.screen, RunDetailScreen):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)
        screen = app.screen
        shown = [str(w.render()) for w in screen.query(Static)]
        shown += [screen.query_one("#tags-input", Input).value, screen.query_one("#notes-area", TextArea).text]
        text = "\n".join(shown)
        assert "evil\\x1b" in text and "tag\\x1b" in text and "notes\\x1b" in text
        assert raw_controls(text) == []
