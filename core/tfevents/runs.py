"""Run directories: their event files found, read and merged (RunEventReader, read_run_scalars, read_runs_scalars)."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .. import hooks
from ..errors import RunStoreError
from .decode import ScalarSeries
from .framing import is_event_file
from .reader import EventFileReader, read_together

__all__ = ["RunEventReader", "RunScalars", "merge_order", "read_run_scalars", "read_runs_scalars"]


@dataclass(slots=True)
class RunScalars:
    """Everything read from one run directory."""

    scalars: dict[str, ScalarSeries]
    texts: dict[str, list[tuple[int, str]]]
    warnings: list[str]
    file_names: list[str]  # the event files read, in the order they were merged

    @property
    def files(self) -> list[Path]:
        return [Path(p) for p in self.file_names]


class RunEventReader:
    """Incremental reader of every event file under a run directory.

    Tags are prefixed with the event file's directory relative to the run
    ("train/epoch_loss"; a file directly in the run gives the bare tag); files of one
    directory are merged in file-name order. Call ``refresh()`` again to pick up
    appended data and new files, then ``result()``.
    """

    def __init__(self, run_dir: str | Path):
        self._dir = os.path.normpath(run_dir)  # (as Path() would show it in warnings)
        self._readers: dict[str, EventFileReader] = {}  # "train/events.out..." -> reader
        self._plugins: dict[str, dict[str, str]] = {}  # per sub-directory prefix
        self._cache: RunScalars | None = None
        self._warnings: list[str] = []

    @property
    def run_dir(self) -> Path:
        return Path(self._dir)

    def _find_files(self) -> list[str]:
        """Relative paths ("train/events.out.tfevents...") of the run's event files."""
        found: list[str] = []
        stack = [("", self._dir)]
        while stack:
            rel, path = stack.pop()
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        name = entry.name
                        if is_event_file(name):
                            if entry.is_file() or _not_a_directory(entry):
                                found.append(rel + name)  # (its reader warns of a FIFO and skips it)
                        elif entry.is_dir(follow_symlinks=False):
                            stack.append((rel + name + "/", entry.path))
            except OSError as exc:
                if not rel:
                    raise RunStoreError(f"cannot read run directory {self.run_dir}: {exc}") from exc
                msg = f"{path}: cannot list: {exc}"
                if msg not in self._warnings:
                    self._warnings.append(msg)
        return found

    def refresh(self) -> bool:
        """Read new files and appended bytes; return True when anything new was read."""
        changed = self._add_files()
        for reader in self._readers.values():
            nwarn = len(reader.warnings)
            reader.read()
            if reader.last_read_bytes or len(reader.warnings) != nwarn:
                changed = True
        if changed:
            self._cache = None
        return changed

    def _add_files(self) -> bool:
        """Start a reader for each event file not seen before; True if there were any."""
        changed = False
        # in the order result() merges them: files of one directory share what they tell
        # of each tag (TF1 logs give a tag's metadata only once), so reading order matters
        for rel in sorted(self._find_files(), key=merge_order):
            if rel not in self._readers:
                prefix = rel[: rel.rfind("/") + 1]
                self._readers[rel] = EventFileReader(
                    os.path.join(self._dir, rel), plugins=self._plugins.setdefault(prefix, {})
                )
                changed = True
        return changed

    def result(self, *, share: bool = False) -> RunScalars:
        """The merged scalars/texts/warnings of everything read so far.

        The series are copies, unaffected by later refreshes; ``share=True`` skips
        copying a tag's series when a single file holds it (for a reader about to be
        dropped, like :func:`read_run_scalars`'s).
        """
        if self._cache is not None and not share:
            return self._cache
        scalars: dict[str, ScalarSeries] = {}
        texts: dict[str, list[tuple[int, str]]] = {}
        warnings: list[str] = list(self._warnings)

        rels = sorted(self._readers, key=merge_order)
        shared: set[str] = set()  # keys whose series is still a reader's own object
        for rel in rels:
            reader = self._readers[rel]
            prefix = rel[: rel.rfind("/") + 1]
            for tag, s in reader.scalars.items():
                key = prefix + tag
                acc = scalars.get(key)
                if acc is None:
                    if share:
                        scalars[key] = s
                        shared.add(key)
                    else:
                        scalars[key] = s.copy()
                else:
                    if key in shared:  # a second file holds this tag: never extend a reader's
                        acc = scalars[key] = acc.copy()
                        shared.discard(key)
                    acc.extend(s)
            for tag, t in reader.texts.items():
                texts.setdefault(prefix + tag, []).extend(t)
            warnings.extend(reader.warnings)
        result = RunScalars(scalars, texts, warnings, [os.path.join(self._dir, r) for r in rels])
        if not share:
            self._cache = result
        return result


def merge_order(rel: str) -> tuple[str, str]:
    """Files of a run: by directory, then by name within one."""
    i = rel.rfind("/") + 1
    return rel[:i], rel[i:]


def read_run_scalars(run_dir: str | Path) -> RunScalars:
    """Read every scalar (and text) of a run directory; see :class:`RunEventReader`."""
    reader = RunEventReader(run_dir)
    reader.refresh()
    return reader.result(share=True)


def read_runs_scalars(run_dirs) -> list[RunScalars]:
    """:func:`read_run_scalars` of many runs at once, the same results in the same order.

    Runs hold small files (a few hundred records each): numpy passes over a block of
    them at a time beat a record-by-record loop per file (see :mod:`.bulk`). A run
    directory that cannot be read raises RunStoreError, as read_run_scalars does.
    """
    with hooks.bulk_read():
        readers = [RunEventReader(d) for d in run_dirs]
        for r in readers:
            r._add_files()
        read_together([f for r in readers for f in r._readers.values()])
        return [r.result(share=True) for r in readers]


def _not_a_directory(entry: os.DirEntry) -> bool:
    """Whether an entry that is no regular file is still something (a FIFO, a socket, a
    device: not a directory nor a dangling link), for its reader to report."""
    try:
        return not stat.S_ISDIR(entry.stat().st_mode)
    except OSError:
        return False
