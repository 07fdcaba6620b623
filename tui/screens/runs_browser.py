"""The runs browser screen: a sortable, filterable table of runs with marks, compare and live follow."""

from __future__ import annotations

import functools
import gc
import itertools
import math
import re
import threading
import time
from pathlib import Path

from keraslab.core import (
    COLUMNS,
    FilterError,
    RunSummary,
    RunWatcher,
    filter_runs,
    find_parent,
    hparam_diff,
    lineage_tree,
    parse_filter,
    sort_runs,
    unknown_fields,
)
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ..fmt import hp_text, run_cells, visible
from ..lineage_text import lineage_cells, tree_prefix
from ..policy import gc_paused
from ..widgets.footer import KeyFooter
from ..widgets.line_table import LineTable

STATUS_STYLE = {
    "running": "bold green",
    "active": "green",
    "completed": "",
    "done": "",
    "stopped": "yellow",
    "interrupted": "bold yellow",
    "failed": "bold red",
}
MARK = "\u25cf "
SAVE_EVERY = 30.0  # seconds between the summary cache's saves while following (a save writes every run)
PRELOAD_INLINE = 1 << 20  # bytes of summary cache read before the first paint; a bigger one is read by the scanner
SAFE_ID = re.compile(r"[A-Za-z0-9._-]+")  # a sweep id as keraslab makes them: a filter value as it is
PARTIAL_ROWS_PER_S = 5000  # a first scan refreshes the table once per this many runs shown a second, at most
FIRST_ROWS = 200  # rows of a refreshed table added at once (with those the cursor and the view need)
FILL_STEP_S = 0.08  # seconds the UI spends adding the other rows before it handles keys and paints again
FILL_BATCH = 250  # rows added between checks of that time
SCAN_FILL_SHARE = 0.2  # of the time, at most, spent filling the table while a first scan still reads runs


def _keep_alive_objects() -> None:
    """Leave the objects alive now out of the garbage collector's walks: the runs' states and
    the table's rows live as long as the browser, and a full collection over 10,000 runs'
    objects would pause the UI for most of a second. (Only garbage cycles made before stay
    uncollected: states, summaries and cells hold none.)"""
    gc.freeze()


class RunsScanned(Message):
    """The scanner thread's latest view of the runs; a newer one replaces an unhandled older one."""

    def __init__(self, summaries: list[RunSummary], changed: set[str], scans: int, partial: bool = False):
        super().__init__()
        self.summaries = summaries
        self.changed = changed
        self.scans = scans
        self.partial = partial  # the runs read so far by a scan still going on

    def can_replace(self, message: Message) -> bool:
        if isinstance(message, RunsScanned):
            self.changed |= message.changed  # keep what the dropped update knew
            self.partial = self.partial and message.partial
            return True
        return False


