"""The summary cache's keraslab runs as columns: one JSON list per field, checked a column at a time."""

from __future__ import annotations

from typing import Any

from ..rundir.fileio import MAX_JSON_DEPTH, too_deep
from ..rundir.layout import KERASLAB
from ..rundir.reader import all_checked
from .keraslab_state import KeraslabRunState
from .runstate import NUMBER_OR_NONE, STAT_VALUES, Checked

FILES = KeraslabRunState.FILES
SIG_VALUES = 2 * len(FILES)  # a run's "sigs" values: size and mtime_ns of each file
POS_VALUES = 4  # a run's "pos" values: metrics offset, epochs, metrics head's n and crc
ABSENT, UNSET = -1, -2  # a signature's size: no file there / never stat'ed (not in "sigs")
_UNSEEN = object()
LISTS = ("rel", "sigs", "pos", "keys", "stats", "config", "status", "results", "warnings", "tags", "notes")
_FLAT = tuple(name in ("sigs", "pos", "stats") for name in LISTS)  # columns of several values a run
_STR, _LIST, _DICT, _INT = frozenset((str,)), frozenset((list,)), frozenset((dict,)), frozenset((int,))


def _row(rel: str, entry: dict) -> tuple:
    """One run's values for the columns (KeyError/TypeError/ValueError: not a keraslab entry
    as :meth:`KeraslabRunState.to_cache` makes it; the cache then keeps it whole)."""
    if entry["kind"] != KERASLAB or type(rel) is not str:
        raise ValueError("not a keraslab entry")
    sigs: list[int] = []
    for name in FILES:
        sig = entry["sigs"].get(name, _UNSEEN)
        sigs += [UNSET, 0] if sig is _UNSEEN else [ABSENT, 0] if sig is None else sig
    head = entry["head"] or [ABSENT, 0]
    stats = entry["stats"]
    flat = [v for row in stats.values() for v in row]
    if len(sigs) != SIG_VALUES or len(head) != 2 or len(flat) != STAT_VALUES * len(stats):
        raise ValueError("not a keraslab entry")
    return (rel, sigs, [entry["offset"], entry["epochs"], *head], list(stats), flat, entry["config"],
            entry["status"], entry["results"], entry["warnings"], entry["tags"], entry["notes"])  # fmt: skip


def to_columns(entries: dict[str, Any], block: int) -> tuple[list[dict[str, list]], dict[str, Any]]:
    """(the keraslab runs of ``entries`` as blocks of columns, ``block`` runs each; the other
    entries as they are). Only :class:`Checked` entries go into columns: an entry of a
    hand-made cache is kept whole, so that a bad one is refused alone."""
    rows, rest = [], {}
    for rel, entry in entries.items():
        try:
            if type(entry) is not Checked:
                raise TypeError("not checked")
            rows.append(_row(rel, entry))
        except (KeyError, TypeError, ValueError, AttributeError):
            rest[rel] = entry
    return [_columns(rows[i : i + block]) for i in range(0, len(rows), block)], rest


def _columns(rows: list[tuple]) -> dict[str, list]:
    cols: dict[str, list] = {name: [] for name in LISTS}
    lists = [cols[name] for name in LISTS]
    for row in rows:
        for col, value, flat in zip(lists, row, _FLAT, strict=True):
            if flat:
                col += value
            else:
                col.append(value)
    return cols


def _types(values) -> set[type]:
    return {type(v) for v in values}


def from_columns(cols: Any) -> list[tuple[str, Checked]] | None:
    """The entries :func:`to_columns` wrote, each column checked once (types, lengths,
    ranges, depths, and the run files' fields as check_config/status/results check them);
    None when anything is not so: the whole block is refused (the cache wrote it checked,
    so a failure means a spoilt file)."""
    if type(cols) is not dict or cols.keys() != set(LISTS) or not _types(cols.values()) <= _LIST:
        return None
    rel, sigs, pos, keys, stats, config, status, results, warnings, tags, notes = (cols[name] for name in LISTS)
    n = len(rel)
    if not (len(sigs) == SIG_VALUES * n and len(pos) == POS_VALUES * n
            and all(len(col) == n for col in (keys, config, status, results, warnings, tags, notes))):  # fmt: skip
        return None
    if not (_types(rel) <= _STR and _types(notes) <= _STR and _types(sigs) <= _INT and _types(pos) <= _INT):
        return None
    if n and (min(sigs[0::2]) < UNSET or min(sigs[1::2]) < 0 or min(pos[0::4]) < 0 or min(pos[1::4]) < 0
              or min(pos[2::4]) < ABSENT or min(pos[3::4]) < 0):  # fmt: skip
        return None
    if not (_types(keys) <= _LIST and _types(warnings) <= _LIST and _types(tags) <= _LIST):
        return None
    names = [k for row in keys for k in row]
    words = [w for col in (warnings, tags) for row in col for w in row]
    if not (_types(names) <= _STR and _types(words) <= _STR):
        return None
    if len(stats) != STAT_VALUES * len(names) or not _types(stats) <= NUMBER_OR_NONE:
        return None
    if not _types(stats[4::STAT_VALUES]) <= _INT:  # (the count)
        return None
    if not (_types(config) <= _DICT and _types(status) <= _DICT and _types(results) <= _DICT):
        return None
    if too_deep([config, status, results], MAX_JSON_DEPTH + 2) or not all_checked(config, status, results):
        return None
    return list(_entries(cols, n))


def _entries(cols: dict[str, list], n: int):
    """The columns' runs as (rel, entry) in :meth:`KeraslabRunState.to_cache`'s form."""
    sigs, pos, stats = cols["sigs"], cols["pos"], cols["stats"]
    at = 0
    for i, (rel, keys, config, status, results, warnings, tags, notes) in enumerate(
        zip(*(cols[name] for name in ("rel", "keys", "config", "status", "results", "warnings", "tags", "notes")), strict=True)
    ):
        s = sigs[i * SIG_VALUES : (i + 1) * SIG_VALUES]
        offset, epochs, head_n, head_crc = pos[i * POS_VALUES : (i + 1) * POS_VALUES]
        packed = {}
        for key in keys:
            packed[key] = stats[at : at + STAT_VALUES]
            at += STAT_VALUES
        yield rel, Checked(
            kind=KERASLAB,
            sigs={f: None if size == ABSENT else [size, mtime]
                  for f, size, mtime in zip(FILES, s[0::2], s[1::2], strict=True) if size != UNSET},  # fmt: skip
            config=config, status=status, results=results, offset=offset, epochs=epochs,
            head=None if head_n == ABSENT else [head_n, head_crc],
            stats=packed, warnings=warnings, tags=tags, notes=notes,
        )
