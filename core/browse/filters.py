"""Run table columns, sorting, and the filter language (`val_accuracy > 0.99 and dataset == mnist`), parsed by hand."""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import KeraslabError
from .summary import RunSummary


class FilterError(KeraslabError):
    """A filter expression or a sort column is invalid; the message is one line."""


@dataclass(frozen=True)
class Column:
    """One column of the runs table: key, header, value getter, right-aligned or not."""

    key: str
    header: str
    get: Callable[[RunSummary], Any]
    numeric: bool = False
    order: Callable[[RunSummary], tuple] | None = None  # its sort key, where the value alone is not


def _sweep_order(r: RunSummary) -> tuple:
    """A sweep's runs together, by point (``#10`` after ``#9``); runs of no sweep last."""
    if r.sweep is None:
        return _sort_key(None)
    return (1, r.sweep.lower(), -1 if r.sweep_point is None else r.sweep_point)


def _epochs(r: RunSummary) -> int | None:
    return r.epochs


COLUMNS: tuple[Column, ...] = (
    Column("name", "run", lambda r: r.name),
    Column("status", "status", lambda r: r.status),
    Column("dataset", "dataset", lambda r: r.dataset),
    Column("model", "model", lambda r: r.model),
    Column("params", "params", lambda r: r.params, True),
    Column("epochs", "epochs", _epochs, True),
    Column("best_val_acc", "best val acc", lambda r: r.best_val_accuracy, True),
    Column("test_acc", "test acc", lambda r: r.test_accuracy, True),
    Column("duration", "duration", lambda r: r.duration, True),
    Column("start", "start", lambda r: r.start_time, True),
    # the sweep's id (what `sweep == ID` compares), shown with the run's point: sw-261207-081500 #3
    Column("sweep", "sweep", lambda r: r.sweep, order=_sweep_order),
)
COLUMN_KEYS = tuple(c.key for c in COLUMNS)
_ALIASES = {
    "run": "name",
    "best_val_accuracy": "best_val_acc",
    "test_accuracy": "test_acc",
    "started": "start",
    "start_time": "start",
    "parameters": "params",
}
_EXTRA_FIELDS: dict[str, Callable[[RunSummary], Any]] = {
    "kind": lambda r: r.kind,
    "path": lambda r: str(r.path),
    "test_loss": lambda r: r.test_loss,
    "tags": lambda r: " ".join(r.tags),
    "tag": lambda r: " ".join(r.tags),
    "notes": lambda r: r.notes,
    "epochs_planned": lambda r: r.epochs_planned,
    "sweep_point": lambda r: r.sweep_point,
}
_MISSING = object()


def field_value(run: RunSummary, name: str) -> Any:
    """A run's value for a column, field, metric or hyperparameter name (a ``_MISSING`` sentinel if none).

    Metrics give their best value; ``val_loss.last`` / ``.first`` / ``.min`` / ``.max``
    pick another. ``hp.x`` (or ``hparams.x``) names a hyperparameter explicitly.
    """
    key = _ALIASES.get(name, name)
    for col in COLUMNS:
        if col.key == key:
            return col.get(run)
    if key in _EXTRA_FIELDS:
        return _EXTRA_FIELDS[key](run)
    for prefix in ("hp.", "hparams."):
        if key.startswith(prefix):
            return run.hparams.get(key[len(prefix) :], _MISSING)
    if key in run.hparams and key not in run.metrics:
        return run.hparams[key]
    if (metric := run.metric_key(key)) is not None:  # (val_acc finds val_accuracy, Loss/train finds loss)
        return run.metric(metric, "best")
    base, _, which = key.rpartition(".")
    if base and which in ("first", "last", "best", "min", "max", "count") and (metric := run.metric_key(base)) is not None:
        return run.metric(metric, which)
    return _MISSING  # (a hyperparameter is found above: one that is also a metric is the metric)


def known_field(runs: Iterable[RunSummary], name: str) -> bool:
    """Whether any run has a value for ``name``."""
    return any(field_value(r, name) is not _MISSING for r in runs)


