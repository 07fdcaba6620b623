"""CLI commands that explain runs: diagnose (what the curves say)."""

from __future__ import annotations

import argparse
import json
import sys

from keraslab import core

from .fmt import visible


def _add_logdir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--logdir",
        metavar="DIR",
        help="log directory holding the runs (default: $KERASLAB_LOGDIR or ./runs)",
    )


def register(sub) -> None:
    """Add `diagnose` to the CLI's sub-parsers."""
    d = sub.add_parser(
        "diagnose",
        help="read a run's learning curves: overfitting, divergence, learning rate, plateaus...",
        description="Plain-language findings about a run's curves (keraslab runs and TensorBoard "
        "runs alike), each with its evidence (epochs, values) and a suggestion. Exit status 0 "
        "even with findings; 1 when a run cannot be read.",
        epilog="codes: " + ", ".join(core.DIAGNOSIS_CODES),
    )
    d.add_argument("runs", nargs="+", metavar="RUN", help="run directory, run name, or a unique prefix")
    d.add_argument("--json", action="store_true", help="print the findings as JSON")
    _add_logdir(d)


def context_line(ctx) -> str:
    """What the diagnosis knew besides the curves, in a few words."""
    parts = []
    if ctx.num_classes:
        parts.append(f"{ctx.num_classes} classes (chance {100 / ctx.num_classes:.1f}%)")
    if ctx.batchnorm is not None:
        parts.append("BatchNorm" if ctx.batchnorm else "no BatchNorm")
    if ctx.steps_per_epoch:
        parts.append(f"{ctx.steps_per_epoch} step{'s' if ctx.steps_per_epoch > 1 else ''} per epoch")
    return ", ".join(parts)


def diagnosis_lines(found) -> list[str]:
    """A run's findings as plain lines: severity, the message with its evidence, then the fix."""
    if not found:
        return ["no findings: the curves look healthy"]
    lines = []
    for d in found:
        lines.append(f"{d.severity:<8}{visible(d.message)}")
        lines.append(f"{'':<8}-> {visible(d.suggestion)}")
    return lines


def cmd_diagnose(args: argparse.Namespace) -> int:
    runs = core.resolve_runs(args.runs, [core.default_logdir(args.logdir)])
    results = [(run, core.diagnose_run(run.path)) for run in runs]
    if args.json:
        out = [{
            "run": run.name, "path": str(run.path), "epochs": diag.epochs,
            "findings": [vars(d) for d in diag.findings], "notes": diag.notes,
        } for run, diag in results]  # fmt: skip
        print(json.dumps(out if len(out) > 1 else out[0], indent=2))
        return 0
    for i, (run, diag) in enumerate(results):
        if i:
            print()
        known = context_line(diag.context)
        print(f"{visible(run.name)}: {diag.epochs} {diag.context.unit}s" + (f"; {known}" if known else ""))
        for line in diagnosis_lines(diag.findings) if diag.epochs else ["no epochs recorded yet"]:
            print(line)
        for note in diag.notes:
            print(f"note: {visible(note)}", file=sys.stderr)
    return 0


INSIGHT_COMMANDS = {
    "diagnose": cmd_diagnose,
}
