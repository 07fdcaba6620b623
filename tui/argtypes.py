"""argparse value types shared by the CLI's commands: one-line reasons for bad numbers."""

from __future__ import annotations

import argparse


class CliError(Exception):
    """A bad command line: printed as one line, exit status 2."""


def int_at_least(low: int):
    """An argparse type: a whole number >= low, with a one-line reason otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} must be at least {low}")
        return value

    return parse


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def number(text: str) -> float:
    """An argparse type: a float, with a one-line reason otherwise."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
