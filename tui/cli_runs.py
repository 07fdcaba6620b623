"""CLI commands of the runs browser: runs --sort/--filter, compare, export and browse."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

from keraslab import core
from keraslab.core import ConfigError

from . import fmt
from .fmt import hp_text, visible
from .policy import gc_paused
from .textplot import line_chart

X_CHOICES = ("epoch", "step", "time")


def _smoothing(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be in [0, 1)")
    return value


def _logdirs(args: argparse.Namespace) -> list[Path]:
    return [core.default_logdir(getattr(args, "logdir", None))]


def _add_logdir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--logdir",
        metavar="DIR",
        help="log directory holding the runs (default: $KERASLAB_LOGDIR or ./runs)",
    )


def extend_runs_parser(p: argparse.ArgumentParser) -> None:
    """Add --sort, --reverse, --filter and --hparams to the `runs` sub-parser."""
    p.epilog = (
        "A first listing of a big log directory prints runs as it reads them (oldest first within "
        "each batch); later ones come from the summary cache, <logdir>/.keraslab-cache.json (safe "
        "to delete: the runs are read again)."
    )
    p.add_argument(
        "--sort",
        metavar="COL",
        help="sort by a column (name, status, dataset, model, params, epochs, best_val_acc, "
        "test_acc, duration, start), a metric or a hyperparameter",
    )
    p.add_argument("--reverse", action="store_true", help="reverse the sort order")
    p.add_argument(
        "--filter",
        metavar="EXPR",
        help="keep matching runs: words match name/dataset/model/status/tags; comparisons like "
        "'val_accuracy > 0.99 and dataset == mnist' (== != < <= > >=, and/or/not, parentheses)",
    )
    p.add_argument("--hparams", action="store_true", help="add a column per hyperparameter that differs")
    p.add_argument("--sweep", metavar="ID", help="only the runs of this sweep (an id or a unique prefix; see 'keraslab sweep list')")


def add_browse_commands(sub) -> None:
    """Add `compare`, `export` and `browse` to the CLI's sub-parsers."""
    c = sub.add_parser(
        "compare",
        help="overlay one metric of several runs and show differing hyperparameters",
        description="Print overlaid curves of one metric for several runs (keraslab runs or any "
        "TensorBoard log directory) and a table of the hyperparameters that differ.",
    )
    c.add_argument("runs", nargs="+", metavar="RUN", help="run directory, run name, or a unique prefix")
    c.add_argument("--metric", help="metric to plot (default: val_accuracy, else loss)")
    c.add_argument(
        "--smoothing", type=_smoothing, default=0.0,
        help="TensorBoard-style exponential smoothing weight in [0, 1) (default: 0)",
    )  # fmt: skip
    c.add_argument("--x", choices=X_CHOICES, default="epoch", help="x axis (default: epoch)")
    c.add_argument("--logy", action="store_true", help="logarithmic y axis")
    _add_logdir(c)

    e = sub.add_parser(
        "export",
        help="write metrics and configs of runs as csv, json or markdown",
        description="Export runs' metrics (every point of every scalar) and configurations.",
    )
    e.add_argument("runs", nargs="+", metavar="RUN", help="run directory, run name, or a unique prefix")
    e.add_argument("--format", choices=core.EXPORT_FORMATS, default="csv", help="output format (default: csv)")
    e.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    _add_logdir(e)

    b = sub.add_parser(
        "browse",
        help="open the runs browser on one or more log directories",
        description="Browse runs in a terminal UI: keraslab runs and any TensorBoard log directory "
        "(Keras callback logs, tf.summary, other writers), with live follow.",
    )
    b.add_argument("paths", nargs="*", metavar="PATH", help="log directories (default: --logdir, $KERASLAB_LOGDIR or ./runs)")
    _add_logdir(b)


# --- runs -------------------------------------------------------------------------------


def select_runs(runs, sort: str | None, reverse: bool, filter_text: str | None):
    """Filter then sort summaries as `runs` and the browser do; errors are KeraslabErrors."""
    if filter_text:
        runs = core.filter_runs(runs, filter_text)
    if sort:
        runs = core.sort_runs(runs, sort, reverse)
    elif reverse:
        runs = list(reversed(runs))
    return runs


RIGHT = (4, 5, 6, 7, 8)  # the numeric standard columns of `runs`
# options whose table needs every run before its first row (sorted, or columns that compare
# runs); a narrowing by sweep is not applied to a streamed table either
GATHERING = ("sort", "reverse", "hparams", "json", "sweep", "tree")
STREAM_AFTER = 0.25  # seconds of a first scan before `runs` prints what it has read (a small one: never)