class RunsBrowserScreen(Screen):
    """Every run under the given log directories; pushed by the app or by `keraslab browse`."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("space", "toggle_mark", "Mark"),
        Binding("c", "compare", "Compare"),
        Binding("w", "workspace", "Workspace", show=False),  # (in F1 help: the footer is full)
        Binding("s", "next_sort", "Sort"),
        Binding("r", "reverse_sort", "Reverse"),
        Binding("h", "toggle_hparams", "HParams"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("t", "toggle_tree", "Tree", show=False),  # (in F1's help: the footer keeps esc and F1 whole)
        Binding("e", "edit_run", "Edit as new"),
        Binding("E", "ensemble", "Ensemble", show=False),  # (shift+e; in the help: the footer is full)
        Binding("S", "open_sweep", "Sweep", show=False),  # (shift+s; in the help: the footer is full)
        Binding("g", "filter_sweep", "Sweep's runs", show=False),  # (in the help: the footer is full)
        Binding("ctrl+r", "rescan", "Rescan", show=False),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        logdirs,
        *,
        follow: bool = True,
        interval: float = 1.0,
        use_cache: bool = True,
        name: str | None = None,
        id: str | None = None,  # noqa: A002
    ):
        super().__init__(name=name, id=id)
        if isinstance(logdirs, (str, Path)):
            logdirs = [logdirs]
        self.logdirs = [Path(p) for p in logdirs]
        self.follow = follow
        self.interval = interval
        self.use_cache = use_cache
        self.summaries: list[RunSummary] = []
        self.shown: list[RunSummary] = []
        self.marked: set[str] = set()
        self._rows: dict[str, tuple] = {}  # run path -> (summary, what its cells show, cells)
        self._rows_before: dict[str, tuple] = {}  # (the last refresh's, reused by _cells)
        self.sort_key: str | None = None
        self.sort_reverse = False
        self.show_hparams = False
        self.tree_view = False  # runs as a tree by parent, with each one's change (t)
        self._tree: dict[str, tuple] = {}  # path -> (tree prefix, change, vs parent) while in the tree view
        self.filter_text = ""
        self.filter_error = ""
        self.scans = 0
        self.scanning = False  # the table shows a first scan's runs while it goes on
        self._columns_hp: list[str] = []
        self._table_keys: list[str] = []  # the rows the table has or is being filled with
        self._table_runs: list[RunSummary] = []  # (their summaries)
        self._fills = 0  # refreshes started: a pending fill of an older one stops
        self._columns_tree = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._painted = threading.Event()  # the screen was drawn once

    # -- layout
    def compose(self) -> ComposeResult:
        yield Static(Text(self._title()), id="browser-title")
        yield Input(
            placeholder="filter: words, or e.g. val_accuracy > 0.99 and dataset == mnist  (/ to focus)",
            id="runs-filter",
        )
        yield LineTable(id="runs-table")
        yield Static("scanning ...", id="runs-status")
        yield KeyFooter()

    def _title(self) -> str:
        return "Runs  " + "  ".join(visible(p) for p in self.logdirs)

    def on_mount(self) -> None:
        self.query_one(LineTable).replace_rows([], [], self._columns([]))  # the header at once
        self.query_one(LineTable).focus()
        watcher = RunWatcher(self.logdirs, use_cache=self.use_cache)
        if watcher.cache_bytes() <= PRELOAD_INLINE and watcher.preload():
            # the cached table in the first paint; the scanner checks it
            self.summaries = watcher.summaries()
            self._refresh_table()
        self.call_after_refresh(self._painted.set)
        self._scanner(watcher)

    def on_unmount(self) -> None:
        self._stop.set()
        self._wake.set()
        self._painted.set()

    # -- scanning (thread worker)
    @work(thread=True, exclusive=True, group="runs-scan")
    def _scanner(self, watcher: RunWatcher) -> None:
        worker = get_current_worker()
        self._painted.wait(2.0)  # (scanning meanwhile would slow the first painting down)
        if not self.shown and watcher.preload():  # a big cache: its table as saved, then the scan checks it
            _keep_alive_objects()
            self._painted.clear()
            self.post_message(RunsScanned(watcher.summaries(), set(), 0, partial=True))
            self._painted.wait(5.0)  # (not while the UI fills the table: both would take longer)
        first = True
        scans = 0
        shown_at = -math.inf
        while not worker.is_cancelled and not self._stop.is_set():
            if first or self.follow or self._wake.is_set():
                self._wake.clear()

                def progress(watcher=watcher, scans=scans) -> None:  # a first scan: rows as they come
                    nonlocal shown_at
                    # each refresh redraws every row: fewer of them the more runs there are
                    if time.monotonic() - shown_at >= len(watcher.states) / PARTIAL_ROWS_PER_S:
                        shown_at = time.monotonic()
                        _keep_alive_objects()
                        self.post_message(RunsScanned(watcher.summaries(), set(), scans, partial=True))

                changed = watcher.scan(progress if first else None, save=False)
                if changed:
                    _keep_alive_objects()
                scans += 1
                if changed or first:
                    self.post_message(
                        RunsScanned(watcher.summaries(), {str(p) for p in changed}, scans)
                    )
                else:
                    self.post_message(RunsScanned(watcher.summaries(), set(), scans))
                watcher.save_cache(at_most_every=SAVE_EVERY)  # (once the table has its runs)
                first = False
            self._wake.wait(self.interval)
        watcher.save_cache()

    def on_runs_scanned(self, message: RunsScanned) -> None:
        self.summaries = message.summaries
        self.scans = message.scans
        self.scanning = message.partial
        if message.changed or message.partial or not self.shown:
            self._refresh_table()
            if message.scans == 0:  # (the cache's table: the scanner waits for it to be drawn)
                self.call_after_refresh(self._painted.set)
        else:
            self._update_status()

    # -- table
    @staticmethod
    def _columns(hp_keys: list[str], tree: bool = False) -> list[tuple[str, str, str]]:
        """Standard columns plus one per hyperparameter that differs between the shown runs
        (and, in the tree view, each run's change and metric against its parent)."""
        lineage = [("change", "tree.change", "left"), ("vs parent", "tree.vs", "left")] if tree else []
        return [(c.header, c.key, "right" if c.numeric else "left") for c in COLUMNS] + [
            (visible(key), f"hp.{key}", "left") for key in hp_keys
        ] + lineage

    def _refresh_table(self) -> None:
        table = self.query_one(LineTable)
        self._rows_before, self._rows = self._rows, {}
        runs = self.summaries
        self.filter_error = ""
        if self.filter_text.strip():
            try:
                expr = parse_filter(self.filter_text)
                runs = filter_runs(runs, expr)
                missing = unknown_fields(expr, self.summaries)
                if missing:
                    self.filter_error = f"no run has {', '.join(repr(m) for m in missing)}"
            except FilterError as exc:
                self.filter_error = f"filter: {exc}"
        if self.sort_key:
            try:
                runs = sort_runs(runs, self.sort_key, self.sort_reverse)
            except FilterError as exc:
                self.filter_error = str(exc)
        elif self.sort_reverse:
            runs = list(reversed(runs))
        self._tree = {}
        if self.tree_view:
            rows = lineage_tree(runs)
            runs = [row.run for row in rows]
            self._tree = {str(row.run.path): (tree_prefix(row), *lineage_cells(row)) for row in rows}
        self.shown = runs
        hp_keys = [k for k, _ in hparam_diff(runs)] if self.show_hparams else []
        columns = None
        if (hp_keys, self.tree_view) != (self._columns_hp, self._columns_tree):
            columns, self._columns_hp = self._columns(hp_keys, self.tree_view), hp_keys
            self._columns_tree = self.tree_view
        keys = [str(r.path) for r in runs]
        if columns is None and self._unchanged(runs, keys, hp_keys):
            self._rows = self._rows_before  # (a rescan that changed nothing shown: the table stays)
        else:
            self._fill(table, runs, keys, hp_keys, columns)
        self._update_status()

    def _fill(self, table: LineTable, runs: list, keys: list[str], hp_keys: list[str], columns) -> None:
        """Put ``runs`` in the table: at once the first rows, and those down to the cursor's
        run and the view; the rest a step at a time (FILL_STEP_S each), the UI handling keys
        and painting between steps (a table of 10,000 runs is not one long pause)."""
        self._fills += 1
        self._table_keys, self._table_runs = keys, runs
        cells = (self._cells(r, hp_keys) for r in runs)
        cursor = table.cursor_key
        target = max(table.cursor_row, int(table.scroll_y), keys.index(cursor) if cursor in keys else 0)
        now = min(len(keys), max(FIRST_ROWS, target + 2 * table.size.height + 2))
        table.replace_rows(itertools.islice(cells, now), keys[:now], columns)
        if now < len(keys):
            self._next_fill_step(self._fills, cells, keys, now)

    def _next_fill_step(self, fill: int, cells, keys: list[str], at: int) -> None:
        # while a first scan goes on, its next batch replaces these rows: fill slower, leave it the CPU
        # (never 0: a zero-delay Textual timer stalled the fill)
        delay = max(0.001, FILL_STEP_S * (SCAN_FILL_SHARE ** -1 - 1)) if self.scanning else 0.001
        self.set_timer(delay, functools.partial(self._fill_step, fill, cells, keys, at))

    def _fill_step(self, fill: int, cells, keys: list[str], at: int) -> None:
        if fill != self._fills or not self.is_attached:  # (a newer refresh replaced these rows)
            return
        table = self.query_one(LineTable)
        end = time.monotonic() + FILL_STEP_S
        with gc_paused():  # (the rows are no garbage)
            while at < len(keys):
                n = min(len(keys), at + FILL_BATCH)
                table.add_rows(itertools.islice(cells, n - at), keys[at:n])
                at = n
                if time.monotonic() >= end:
                    break
        if at < len(keys):
            self._next_fill_step(fill, cells, keys, at)
        else:
            _keep_alive_objects()

    def _shown(self, r: RunSummary, hp_keys: list[str]) -> tuple:
        """What a run's cells show besides the summary's fields (whatever else :meth:`_make_cells`
        comes to show of a run must be here too)."""
        key = str(r.path)
        return (r.status, key in self.marked, hp_keys, self._tree.get(key) if self.tree_view else None)

    def _unchanged(self, runs: list, keys: list[str], hp_keys: list[str]) -> bool:
        """Whether the table has (or its fill under way will add) every run's row as it is
        now: the same runs in the same order, each row made of the same summary showing the
        same (a row not added yet is made when it is)."""
        if keys != self._table_keys or len(runs) != len(self._table_runs):
            return False
        before = self._rows_before
        for r, was in zip(runs, self._table_runs, strict=True):
            if r is not was:
                return False
            old = before.get(str(r.path))
            if old is not None and old[1] != self._shown(r, hp_keys):
                return False
        return True

    def _cells(self, r: RunSummary, hp_keys: list[str]) -> list:
        """A run's cells, those of the last refresh when nothing they show changed: a scan
        of thousands of runs refreshes the table often, and most rows stay as they were."""
        key = str(r.path)
        shown = self._shown(r, hp_keys)
        old = self._rows_before.get(key)
        if old is not None and old[0] is r and old[1] == shown:
            cells = old[2]
        else:
            cells = self._make_cells(r, hp_keys)
        self._rows[key] = (r, shown, cells)
        return cells

    def _make_cells(self, r: RunSummary, hp_keys: list[str]) -> list:
        text = run_cells(r)
        cells: list = []
        for i, (col, value) in enumerate(zip(COLUMNS, text, strict=True)):
            if i == 0:
                if self.tree_view:
                    value = self._tree[str(r.path)][0] + value
                mark = MARK if str(r.path) in self.marked else "  "
                warn = " !" if r.warnings else ""
                cells.append(Text(mark + value + warn, style="bold" if mark == MARK else ""))
            elif col.key == "status":
                cells.append(Text(value, style=STATUS_STYLE.get(value, "")))
            else:
                cells.append(value)
        cells += [hp_text(r.hparams.get(key)) for key in hp_keys]
        if self.tree_view:
            cells += list(self._tree[str(r.path)][1:])
        return cells

    def _update_status(self) -> None:
        parts = [f"{len(self.shown)} of {len(self.summaries)} runs"]
        if self.scanning:
            parts.append("scanning for more ...")
        if self.marked:
            parts.append(f"{len(self.marked)} marked")
        if self.tree_view:
            parts.append("tree by parent")
        if self.sort_key:
            parts.append(f"sorted by {self.sort_key}{' (desc)' if self.sort_reverse else ''}")
        parts.append("follow on" if self.follow else "follow off")
        warned = sum(1 for r in self.summaries if r.warnings)
        if warned:
            parts.append(f"{warned} with warnings (!)")
        line = "  |  ".join(parts)
        status = self.query_one("#runs-status", Static)
        if self.filter_error:
            status.update(Text(line + "  |  " + self.filter_error, style="bold red"))
        else:
            status.update(line)

    def current_run(self) -> RunSummary | None:
        key = self.query_one(LineTable).cursor_key
        if key is None:
            return None
        return next((r for r in self.shown if str(r.path) == key), None)

    # -- events
    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value
        self._refresh_table()

    @on(Input.Submitted, "#runs-filter")
    def _filter_submitted(self) -> None:
        self.query_one(LineTable).focus()

    @on(LineTable.HeaderSelected)
    def _header_clicked(self, event: LineTable.HeaderSelected) -> None:
        key = event.column_key
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key, self.sort_reverse = key, False
        self._refresh_table()

    @on(LineTable.RowSelected)
    def _row_selected(self, event: LineTable.RowSelected) -> None:
        run = next((r for r in self.shown if str(r.path) == event.row_key), None)
        if run is not None:
            from .run_detail import RunDetailScreen

            self.app.push_screen(RunDetailScreen(run), self._after_detail)

    def _after_detail(self, result) -> None:
        if result:  # notes, tags, archive or delete changed the run
            self.marked = {m for m in self.marked if Path(m).is_dir()}
            self.action_rescan()

    # -- actions
    def action_focus_filter(self) -> None:
        self.query_one("#runs-filter", Input).focus()

    def action_back(self) -> None:
        if self.focused is self.query_one("#runs-filter", Input):
            self.query_one(LineTable).focus()
        elif len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.app.pop_screen()
        else:
            self.app.exit()

    def action_toggle_mark(self) -> None:
        run = self.current_run()
        if run is None:
            return
        key = str(run.path)
        self.marked.symmetric_difference_update({key})
        table = self.query_one(LineTable)
        row = table.cursor_row
        self._refresh_table()
        table.move_cursor(row=row + 1)

    def _marked_runs(self) -> list:
        return [r for r in self.summaries if str(r.path) in self.marked]

    def _chosen_runs(self, key: str) -> list:
        """The marked runs, else the one under the cursor (a notice when there is none)."""
        runs = self._marked_runs()
        if not runs:
            current = self.current_run()
            parent = find_parent(current, self.summaries) if current else None
            runs = [parent, current] if parent else [current] if current else []  # a child: parent vs child
        if not runs:
            self.notify(f"mark runs with space, then press {key}", severity="warning")
        return runs

    def action_compare(self) -> None:
        runs = self._chosen_runs("c")
        if runs:
            from .compare import CompareScreen

            self.app.push_screen(CompareScreen(runs))

    def action_workspace(self) -> None:
        runs = self._chosen_runs("w")
        if runs:
            from .workspace import WorkspaceScreen

            self.app.push_screen(WorkspaceScreen(runs))

    def action_open_sweep(self) -> None:
        """The sweep of the run under the cursor, ranked; else the newest sweep of the log directory."""
        from .sweep_view import SweepScreen

        run = self.current_run()
        if run is not None and run.sweep and run.logdir is not None:
            self.app.push_screen(SweepScreen(run.logdir, run.sweep))
        else:
            self.app.push_screen(SweepScreen(self.logdirs[0]))

    def action_filter_sweep(self) -> None:
        """Filter the table to the sweep of the run under the cursor (``sweep == ID``); again: all runs."""
        run = self.current_run()
        if run is None or not run.sweep:
            self.notify("the run under the cursor is no point of a sweep", severity="warning")
        elif not SAFE_ID.fullmatch(run.sweep):
            self.notify(f"sweep id {visible(repr(run.sweep))} cannot be filtered on", severity="warning")
        else:
            box, wanted = self.query_one("#runs-filter", Input), f"sweep == {run.sweep}"
            box.value = "" if box.value.strip() == wanted else wanted  # (its Changed event refreshes the table)

    def action_ensemble(self) -> None:
        runs = [r for r in self._marked_runs() if r.kind == "keraslab"]
        if len(runs) < 2:
            self.notify("mark two or more keraslab runs with space, then press E (shift+e)", severity="warning")
            return
        from .ensemble import EnsembleScreen

        self.app.push_screen(EnsembleScreen([r.path for r in runs]))

    def action_next_sort(self) -> None:
        keys = [c.key for c in COLUMNS] + [f"hp.{k}" for k in self._columns_hp]
        i = keys.index(self.sort_key) + 1 if self.sort_key in keys else 0
        self.sort_key = keys[i % len(keys)]
        self.sort_reverse = False
        self._refresh_table()

    def action_reverse_sort(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._refresh_table()

    def action_toggle_hparams(self) -> None:
        self.show_hparams = not self.show_hparams
        self._refresh_table()

    def action_toggle_tree(self) -> None:
        self.tree_view = not self.tree_view
        self._refresh_table()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "edit_run":  # in an app that trains (not `keraslab browse`)
            return hasattr(self.app, "edit_as_new_run")
        return True

    def action_edit_run(self) -> None:
        run = self.current_run()
        if run is not None:
            self.app.edit_as_new_run(run)

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._wake.set()
        self._update_status()

    def action_rescan(self) -> None:
        self._wake.set()
