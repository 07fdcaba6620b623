"""The training view's system panel: per GPU utilisation and memory (bar, sparkline), else CPU and memory."""

from __future__ import annotations

from collections.abc import Sequence

from keraslab import core
from rich.text import Text
from textual.widget import Widget

SPARKS = "▁▂▃▄▅▆▇█"
HISTORY = 20  # samples in a sparkline
BAR = 10  # cells of a utilisation bar
# input-bound hint: mean GPU utilisation over the last HINT_SAMPLES samples below HINT_UTIL %
HINT_UTIL = 50.0
HINT_SAMPLES = 3


def sparkline(values: Sequence[float], high: float = 100.0) -> str:
    """One character a value, scaled to 0..high."""
    top = len(SPARKS) - 1
    return "".join(SPARKS[max(0, min(top, round(v / high * top)))] for v in values) if high > 0 else ""


def bar(percent: float, width: int = BAR) -> str:
    filled = max(0, min(width, round(percent / 100 * width)))
    return "█" * filled + "░" * (width - filled)


def input_bound(samples: Sequence[core.SystemSample]) -> bool:
    """Whether the run's GPUs sat mostly idle over the last samples (it waits on its input)."""
    recent = [core.split_sample(s.values)[0] for s in samples[-HINT_SAMPLES:]]
    utils = [g["util_percent"] for gpus in recent for g in gpus.values() if "util_percent" in g]
    return len(recent) >= HINT_SAMPLES and bool(utils) and sum(utils) / len(utils) < HINT_UTIL


class SystemPanel(Widget):
    """`show(samples, training)` draws the latest sample: one line per GPU (utilisation bar and
    sparkline, memory used/total), or without a GPU one dim line of CPU and memory; while
    training with the GPUs mostly idle, a hint that the input pipeline is the bottleneck.
    Draws itself (no child widgets), as the progress panel does."""

    DEFAULT_CSS = """
    SystemPanel {
        width: 58;
        height: 2;
        padding: 0 1;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text = Text()

    def show(self, samples: Sequence[core.SystemSample], training: bool) -> None:
        self.text = render_samples(samples, training)
        height = max(2, len(self.text.plain.splitlines()))
        if self.styles.height is None or self.styles.height.value != height:
            self.styles.height = height
        self.refresh()

    def render(self) -> Text:
        return self.text


def render_samples(samples: Sequence[core.SystemSample], training: bool) -> Text:
    """The panel's text for these samples (oldest first)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    if not samples:
        return text
    gpus, host = core.split_sample(samples[-1].values)
    recent = [core.split_sample(s.values)[0] for s in samples[-HISTORY:]] if gpus else []  # (once, for every GPU)
    lines: list[Text] = []
    for index, gpu in gpus.items():
        history = [g.get(index, {}).get("util_percent") for g in recent]
        util = gpu.get("util_percent", 0.0)
        line = Text(f"gpu{index} ", style="bold")
        line.append(bar(util), style="green" if util >= HINT_UTIL else "yellow")
        line.append(f" {util:3.0f}% ")
        line.append(sparkline([h for h in history if h is not None]), style="cyan")
        used, total = gpu.get("memory_used_mb"), gpu.get("memory_total_mb")
        if used is not None and total:
            line.append(f"  mem {used / 1024:.1f}/{total / 1024:.0f} GB")
        lines.append(line)
    if not gpus:
        parts = []
        if "cpu_percent" in host:
            parts.append(f"cpu {host['cpu_percent']:.0f}%")
        if "rss_mb" in host:
            parts.append(f"rss {host['rss_mb']:,.0f} MB")
        if "host_memory_percent" in host:
            parts.append(f"host mem {host['host_memory_percent']:.0f}%")
        lines.append(Text("  ".join(parts), style="dim"))
    elif training and input_bound(samples):
        lines.append(Text("GPU mostly idle: input-bound? try a larger batch", style="yellow"))
    return Text("\n", no_wrap=True, overflow="ellipsis").join(lines)
