"""Periodic blocks (tags logged in the same order every step): each writer's file read as
protobuf and the record loop read it, most records taken as rows, damage found in place."""

from __future__ import annotations

import math

import pytest
from keraslab.core.tfevents import EventWriter, periodic
from keraslab.core.tfevents import reader as event_reader
from test_event_bulk import outcome, read
from test_event_writers import by_protobuf, corpus, event_file, scalars  # noqa: F401 (fixture)
from writers_corpus import WRITERS


@pytest.fixture
def blocks(monkeypatch):
    """The blocks found while reading (periodic.block's results that were blocks)."""
    found = []
    block = periodic.block
    monkeypatch.setattr(periodic, "block", lambda *a: found.append(block(*a)) or found[-1])
    return found


def taken(blocks) -> int:
    return sum(len(c[1]) for b in blocks if b for c in b.columns)


@pytest.mark.parametrize("writer", WRITERS)
def test_each_writers_file_in_blocks_reads_as_protobuf_reads_it(
    corpus,  # noqa: F811 (the fixture)
    monkeypatch,
    blocks,
    writer,
):
    path = event_file(corpus / writer)
    want = by_protobuf(path)
    r = read(path, bulk=True, monkeypatch=monkeypatch)
    assert scalars(r) == want and not r.warnings
    assert taken(blocks) > 0.2 * sum(len(s[0]) for s in want.values()), writer


def _regular(d, steps, tags=6, extra=None):
    """A keraslab/TensorFlow-layout file: ``tags`` tags every step; ``extra(w, step)``
    may write more."""
    with EventWriter(d) as w:
        for step in steps:
            for t in range(tags):
                w.add_scalar(
                    f"grp{t % 2}/m_{t}", math.sin(step * 0.1 + t), step, wall_time=1e9 + step
                )
            if extra:
                extra(w, step)
    return w.path


def test_a_regular_file_is_almost_all_blocks_across_step_sizes(tmp_path, monkeypatch, blocks):
    """Steps 0 (no step field), 1-127 (1 byte), 128-16383 (2 bytes), 2**21 on: a block
    each (the first after step 0's period, longer than the records find() tries)."""
    steps = [*range(300), *range(2**21, 2**21 + 40)]
    path = _regular(tmp_path, steps, tags=periodic._TRIES + 5)
    loop = read(path, bulk=False, monkeypatch=monkeypatch)
    bulk = read(path, bulk=True, monkeypatch=monkeypatch)
    assert outcome(bulk) == outcome(loop)
    assert bulk.scalars["grp1/m_3"].steps == steps
    assert taken(blocks) > 0.9 * (periodic._TRIES + 5) * len(steps)
    assert len([b for b in blocks if b]) >= 3


def test_a_corrupt_record_ends_a_block_and_is_reported_where_it_is(tmp_path, monkeypatch, blocks):
    path = _regular(tmp_path, range(400))
    data = bytearray(path.read_bytes())
    at = len(data) // 2
    data[at] ^= 0x01  # a byte of some record in the middle: its CRC fails (or its header)
    path.write_bytes(bytes(data))
    loop = read(path, bulk=False, monkeypatch=monkeypatch)
    bulk = read(path, bulk=True, monkeypatch=monkeypatch)
    assert outcome(bulk) == outcome(loop)
    assert loop.warnings and taken(blocks) > 0
    assert all(b.end <= at or b.start > at for b in blocks if b)  # no block holds the damage


def test_a_tag_twice_in_a_step_is_no_block_but_reads_the_same(tmp_path, monkeypatch, blocks):
    path = _regular(
        tmp_path, range(200), tags=3, extra=lambda w, s: w.add_scalar("grp0/m_0", -1.0, s)
    )
    loop = read(path, bulk=False, monkeypatch=monkeypatch)
    bulk = read(path, bulk=True, monkeypatch=monkeypatch)
    assert outcome(bulk) == outcome(loop) and len(bulk.scalars["grp0/m_0"]) == 400
    assert taken(blocks) == 0


def test_a_big_file_takes_blocks_by_default(tmp_path, blocks):
    """Past BULK_MIN, with no setting changed: the reader finds the blocks itself."""
    with EventWriter(tmp_path) as w:
        step = 0
        while w.path.stat().st_size < event_reader.BULK_MIN + 4096:
            for t in range(5):
                w.add_scalar(f"m{t}", float(step * t), step)
            step += 1
    r = event_reader.EventFileReader(w.path)
    r.read_new()
    assert r.scalars["m4"].values == [float(s * 4) for s in range(step)]
    assert taken(blocks) > 0.9 * 5 * step


def test_the_rest_after_a_chunks_blocks_is_not_searched_again(tmp_path, monkeypatch):
    """A chunk whose start is blocks and whose rest is not: the rest goes straight to the
    runs decoder (find() has just failed there), and the chunk counts as one with blocks."""
    import random

    rng = random.Random(0)
    searched = []
    find = periodic.find
    monkeypatch.setattr(periodic, "find", lambda v, pos, *a: searched.append((len(v.buf), pos)) or find(v, pos, *a))
    with EventWriter(tmp_path) as w:
        for step in range(200):  # blocks
            for t in range(5):
                w.add_scalar(f"m{t}", float(step * t), step)
        step = 200
        while w.path.stat().st_size < event_reader.BULK_MIN + 65536:  # then no period: the order shuffles
            for t in rng.sample(range(5), 5):
                w.add_scalar(f"m{t}", float(step * t), step)
            step += 1
    assert w.path.stat().st_size < 4 << 20  # (one chunk)
    r = event_reader.EventFileReader(w.path)
    r.read_new()
    assert r.scalars["m4"].values == [float(s * 4) for s in range(step)]
    assert len({size for size, _ in searched}) == 1, searched  # every search in the chunk itself, none in a copy of its rest
    assert r._misses == 0
