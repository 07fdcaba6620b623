"""Reading and writing run-directory files: untrusted JSON checked by type, atomic writes."""

from __future__ import annotations

import errno
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import RunStoreError
from ..safefile import read_bytes, unreadable

Warn = Callable[[str], None]


def no_warning(text: str) -> None:
    """A :data:`Warn` for readers with nowhere to show a warning (the file's content is still checked)."""

MAX_JSON_DEPTH = 64  # deeper values are refused: flattening or formatting them would recurse

_UMASK = os.umask(0)
os.umask(_UMASK)
_FILE_MODE = 0o666 & ~_UMASK  # mkstemp makes 0600 files; runs are shared like any other file


def read_file(path: str | os.PathLike, warn: Warn) -> bytes | None:
    """A file's bytes; None when it does not exist, or (with a warning) cannot be read or
    is no regular file (a FIFO is skipped, never waited on)."""
    try:
        return read_bytes(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        warn(unreadable(path, exc))
        return None


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON value nests lists and objects ``limit`` deep or more (checked a level
    at a time: each level's containers in one comprehension)."""
    level = [value] if isinstance(value, (dict, list)) else []
    for _ in range(limit):
        if not level:
            return False
        level = [c for item in level for c in (item.values() if isinstance(item, dict) else item)
                 if isinstance(c, (dict, list))]  # fmt: skip
    return bool(level)


def parse_json(
    data: bytes | str | None, path: str | os.PathLike, warn: Warn, want: type = dict, *, check_depth: bool = True
) -> Any:
    """The JSON value of a file's ``data`` when it is a ``want`` (dict or list); else, with
    a warning naming ``path``, an empty ``want``. Damaged, absurdly nested or mistyped
    content is a warning, never an exception. ``check_depth=False`` leaves the depth
    check (:func:`too_deep`) to the caller, for big files whose parts are checked one by one."""
    if not data:
        return want()
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):  # (UnicodeDecodeError is a ValueError)
        warn(f"{path}: damaged JSON, ignored")
        return want()
    if not isinstance(value, want):
        warn(f"{path}: not a JSON {'object' if want is dict else 'array'}, ignored")
        return want()
    if check_depth and too_deep(value):
        warn(f"{path}: nested too deeply, ignored")
        return want()
    return value


def read_json(path: str | os.PathLike, warn: Warn, want: type = dict) -> Any:
    """:func:`parse_json` of a file (an empty ``want`` when the file is absent)."""
    return parse_json(read_file(path, warn), path, warn, want)


def check_fields(data: dict, types: dict[str, tuple[type, ...]], path: str | os.PathLike, warn: Warn) -> dict:
    """``data`` without the fields whose value is not of the types ``types`` names for them
    (None always passes; a bool is not a number); each dropped field is a warning."""
    out = dict(data)
    for key, allowed in types.items():
        value = out.get(key)
        if value is None:
            continue
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if ok and isinstance(value, float) and not math.isfinite(value):
            ok = False
        if not ok:
            warn(f"{path}: {key!r} is not {' or '.join(t.__name__ for t in allowed)}, ignored")
            del out[key]
    return out


def values_typed(values: list, allowed: tuple[type, ...]) -> bool:
    """Whether :func:`check_fields` would keep each of ``values`` (JSON values: exact types)
    as a field of the types ``allowed``: one pass over all of them, for many files' fields at once."""
    kinds = {type(v) for v in values}
    kinds.discard(type(None))
    if not kinds <= set(allowed):  # (a bool is no int here unless allowed names it)
        return False
    return float not in kinds or all(math.isfinite(v) for v in values if type(v) is float)


def fields_typed(rows: list[dict], types: dict[str, tuple[type, ...]]) -> bool:
    """Whether :func:`check_fields` would keep every field of every one of ``rows`` (JSON objects)."""
    return all(values_typed([row.get(key) for row in rows], allowed) for key, allowed in types.items())


def clean_json(value: Any) -> Any:
    """A value made JSON-safe: numpy scalars as Python numbers, NaN and infinities as null."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and callable(value.item):
        return clean_json(value.item())
    return value


def write_text_atomic(path: str | os.PathLike, text: str, *, fsync: bool = False, mode: int | None = None) -> None:
    """Write a file so that readers see either the old or the new one, never a torn one.

    Args:
        fsync: flush it to the disk before it replaces the old one.
        mode: its permission bits (default: as a plain new file under the umask).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, _FILE_MODE if mode is None else mode)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        _newer_than(tmp, path)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_json_atomic(path: str | os.PathLike, data: Any, *, pad_to: int = 0) -> None:
    """:func:`write_text_atomic` of ``data`` as indented JSON (:func:`clean_json` first), synced.

    Args:
        pad_to: pad the file with spaces to at least this many bytes (JSON readers skip
            trailing whitespace), so that :func:`overwrite_in_place` finds room in it later.
    """
    text = json.dumps(clean_json(data), indent=2)
    text += " " * (pad_to - len(text.encode("utf-8")) - 1) + "\n"
    write_text_atomic(path, text, fsync=True)


def _newer_than(new: str | int, old: str | os.PathLike | os.stat_result) -> None:
    """Give ``new`` (a path or descriptor) an mtime after ``old``'s (a path or its stat), when
    the clock's tick left them equal: readers (the runs browser, its summary cache) tell a
    file changed by its size and mtime, and a rewrite within one tick would look unchanged."""
    try:
        before = old if isinstance(old, os.stat_result) else os.stat(old)
        now = os.stat(new)
        if now.st_mtime_ns <= before.st_mtime_ns:
            os.utime(new, ns=(now.st_atime_ns, before.st_mtime_ns + 1))
    except (OSError, NotImplementedError):
        pass  # (no old file, or a file system that keeps no such times: nothing to tell apart)


DISK_FULL = (errno.ENOSPC, errno.EDQUOT)  # errnos of a full disk or an exhausted quota


def disk_full(exc: BaseException) -> bool:
    """Whether an error is a full disk or an exhausted quota (or was raised from one)."""
    while exc is not None:
        if isinstance(exc, OSError) and exc.errno in DISK_FULL:
            return True
        exc = exc.__cause__
    return False


def overwrite_in_place(path: str | os.PathLike, data: Any) -> bool:
    """Write ``data`` as compact JSON over an existing file's bytes, padded to its size: a
    write that needs no new disk blocks, for when :func:`write_json_atomic` finds the disk
    full. Not atomic (a reader may catch it half written); synced.

    Returns:
        False when the file is absent, not a regular file, or too small for ``data``.
    """
    raw = json.dumps(clean_json(data), separators=(",", ":")).encode("utf-8")
    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or len(raw) + 1 > info.st_size:
            return False
        raw += b" " * (info.st_size - len(raw) - 1) + b"\n"
        done = 0
        while done < len(raw):
            done += os.pwrite(fd, raw[done:], done)
        _newer_than(fd, info)
        os.fsync(fd)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


@contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turns an OSError while writing ``path`` into a one-line :class:`RunStoreError` naming it
    (a full disk reads "cannot write PATH: No space left on device")."""
    try:
        yield
    except OSError as exc:
        raise RunStoreError(f"cannot write {path}: {exc.strerror or exc}") from exc
