"""A run's console (output.log) shown as a log that follows what the run appends."""

from __future__ import annotations

import re
from pathlib import Path

from keraslab.core import LogChunk, read_output_log
from textual import work
from textual.message import Message
from textual.widgets import Log

from ..fmt import visible

# terminal control sequences a console run printed (colours, erase-line): dropped, not shown
_CSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]")
MAX_LINES = 20000


def console_text(text: str) -> str:
    """Log text as a terminal would have left it, made safe: each line's carriage-return
    overwrites folded to their last state, colour and erase sequences dropped, any other
    control character shown as an escape."""
    lines = _CSI.sub("", text).split("\n")
    folded = [line.rstrip("\r").rpartition("\r")[2] for line in lines]
    return visible("\n".join(folded), multiline=True)


class LogRead(Message):
    """A piece of output.log read by the thread worker."""

    def __init__(self, chunk: LogChunk | None, error: str = ""):
        super().__init__()
        self.chunk, self.error = chunk, error


class OutputLogView(Log):
    """The last part of a run's output.log (a bounded tail), then each new part as it is appended."""

    DEFAULT_CSS = "OutputLogView { height: 1fr; }"

    def __init__(self, run_dir: str | Path, *, follow: bool = True, interval: float = 1.0, **kwargs):
        super().__init__(max_lines=MAX_LINES, auto_scroll=True, **kwargs)
        self.run_dir = Path(run_dir)
        self.follow, self.interval = follow, interval
        self.read_at: int | None = None  # where the next read starts (None: the tail)
        self.error = ""

    def on_mount(self) -> None:
        self.read_more()
        if self.follow:
            self.set_interval(self.interval, self.read_more)

    @work(thread=True, exclusive=True, group="output-log")
    def read_more(self) -> None:
        try:
            self.post_message(LogRead(read_output_log(self.run_dir, self.read_at)))
        except OSError as exc:
            self.post_message(LogRead(None, f"output.log unreadable: {exc.strerror or exc}"))

    def on_log_read(self, message: LogRead) -> None:
        message.stop()
        chunk = message.chunk
        if chunk is None:
            if message.error != self.error:
                self.error = message.error
                self.write_line(visible(message.error))
            return
        if self.read_at is None or chunk.start != self.read_at:  # first read, or the log was replaced
            self.clear()
            if chunk.skipped:
                self.write_line(f"[{chunk.skipped:,} earlier bytes not shown]")
            elif not chunk.text:
                self.write_line("no output recorded (output.log is empty or absent)")
        elif self.read_at == 0 and chunk.text and self.line_count == 1:
            self.clear()  # (the placeholder line goes when output arrives)
        self.read_at = chunk.end
        if chunk.text:
            self.write(console_text(chunk.text))