class RowStream:
    """`runs`' rows printed while a first scan reads the runs (a big log directory without
    a summary cache): each batch oldest first, as the scan reports it. The column widths
    are those of the first batch. Used only when no option in GATHERING asks for a table
    that needs every run first (sorting does)."""

    def __init__(self, watcher, expr):
        self.start = time.monotonic()
        self.watcher = watcher
        self.expr = expr
        self.done = 0  # the watcher's runs printed (or filtered out) so far
        self.widths: list[int] | None = None
        self.printed = 0

    def __call__(self, final: bool = False) -> None:  # (RunWatcher.scan's progress)
        if not final and self.widths is None and time.monotonic() - self.start < STREAM_AFTER:
            return
        states = list(self.watcher.states.values())[self.done :]
        self.done += len(states)
        runs = core.oldest_first(s.summary() for s in states)
        if self.expr is not None:
            runs = core.filter_runs(runs, self.expr)
        rows = [fmt.run_cells(r) for r in runs]
        headers = [c.header for c in core.COLUMNS]
        if self.widths is None:
            self.widths = fmt.table_widths(headers, rows)
            print(fmt.table_line(headers, self.widths, RIGHT))
            print(fmt.table_line(["-" * w for w in self.widths], self.widths, RIGHT))
        if rows:
            print("\n".join(fmt.table_line(row, self.widths, RIGHT) for row in rows), flush=True)
        self.printed += len(rows)


def _scan_progress(watcher) -> None:
    """A first scan's progress on a terminal's stderr while `runs` gathers every run to sort them."""
    sys.stderr.write(f"\rreading runs ... {len(watcher.states):,} so far")
    sys.stderr.flush()


def scan_runs(args: argparse.Namespace, logdirs: list[Path]) -> list | None:
    """Every run under the log directories, or None when a first scan of a big one printed
    them as it read them (see RowStream) and with them its warnings: nothing is left to print."""
    expr = core.parse_filter(args.filter) if getattr(args, "filter", None) else None  # (before any reading)
    watcher = core.RunWatcher(logdirs)
    gather = any(getattr(args, name, None) for name in GATHERING)
    stream = None if gather else RowStream(watcher, expr)
    if stream is not None:
        watcher.scan(progress=stream)
    elif sys.stderr.isatty():
        watcher.scan(progress=lambda: _scan_progress(watcher))
        sys.stderr.write("\r\033[K")
    else:
        watcher.scan()
    all_runs = watcher.summaries()
    if stream is None or stream.widths is None:
        return all_runs
    stream(final=True)  # the rest
    print_filter_warnings(expr, all_runs)
    print_warnings(core.filter_runs(all_runs, expr) if expr else all_runs)
    print(f"note: {len(all_runs):,} runs listed as a first scan read them; the next 'keraslab runs' "
          "lists them oldest first at once (from the summary cache)", file=sys.stderr)  # fmt: skip
    if not stream.printed:
        print(f"no run matches the filter ({len(all_runs)} runs in {logdirs[0]})")
    return None


def cmd_runs(args: argparse.Namespace) -> int:
    with gc_paused():  # (a short-lived command whose objects live to its end: a collection would only walk them)
        return _list_runs(args)


def gather_runs(args: argparse.Namespace) -> tuple[Path, list, list] | None:
    """(the log directory, every run in it or in --sweep's sweep, those --filter and --sort
    select) for `runs` and its views; None when a first scan printed them as it read them."""
    logdirs = _logdirs(args)
    if getattr(args, "logdir", None) and not logdirs[0].is_dir():  # (a default not made yet: no runs)
        raise core.RunStoreError(_not_a_directory(logdirs[0]))
    all_runs = scan_runs(args, logdirs)
    if all_runs is None:
        return None
    if getattr(args, "sweep", None):
        sweep_id = core.find_sweep(logdirs[0], args.sweep)
        all_runs = [r for r in all_runs if r.sweep == sweep_id]
    runs = select_runs(all_runs, getattr(args, "sort", None), getattr(args, "reverse", False),
                       getattr(args, "filter", None))  # fmt: skip
    if getattr(args, "filter", None):
        print_filter_warnings(core.parse_filter(args.filter), all_runs)
    return logdirs[0], all_runs, runs


def _list_runs(args: argparse.Namespace) -> int:
    gathered = gather_runs(args)
    if gathered is None:
        return 0
    logdir, all_runs, runs = gathered
    if args.json:
        print(json.dumps([r.to_dict() for r in runs], indent=2, default=str))
        return 0
    if not all_runs:
        print(f"no runs in {logdir} (start one with 'keraslab train')")
        return 0
    if not runs:
        print(f"no run matches the filter ({len(all_runs)} runs in {logdir})")
        return 0
    headers = [c.header for c in core.COLUMNS]
    rows = [fmt.run_cells(r) for r in runs]
    right = RIGHT
    if getattr(args, "hparams", False):
        diff = core.hparam_diff(runs)
        headers += [visible(k) for k, _ in diff]
        for row, i in zip(rows, range(len(runs)), strict=True):
            row += [hp_text(values[i]) for _, values in diff]
    print(fmt.table(headers, rows, right=right))
    print_warnings(runs)
    return 0


