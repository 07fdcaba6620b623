"""CLI of the tweak loop: `train --from RUN`, `runs --tree` (lineage) and `import MODEL` (a Keras model as notation)."""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from keraslab import core

from . import cli_runs, fmt
from .fmt import visible
from .lineage_text import lineage_cells, tree_prefix
from .policy import gc_paused


def extend_train_parser(t: argparse.ArgumentParser) -> None:
    """Add --from to `train`."""
    t.add_argument(
        "--from", dest="from_run", metavar="RUN",
        help="start from a past run's whole setup (a name, unique prefix or path; a plain Keras "
        "TensorBoard run works when keraslab knows all its layers); other options change it, and "
        "the new run records RUN as its parent with the diff",
    )  # fmt: skip


def extend_runs_parser(r: argparse.ArgumentParser) -> None:
    """Add --tree to `runs`."""
    r.add_argument(
        "--tree", action="store_true",
        help="show runs as a tree by parent (runs made with 'train --from'), each with its change "
        "and its metric against its parent",
    )  # fmt: skip


def register(sub) -> None:
    """Add `import` to the CLI's sub-parsers."""
    i = sub.add_parser(
        "import",
        help="print a Keras model file's architecture as keraslab notation",
        description="Read the architecture of a Keras model (.keras, .h5, or the JSON of "
        "model.to_json()) from its saved config, as data: no weights are loaded and nothing in "
        "the file runs. Prints the layer stack as notation for 'train --model'. Layers keraslab "
        "cannot express (Lambda, custom classes, unsupported settings) are listed, and the exit "
        "status is then 1.",
    )
    i.add_argument("file", metavar="MODEL", help="a .keras, .h5 or .json model file")
    i.add_argument("--json", action="store_true", help="print the result as JSON")


# --- train --from -----------------------------------------------------------------------


def record_lineage(config: core.RunConfig, parent, parent_config: core.RunConfig, logdir) -> None:
    """The new run's parent (relative to the log directory it trains into) and its diff."""
    config.parent = core.parent_ref(parent, core.default_logdir(logdir))
    config.diff = core.config_diff(parent_config, config).to_dict()
    config.validate()


# --- runs --tree ------------------------------------------------------------------------


def tree_rows(runs) -> list[list[str]]:
    """``[run, status, best val acc, change, vs parent]`` text of each run in tree order."""
    rows = []
    for row in core.lineage_tree(runs):
        change, vs = lineage_cells(row)
        rows.append([tree_prefix(row) + visible(row.run.name), visible(row.run.status),
                     fmt.metric(row.run.best_val_accuracy), change, vs])  # fmt: skip
    return rows


def cmd_runs(args: argparse.Namespace) -> int:
    """`runs`, with --tree shown by parent."""
    if not getattr(args, "tree", False):
        return cli_runs.cmd_runs(args)
    with gc_paused():  # (as `runs`: a short-lived command whose objects live to its end)
        return _print_tree(args)


def _print_tree(args: argparse.Namespace) -> int:
    gathered = cli_runs.gather_runs(args)
    if gathered is None:  # (never: --tree gathers every run first)
        return 0
    logdir, _, runs = gathered
    if args.json:
        tree = [{"name": t.run.name, "depth": t.depth, "parent": t.parent.name if t.parent else None,
                 "change": t.run.change, "vs_parent": core.metric_change(t.run, t.parent) if t.parent else None}
                for t in core.lineage_tree(runs)]  # fmt: skip
        print(json.dumps(tree, indent=2))
        return 0
    if not runs:
        print(f"no runs in {logdir} (start one with 'keraslab train')")
        return 0
    print(fmt.table(["run", "status", "best val acc", "change", "vs parent"], tree_rows(runs), right=(2,)))
    cli_runs.print_warnings(runs)
    return 0


# --- import -----------------------------------------------------------------------------


def cmd_import(args: argparse.Namespace) -> int:
    model = core.import_model(core.read_model_config(args.file))
    if args.json:
        print(json.dumps({
            "name": model.name, "notation": model.notation,
            "input_shape": model.input_shape, "notes": model.notes,
            "unsupported": [{"position": p, "name": n, "class": c, "reason": why}
                            for p, n, c, why in model.unsupported],
        }, indent=2))  # fmt: skip
        return 1 if model.unsupported else 0
    shape = "" if model.input_shape is None else " · input " + "x".join(map(str, model.input_shape))
    print(f"# {visible(model.name)}: {len(model.stack)} layers{shape}", file=sys.stderr)
    for note in model.notes:
        print(f"note: {visible(note)}", file=sys.stderr)
    if model.unsupported:
        print(f"{len(model.unsupported)} layer(s) keraslab cannot express (left out of the notation below):",
              file=sys.stderr)
        for position, name, cls, why in model.unsupported:
            print(f"  layer {position} {visible(name)} ({visible(cls)}): {visible(why)}", file=sys.stderr)
    if model.stack:
        print(visible(model.notation))
    if not model.unsupported and model.stack:
        print(f"# train it: keraslab train --model {shlex.quote(model.notation)}", file=sys.stderr)
    return 1 if model.unsupported or not model.stack else 0


TWEAK_COMMANDS = {"runs": cmd_runs, "import": cmd_import}
