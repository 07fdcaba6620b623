"""CLI commands that explain runs and stacks: diagnose (what the curves say), sketch (the architecture)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from keraslab import core

from . import cli_labs
from .cli_runs import _add_logdir
from .fmt import visible


def register(sub) -> None:
    """Add `diagnose`, `sketch`, `report` and `labs` to the CLI's sub-parsers."""
    d = sub.add_parser(
        "diagnose",
        help="read a run's learning curves: overfitting, divergence, learning rate, plateaus...",
        description="Plain-language findings about a run's curves (keraslab runs and TensorBoard "
        "runs alike), each with its evidence (epochs, values) and a suggestion. Exit status 0 "
        "even with findings; 1 when a run cannot be read.",
        epilog="findings: not-finite, diverging, lr-too-high, batchnorm-gap, overfitting, underfitting, "
        "lr-too-low, plateau, noisy-validation, early-stopping (see the README)",
    )
    d.add_argument("runs", nargs="+", metavar="RUN", help="run directory, run name, or a unique prefix")
    d.add_argument("--json", action="store_true", help="print the findings as JSON")
    _add_logdir(d)

    s = sub.add_parser(
        "sketch",
        help="draw a layer stack (of a run, a preset or notation) as a block diagram",
        description="Draw the architecture as blocks grouped by stage, each layer with its output "
        "shape and parameters, arrows between blocks (no TensorFlow needed).",
        epilog="examples:\n  keraslab sketch fancy\n  keraslab sketch mnist-cnn-1\n"
        "  keraslab sketch 'conv32k3-relu-maxpool2-flatten-out-softmax' --dataset cifar10",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    s.add_argument("target", metavar="RUN|STACK", help="a keraslab run (directory, name or prefix), a preset "
                   "name, layer-stack notation, or a .json stack file")
    s.add_argument("--dataset", help="dataset whose input shape and classes a stack is drawn for "
                   "(default: the preset's own, else digits; a run uses its own)")
    s.add_argument("--ascii", action="store_true", help="draw with plain ASCII characters (+-|v)")
    _add_logdir(s)

    r = sub.add_parser(
        "report",
        help="write a Markdown (or self-contained HTML) report of one run or a comparison of several",
        description="Command and config, architecture sketch and layer table, metrics, curves as PNG "
        "(matplotlib) and the curve diagnosis; several runs make a comparison report.",
    )
    r.add_argument("runs", nargs="+", metavar="RUN", help="run directory, run name, or a unique prefix")
    r.add_argument("-o", "--output", metavar="FILE", required=True,
                   help="the report file (Markdown; its PNGs go in FILE-stem_files/ beside it)")
    r.add_argument("--html", action="store_true", help="one self-contained HTML file, images inlined")
    _add_logdir(r)
    cli_labs.register(sub)


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


def load_spec(spec: str):
    """A layer stack from a .json file (a list of layers, or {"layers": [...]}), a preset
    name or notation; SpecError with one line otherwise."""
    if spec.endswith(".json"):
        try:
            data = json.loads(Path(spec).read_text())
        except (OSError, ValueError) as exc:
            raise core.SpecError(f"{spec}: cannot read JSON ({exc})") from None
        return core.stack_from_json(data.get("layers") if isinstance(data, dict) else data)
    return core.resolve_model(spec)


def sketch_target(target: str, dataset: str | None, logdir) -> tuple[str, list, tuple, int]:
    """(title, stack, input shape, classes) of a run, or of a stack on a dataset."""
    direct = Path(target).expanduser()
    if direct.is_dir() and core.run_kind(direct) is not None:
        return direct.name, *core.run_architecture(direct)
    try:
        stack = load_spec(target)
    except core.SpecError as exc:
        try:
            (run,) = core.resolve_runs([target], [core.default_logdir(logdir)])
        except core.RunStoreError:
            raise core.SpecError(f"{target!r} is neither a run nor a layer stack: {exc}") from None
        return run.name, *core.run_architecture(run.path)
    preset = core.PRESETS.get(target.strip())
    if dataset is None and preset is not None:
        return preset.name, stack, preset.input_shape, preset.num_classes
    info = core.get_dataset_info(dataset or "digits")
    return (preset.name if preset else core.format_stack(stack)), stack, info.input_shape, info.num_classes


def cmd_sketch(args: argparse.Namespace) -> int:
    title, stack, shape, classes = sketch_target(args.target, args.dataset, args.logdir)
    lines = core.sketch_stack(stack, shape, classes, ascii=args.ascii)
    for line in [title, *lines]:
        print(visible(line))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    runs = core.resolve_runs(args.runs, [core.default_logdir(args.logdir)])
    written = core.write_report([r.path for r in runs], args.output, as_html=args.html)
    print(f"wrote {written[0]}" + (f" and {len(written) - 1} figure(s)" if len(written) > 1 else ""))
    return 0


DIAGNOSE_COMMANDS = {
    "diagnose": cmd_diagnose,
    "sketch": cmd_sketch,
    "report": cmd_report,
    **cli_labs.LABS_COMMANDS,
}