# --------------------------------------------------------------------------- sorting


def _sort_key(value: Any) -> tuple:
    if value is None or value is _MISSING or (isinstance(value, float) and math.isnan(value)):
        return (2, 0, "")
    if isinstance(value, bool):
        return (0, float(value), "")
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    return (1, 0, str(value).lower())


def sort_runs(runs: Iterable[RunSummary], column: str, reverse: bool = False) -> list[RunSummary]:
    """Runs sorted by a column, metric or hyperparameter; runs without a value always come last."""
    runs = list(runs)
    if column not in COLUMN_KEYS and column not in _ALIASES and not known_field(runs, column):
        if runs:
            choices = ", ".join(COLUMN_KEYS)
            raise FilterError(
                f"unknown sort column {column!r} (use {choices}, a metric or a hyperparameter)"
            )
    col = next((c for c in COLUMNS if c.key == _ALIASES.get(column, column)), None)
    order = col.order if col is not None and col.order is not None else lambda r: _sort_key(field_value(r, column))
    present = [(r, order(r)) for r in runs]
    have = [p for p in present if p[1][0] != 2]
    missing = [r for r, key in present if key[0] == 2]
    have.sort(key=lambda p: (p[1], p[0].name), reverse=reverse)
    return [r for r, _ in have] + missing


