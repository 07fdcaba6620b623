"""The metric map: how every framework's TensorBoard tags become Keras-style metric names.

A rule is ``PATTERN=NAME``. In PATTERN, ``{m}`` stands for the metric's own name (the same
text wherever it is written) and ``*`` for any other text, neither crossing a ``/``; NAME
may use ``{m}``. The first rule that
matches a whole tag names it; a tag no rule matches keeps its own name. The user's rules
(``--metric-map``, then the metric-map file) come before the built-in :data:`BUILTIN_RULES`.
``{m}`` is made Keras-style on the way: ``acc``/``Accuracy`` -> ``accuracy``, ``Loss`` -> ``loss``.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

from ..errors import ConfigError
from ..safefile import read_text

# (rule, who writes such tags): the documented table, in the order rules are tried
BUILTIN_TABLE: tuple[tuple[str, str], ...] = (
    ("train/epoch_{m}={m}", "Keras' TensorBoard callback, train/ sub-run"),
    ("validation/epoch_{m}=val_{m}", "Keras' TensorBoard callback, validation/ sub-run"),
    ("train/{m}={m}", "scripts logging train/loss"),
    ("validation/{m}=val_{m}", "scripts logging validation/loss"),
    ("val/{m}=val_{m}", "scripts logging val/loss"),
    ("valid/{m}=val_{m}", "scripts logging valid/loss"),
    ("test/{m}=test_{m}", "scripts logging test/loss"),
    ("{m}/train={m}", "PyTorch tutorials: Loss/train"),
    ("{m}/val=val_{m}", "PyTorch tutorials: Accuracy/val"),
    ("{m}/validation=val_{m}", "PyTorch: Loss/validation"),
    ("{m}/test=test_{m}", "PyTorch: Accuracy/test"),
    ("{m}/train/{m}={m}", "tensorboardX add_scalars('loss', {'train': ...})"),
    ("{m}/val/{m}=val_{m}", "tensorboardX add_scalars('loss', {'val': ...})"),
    ("{m}_train/{m}={m}", "PyTorch add_scalars('loss', {'train': ...})"),
    ("{m}_val/{m}=val_{m}", "PyTorch add_scalars('loss', {'val': ...})"),
    ("loss_1=loss", "TensorFlow 1 (a summary name used twice)"),
    ("acc_1=accuracy", "TensorFlow 1"),
    ("accuracy_1=accuracy", "TensorFlow 1"),
    ("val_loss_1=val_loss", "TensorFlow 1"),
    ("val_acc_1=val_accuracy", "TensorFlow 1"),
    ("train_{m}_epoch={m}", "Lightning, self.log(on_step=True, on_epoch=True)"),
    ("train_{m}_step=batch_{m}", "Lightning, self.log(on_step=True, on_epoch=True)"),
    ("val_{m}_epoch=val_{m}", "Lightning"),
    ("train_{m}={m}", "Lightning: train_loss"),
    ("val_{m}=val_{m}", "Lightning and Keras: val_acc -> val_accuracy"),
    ("valid_{m}=val_{m}", "Lightning: valid_loss"),
    ("test_{m}=test_{m}", "Lightning: test_acc -> test_accuracy"),
    ("{m}={m}", "any one-word tag: acc -> accuracy, Loss -> loss"),
)
BUILTIN_RULES: tuple[str, ...] = tuple(rule for rule, _ in BUILTIN_TABLE)
MAP_FILE_NAME = "metric-map.txt"
# a tag naming the epoch at each step (Lightning's "epoch"): the run's epochs come from its values
EPOCH_TAG = "epoch"

_SYNONYMS = {"acc": "accuracy", "accuracy": "accuracy", "loss": "loss"}
_user_rules: tuple[str, ...] = ()
_file_rules: tuple[str, ...] | None = None  # read on first use


def map_file() -> Path:
    """``$XDG_CONFIG_HOME/keraslab/metric-map.txt`` (default ``~/.config/keraslab/metric-map.txt``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "keraslab" / MAP_FILE_NAME


def parse_rule(text: str) -> str:
    """One ``PATTERN=NAME`` rule, stripped and checked (ConfigError, one line, when it is not one)."""
    pattern, sep, name = (part.strip() for part in text.partition("="))
    if not sep or not pattern or not name:
        raise ConfigError(f"metric map rule {text!r} is not PATTERN=NAME (e.g. 'my/acc=val_accuracy')")
    if "{m}" in name and "{m}" not in pattern:
        raise ConfigError(f"metric map rule {text!r}: {{m}} in the name needs {{m}} in the pattern")
    if any(c in "{}" for c in pattern.replace("{m}", "") + name.replace("{m}", "")):
        raise ConfigError(f"metric map rule {text!r}: only {{m}} may be written in braces")
    return f"{pattern}={name}"


def parse_map_text(text: str, source: str) -> tuple[str, ...]:
    """The rules of a metric-map file: one ``PATTERN=NAME`` a line; blank lines and ``#`` comments skipped."""
    rules = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if line:
            try:
                rules.append(parse_rule(line))
            except ConfigError as exc:
                raise ConfigError(f"{source}:{number}: {exc}") from None
    return tuple(rules)


def set_metric_map(rules: Iterable[str] = ()) -> None:
    """Use ``rules`` (``PATTERN=NAME`` each, e.g. from ``--metric-map``) before the file's and the built-in ones."""
    global _user_rules
    _user_rules = tuple(parse_rule(r) for r in rules)
    _rules_from_file()  # (a bad file says so now, as a ConfigError, not in the middle of a scan)


def _rules_from_file() -> tuple[str, ...]:
    """The metric-map file's rules, read once per process."""
    global _file_rules
    if _file_rules is None:
        path = map_file()
        try:
            text = read_text(path)
        except FileNotFoundError:
            text = ""
        except OSError as exc:
            raise ConfigError(f"metric map file unreadable: {exc.strerror or exc} ({path})") from None
        _file_rules = parse_map_text(text, str(path))
    return _file_rules


def active_rules() -> tuple[str, ...]:
    """Every rule in the order they are tried: ``--metric-map``'s, the file's, the built-in ones."""
    return (*_user_rules, *_rules_from_file(), *BUILTIN_RULES)


def digest() -> str:
    """A short digest of the active rules: names cached under other rules are stale."""
    return hashlib.sha1("\n".join(active_rules()).encode()).hexdigest()[:12]


def _regex(pattern: str) -> re.Pattern:
    """``{m}`` captures the name at its first place and must match the same text at any other."""
    first, *rest = (re.escape(p).replace(r"\*", "[^/]+") for p in pattern.split("{m}"))
    return re.compile(first + ("(?P<m>[^/]+)" + "(?P=m)".join(rest) if rest else ""))


@functools.lru_cache(maxsize=4)
def _compiled(rules: tuple[str, ...]) -> tuple[tuple[re.Pattern, str], ...]:
    out = []
    for rule in rules:
        pattern, _, name = rule.partition("=")
        out.append((_regex(pattern), name))
    return tuple(out)


def keras_word(m: str) -> str:
    """Keras' spelling of a metric word: ``acc``/``Accuracy`` -> ``accuracy``, ``Loss`` -> ``loss``."""
    return _SYNONYMS.get(m.lower(), m)


@functools.lru_cache(maxsize=65536)
def _map(tag: str, rules: tuple[str, ...]) -> str:
    for regex, name in _compiled(rules):
        match = regex.fullmatch(tag)
        if match:
            return name.replace("{m}", keras_word(match["m"])) if "m" in regex.groupindex else name
    return tag


def mapped_name(tag: str) -> str:
    """The Keras-style name the active rules give ``tag`` (the tag itself when none matches)."""
    return _map(tag, active_rules())


def describe_table() -> list[tuple[str, str]]:
    """``(rule, origin)`` of every active rule, for ``--help``-like listings."""
    user = [(r, "--metric-map") for r in _user_rules] + [(r, str(map_file())) for r in _rules_from_file()]
    return user + list(BUILTIN_TABLE)
