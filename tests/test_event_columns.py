"""A big event file's scalars stay numpy columns (ScalarSeries) until lists are asked for,
and read the same as the record-by-record loop reads them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from keraslab.core.tfevents import EventFileReader, EventWriter, ScalarSeries, read_run_scalars
from keraslab.core.tfevents import reader as event_reader
from test_event_bulk import outcome, read


@pytest.fixture(scope="module")
def big_run(tmp_path_factory):
    """A run holding one event file past the bulk threshold, 12 tags, one of them rare."""
    d = tmp_path_factory.mktemp("big")
    with EventWriter(d) as w:
        step = 0
        while w.path.stat().st_size < event_reader.BULK_MIN * 2:
            for t in range(12):
                w.add_scalar(f"group{t % 3}/metric_{t}", math.sin(step * 0.01 + t), step)
            if step % 97 == 0:
                w.add_scalar("rare", float(step), step)
            step += 1
            if step % 500 == 0:
                w.flush()
    return d, w.path, step


def test_big_file_series_are_columns_until_lists_are_asked_for(big_run):
    d, _, steps = big_run
    s = read_run_scalars(d).scalars["group1/metric_4"]
    assert s._n > 0.99 * len(s)  # numpy columns (the first step or two: lists from the loop)
    assert len(s) == steps and s.last() == (steps - 1, s.to_numpy()[2][-1])
    st, wt, vt = s.to_numpy()
    assert st.dtype == np.int64 and wt.dtype == np.float64 and s._more  # (still columns)
    st[:] = -1  # to_numpy gives copies: the series' columns are untouched
    assert s.steps == list(range(steps)) and not s._more
    assert s.values == vt.tolist() and s.wall_times == wt.tolist()


def test_big_file_reads_as_the_loop_reads_it(big_run, monkeypatch):
    _, path, _ = big_run
    loop = read(path, bulk=False, monkeypatch=monkeypatch)
    bulk = read(path, bulk=True, monkeypatch=monkeypatch)
    assert any(s._more for s in bulk.scalars.values())
    assert outcome(bulk) == outcome(loop)
    assert len(bulk.scalars["rare"]) == len(loop.scalars["rare"]) > 10


def test_big_file_read_in_two_parts_extends_its_columns(big_run, tmp_path):
    """A file read while it grows: columns appended to columns, then lists."""
    _, path, _ = big_run
    data = path.read_bytes()
    part = tmp_path / path.name
    part.write_bytes(data[: len(data) // 2 + 7])  # (cut inside a record)
    r = EventFileReader(part)
    first = r.read_new()["rare"]
    with part.open("ab") as f:
        f.write(data[len(data) // 2 + 7 :])
    r.read_new()
    whole = EventFileReader(path)
    whole.read_new()
    assert len(first) < len(r.scalars["rare"])
    assert {t: s for t, s in r.scalars.items()} == whole.scalars


def test_series_mix_lists_and_columns_in_order():
    s = ScalarSeries([0], [1.0], [0.5])
    cols = (np.array([1, 2]), np.array([2.0, 3.0]), np.array([0.25, 0.125]))
    s.extend(ScalarSeries.from_columns(*cols))
    other = ScalarSeries()
    other.append(3, 4.0, 1.5)
    s.extend(other)
    other.append(9, 9.0, 9.0)  # (extend copied other's points)
    copy = s.copy()
    assert len(s) == 4 and s.last() == (3, 1.5)
    assert s.to_numpy()[0].tolist() == [0, 1, 2, 3]
    s.append(4, 5.0, 2.5)
    assert s.steps == [0, 1, 2, 3, 4] and s.values == [0.5, 0.25, 0.125, 1.5, 2.5]
    assert copy.steps == [0, 1, 2, 3] and copy != s
    assert ScalarSeries.from_columns(np.zeros(0, np.int64), np.zeros(0), np.zeros(0)).last() is None


def test_a_big_runs_table_stats_come_from_its_columns(tmp_path, monkeypatch):
    """The runs table's per-metric stats of a big TensorBoard run: from numpy columns
    (no list per point), equal to what add_many() makes of the lists, NaNs skipped."""
    from keraslab.core.browse.tensorboard_state import TensorBoardRunState
    from keraslab.core.rundir.metricstats import MetricStats

    run = tmp_path / "big"
    with EventWriter(run) as w:
        step = 0
        while w.path.stat().st_size < event_reader._BATCH_MAX + 4096:  # (read on its own)
            for t in range(6):
                x = math.nan if step % 101 == 7 else math.cos(step * 0.003 + t)
                w.add_scalar(f"m{t}_loss", x, step, wall_time=1e9 + step)
            step += 1
    calls = []
    add = MetricStats.add_columns
    monkeypatch.setattr(MetricStats, "add_columns", lambda *a: calls.append(1) or add(*a))
    state = TensorBoardRunState(run, "big", tmp_path)
    state.refresh()
    assert len(calls) >= 6
    metrics = state.summary().metrics
    lists = read_run_scalars(run).scalars
    assert set(metrics) == set(lists)
    for tag, s in lists.items():
        want = MetricStats()
        want.add_many(s.steps, s.wall_times, s.values)
        assert vars(metrics[tag]) == vars(want), tag
    assert metrics["m2_loss"].count == step - len(range(7, step, 101))