# --------------------------------------------------------------------------- filter language

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>==|!=|<=|>=|=|<|>|~)
      | (?P<lp>\() | (?P<rp>\))
      | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<word>[^\s()=!<>~"']+)
      | (?P<bad>\S)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not"}


@dataclass
class _Tok:
    kind: str  # op, lp, rp, str, word, end
    text: str
    pos: int


def _tokenize(text: str) -> list[_Tok]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:  # only trailing blanks left
            break
        kind = m.lastgroup
        value = m.group(kind)
        start = m.start(kind)
        if kind == "bad":
            if value in "\"'":
                raise FilterError(f"unclosed quote at column {start + 1}")
            raise FilterError(f"unexpected {value!r} at column {start + 1}")
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append(_Tok(kind, value, start))
        pos = m.end()
    tokens.append(_Tok("end", "", len(text)))
    return tokens


class Expr:
    """A parsed filter: call ``matches(run)``; ``fields`` lists the names it compares."""

    fields: tuple[str, ...] = ()

    def matches(self, run: RunSummary) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass
class _All(Expr):
    def matches(self, run: RunSummary) -> bool:
        return True


@dataclass
class _Text(Expr):
    word: str

    def matches(self, run: RunSummary) -> bool:
        w = self.word.lower()
        hay = (run.name, run.status, run.dataset, run.model, run.kind, *run.tags)
        return any(w in str(h).lower() for h in hay if h)


@dataclass
class _Compare(Expr):
    name: str
    op: str
    value: str

    def __post_init__(self):
        self.fields = (self.name,)
        try:
            self.number: float | None = float(self.value)
        except ValueError:
            self.number = None

    def matches(self, run: RunSummary) -> bool:
        actual = field_value(run, self.name)
        op = self.op
        if actual is _MISSING or actual is None:
            return op == "!="
        if isinstance(actual, bool):
            actual = str(actual).lower()
        if self.number is not None and isinstance(actual, (int, float)):
            a, b = float(actual), self.number
            return {
                "==": a == b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b,
            }.get(op, False)  # fmt: skip
        a, b = str(actual).lower(), self.value.lower()
        if op == "~":
            return b in a
        if op in ("==", "!="):
            equal = fnmatch.fnmatchcase(a, b) if any(c in b for c in "*?[") else a == b
            return equal if op == "==" else not equal
        if self.number is not None:
            try:
                a_num = float(a)
            except ValueError:
                return False
            return {"<": a_num < self.number, "<=": a_num <= self.number,
                    ">": a_num > self.number, ">=": a_num >= self.number}[op]  # fmt: skip
        return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


@dataclass
class _Not(Expr):
    inner: Expr

    def __post_init__(self):
        self.fields = self.inner.fields

    def matches(self, run: RunSummary) -> bool:
        return not self.inner.matches(run)


@dataclass
class _Bool(Expr):
    op: str
    parts: list[Expr]

    def __post_init__(self):
        self.fields = tuple(f for p in self.parts for f in p.fields)

    def matches(self, run: RunSummary) -> bool:
        if self.op == "and":
            return all(p.matches(run) for p in self.parts)
        return any(p.matches(run) for p in self.parts)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def is_kw(self, tok: _Tok, word: str) -> bool:
        return tok.kind == "word" and tok.text.lower() == word

    def error(self, tok: _Tok, what: str) -> FilterError:
        where = "at the end" if tok.kind == "end" else f"at column {tok.pos + 1} ({tok.text!r})"
        return FilterError(f"{what} {where}")

    def parse(self) -> Expr:
        if self.peek().kind == "end":
            return _All()
        expr = self.parse_or()
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(tok, "unexpected ')'" if tok.kind == "rp" else "unexpected text")
        return expr

    def parse_or(self) -> Expr:
        parts = [self.parse_and()]
        while self.is_kw(self.peek(), "or"):
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else _Bool("or", parts)

    def parse_and(self) -> Expr:
        parts = [self.parse_not()]
        while True:
            tok = self.peek()
            if self.is_kw(tok, "and"):
                self.take()
                parts.append(self.parse_not())
            elif tok.kind in ("word", "str", "lp") and not self.is_kw(tok, "or"):
                parts.append(self.parse_not())  # words side by side: all must match
            else:
                break
        return parts[0] if len(parts) == 1 else _Bool("and", parts)

    def parse_not(self) -> Expr:
        if self.is_kw(self.peek(), "not"):
            self.take()
            return _Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Expr:
        tok = self.take()
        if tok.kind == "lp":
            inner = self.parse_or()
            close = self.take()
            if close.kind != "rp":
                raise self.error(close, "missing ')'")
            return inner
        if tok.kind == "op":
            raise self.error(tok, f"a field name must come before {tok.text!r}")
        if tok.kind in ("end", "rp"):
            raise self.error(tok, "expected a field, a word or '('")
        if tok.kind == "word" and tok.text.lower() in _KEYWORDS:
            raise self.error(tok, f"{tok.text!r} needs something before it")
        if self.peek().kind == "op":
            if tok.kind != "word":
                raise self.error(tok, "a quoted text cannot be compared; put the field name first")
            op = self.take()
            value = self.take()
            if value.kind not in ("word", "str") or (
                value.kind == "word" and value.text.lower() in _KEYWORDS
            ):
                raise self.error(value, f"expected a value after {op.text!r}")
            return _Compare(tok.text, "==" if op.text == "=" else op.text, value.text)
        return _Text(tok.text)


def parse_filter(text: str) -> Expr:
    """Parse a filter: bare words match name/status/dataset/model/tags; ``field OP value`` compares.

    Operators: == != < <= > >= (``=`` is ``==``; ``~`` means "contains"); ``*`` and ``?``
    in a value compared with ``==`` are wildcards; combine with and, or, not and
    parentheses. Raises FilterError with a one-line message for bad input. Never uses eval.
    """
    return _Parser(text or "").parse()


def filter_runs(runs: Iterable[RunSummary], text: str | Expr) -> list[RunSummary]:
    expr = parse_filter(text) if isinstance(text, str) else text
    return [r for r in runs if expr.matches(r)]


def unknown_fields(expr: Expr, runs: Iterable[RunSummary]) -> list[str]:
    """Names an expression compares that no run has (likely typos), for a gentle warning."""
    runs = list(runs)
    return [
        f
        for f in dict.fromkeys(expr.fields)
        if f not in _EXTRA_FIELDS and f not in _ALIASES and f not in COLUMN_KEYS
        and not known_field(runs, f)
    ]