def print_filter_warnings(expr, runs) -> None:
    """A warning on stderr for each field the filter compares that no run has (a typo, likely)."""
    if expr is not None:
        for name in core.unknown_fields(expr, runs):
            print(f"warning: no run has a field, metric or hyperparameter {visible(repr(name))}", file=sys.stderr)


def print_warnings(runs) -> None:
    """The runs' warnings (a damaged file, a FIFO skipped, ...) on stderr, one a line."""
    for warning in dict.fromkeys(w for r in runs for w in r.warnings):
        print(f"warning: {visible(warning)}", file=sys.stderr)


# --- compare ----------------------------------------------------------------------------


def default_metric(runs) -> str:
    """val_accuracy when every run has it, else loss, else the first metric all runs share."""
    for name in ("val_accuracy", "loss", "val_loss", "accuracy"):
        if runs and all(name in r.metrics for r in runs):
            return name
    common = None
    for r in runs:
        names = set(r.metrics)
        common = names if common is None else common & names
    if common:
        return sorted(common)[0]
    raise ConfigError("the runs share no metric; choose one with --metric")


def compare_series(runs, metric: str, smoothing: float, x: str):
    """``[(label, xs, ys)]`` of one metric for each run (smoothed), unusable runs as notes,
    and the x axis' title."""
    series, notes, curves = [], [], []
    for r, rc in zip(runs, core.load_many_curves([r.path for r in runs]), strict=True):
        if isinstance(rc, core.KeraslabError):
            raise rc
        curve = rc.curves.get(metric)
        if curve is None or not len(curve):
            notes.append(f"{visible(r.name)}: no {visible(repr(metric))}")
            continue
        ys = core.smooth(curve.values, smoothing) if smoothing else list(curve.values)
        xs, ys = core.downsample(curve.xs(x), ys)
        series.append((visible(r.name), xs, ys))
        curves.append(curve)
    return series, notes, visible(core.axis_label(curves, x))


def cmd_compare(args: argparse.Namespace) -> int:
    runs = core.resolve_runs(args.runs, _logdirs(args))
    metric = args.metric or default_metric(runs)
    series, notes, xlabel = compare_series(runs, metric, args.smoothing, args.x)
    if not series:
        known = sorted({m for r in runs for m in r.metrics})
        raise ConfigError(f"no run has metric {metric!r} (metrics: {', '.join(known) or 'none'})")
    width = min(120, shutil.get_terminal_size((100, 24)).columns)
    title = visible(metric) + (f" (smoothing {args.smoothing:g})" if args.smoothing else "")
    print(line_chart(title, series, width=width, height=18, color=sys.stdout.isatty(),
                     xlabel=xlabel, logy=args.logy))  # fmt: skip
    for note in notes:
        print(f"note: {note}")
    rows = []
    for r in runs:
        best = r.metric(metric, "best")
        last = r.metric(metric, "last")
        rows.append([visible(r.name), r.kind, fmt.metric(best), fmt.metric(last),
                     "-" if r.epochs is None else str(r.epochs)])  # fmt: skip
    print()
    shown = visible(metric)
    print(fmt.table(["run", "kind", f"best {shown}", f"last {shown}", "epochs"], rows, right=(2, 3, 4)))
    diff = core.hparam_diff(runs)
    print()
    if diff:
        print(fmt.table(["hyperparameter", *(visible(r.name) for r in runs)],
                        [[visible(k), *(hp_text(v) for v in values)] for k, values in diff]))  # fmt: skip
    else:
        print("hyperparameters: identical" if any(r.hparams for r in runs) else "hyperparameters: none recorded")
    print_warnings(runs)
    return 0


# --- export / browse --------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    runs = core.resolve_runs(args.runs, _logdirs(args))
    text = core.export_runs(runs, args.format)
    if args.format == "md" or (not args.output and sys.stdout.isatty()):
        # (markdown is read in a terminal or a viewer, and so is anything printed to one;
        # csv and json written to a file keep the runs' strings as they are)
        text = visible(text, multiline=True)
    if args.output:
        try:
            Path(args.output).write_text(text)
        except OSError as exc:
            raise core.RunStoreError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        print(f"wrote {len(runs)} run(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    print_warnings(runs)
    return 0


def _not_a_directory(path: Path) -> str:
    return f"{path}: not a directory" if path.exists() else f"{path}: no such directory"


def cmd_browse(args: argparse.Namespace) -> int:
    paths = [Path(p).expanduser() for p in args.paths] or _logdirs(args)
    missing = [p for p in paths if not p.is_dir()]
    if missing:
        raise core.RunStoreError(_not_a_directory(missing[0]))
    from .browse_app import run_browser

    return run_browser(paths)


BROWSE_COMMANDS = {
    "runs": cmd_runs,
    "compare": cmd_compare,
    "export": cmd_export,
    "browse": cmd_browse,
}
