"""The metric map on the command line: ``--metric-map PATTERN=NAME`` and ``keraslab metric-map``."""

from __future__ import annotations

import argparse

from keraslab import core

from . import fmt

# commands whose runs' metrics are named through the map (and the app, with no command)
MAPPED_COMMANDS = ("runs", "show", "compare", "export", "browse")
_HELP = (
    "name the metric of TensorBoard tags matching PATTERN (e.g. 'my/acc=val_accuracy', "
    "'{m}/training={m}'); repeatable, tried before the metric-map file and the built-in rules "
    "(see 'keraslab metric-map')"
)


def _rule(text: str) -> str:
    try:
        return core.parse_metric_rule(text)
    except core.ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_option(p: argparse.ArgumentParser, *, top: bool = False) -> None:
    """Add ``--metric-map`` to a parser (a sub-command's leaves the app's value alone)."""
    p.add_argument("--metric-map", action="append", type=_rule, metavar="PATTERN=NAME", help=_HELP,
                   **({} if top else {"default": argparse.SUPPRESS}))  # fmt: skip


def register(parser: argparse.ArgumentParser, sub) -> None:
    """Add ``--metric-map`` to the app and the browsing commands, and the ``metric-map`` command."""
    add_option(parser, top=True)
    for name in MAPPED_COMMANDS:
        add_option(sub.choices[name])
    m = sub.add_parser(
        "metric-map",
        help="show how TensorBoard tags become metric names (or what TAGs become)",
        description="Print the metric map: the rules that give TensorBoard tags of every framework "
        "(Keras, PyTorch, Lightning, TensorFlow 1) Keras-style metric names, first match wins. "
        f"Add rules with --metric-map or in {core.metric_map_file()} (one PATTERN=NAME a line, # comments).",
    )
    m.add_argument("tags", nargs="*", metavar="TAG", help="tags to name with the active rules")
    add_option(m)


def apply(args: argparse.Namespace) -> None:
    """Make the parsed ``--metric-map`` rules the active ones (before any run is read)."""
    core.set_metric_map(getattr(args, "metric_map", None) or ())


def cmd_metric_map(args: argparse.Namespace) -> int:
    if args.tags:
        rows = [[fmt.visible(tag), fmt.visible(core.metric_name(tag))] for tag in args.tags]
        print(fmt.table(["tag", "metric"], rows))
        return 0
    rows = [[fmt.visible(rule), fmt.visible(origin)] for rule, origin in core.metric_map_table()]
    print(fmt.table(["rule (PATTERN=NAME)", "origin"], rows))
    print(f"\nrule file: {fmt.visible(core.metric_map_file())}")
    return 0


COMMANDS = {"metric-map": cmd_metric_map}
