"""Logs of every common writer (tensorboardX / PyTorch, TensorBoard's pure-Python writers,
float64 tensors, keraslab / TensorFlow 2) read as protobuf reads them, in bulk and record by
record, whole or damaged; the bulk decoder takes almost every record of each."""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from keraslab.core.tfevents import bulk as event_bulk
from keraslab.core.tfevents import fastpath, periodic, read_runs_scalars, reader
from tensorboard.compat.proto import event_pb2
from test_event_bulk import read  # (one path or the other, tags learnt afresh)
from tfevents_oracle import read_records
from writers_corpus import STEPS, TAGS, WRITERS, damaged_copies

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """One run directory per writer, written by the real libraries (TensorFlow blocked)."""
    root = tmp_path_factory.mktemp("writers")
    subprocess.run(
        [sys.executable, str(HERE / "writers_corpus.py"), str(root)], check=True, timeout=600
    )
    return root


def event_file(d: Path) -> Path:
    (path,) = sorted(d.glob("events.out.tfevents.*"))
    return path


def by_protobuf(path: Path) -> dict[str, tuple]:
    """Every scalar of ``path`` as TensorBoard's protos read the oracle's records."""
    out: dict[str, tuple[list, list, list]] = {}
    for data in read_records(path)[0]:
        ev = event_pb2.Event.FromString(data)
        for v in ev.summary.value:
            if v.WhichOneof("value") == "simple_value":
                x = v.simple_value
            elif v.HasField("tensor") and v.metadata.plugin_data.plugin_name == "scalars":
                t = v.tensor
                if t.tensor_content:
                    x = struct.unpack("<f" if t.dtype == 1 else "<d", t.tensor_content)[0]
                else:
                    x = (t.float_val or t.double_val)[0]
            else:
                continue
            steps, walls, values = out.setdefault(v.tag, ([], [], []))
            steps.append(ev.step)
            walls.append(repr(ev.wall_time))
            values.append(repr(float(x)))
    return out


def scalars(r) -> dict[str, tuple]:
    return {
        tag: (s.steps, [repr(x) for x in s.wall_times], [repr(x) for x in s.values])
        for tag, s in r.scalars.items()
    }


@pytest.mark.parametrize("writer", WRITERS)
def test_each_writer_is_read_as_protobuf_reads_it(corpus, monkeypatch, writer):
    path = event_file(corpus / writer)
    want = by_protobuf(path)
    assert set(want) == set(TAGS) and all(len(s[0]) == len(STEPS) for s in want.values())
    for bulk in (False, True):
        r = read(path, bulk=bulk, monkeypatch=monkeypatch)
        assert scalars(r) == want and not r.warnings, (writer, bulk)
        assert list(r.scalars) == list(want)  # tags in the order they first come


@pytest.mark.parametrize("writer", WRITERS)
def test_each_writer_is_decoded_in_bulk(corpus, monkeypatch, writer):
    """Almost every record goes through the numpy decoders (periodic blocks and runs),
    none through protobuf."""
    runs = []
    decode = event_bulk.decode_run
    monkeypatch.setattr(event_bulk, "decode_run", lambda *a: runs.append(decode(*a)) or runs[-1])
    blocks = []
    block = periodic.block
    monkeypatch.setattr(periodic, "block", lambda *a: blocks.append(block(*a)) or blocks[-1])
    parsed = []  # what protobuf read: items per record
    parse = reader.parse_event
    monkeypatch.setattr(reader, "parse_event", lambda *a: parsed.append(parse(*a)) or parsed[-1])
    r = read(event_file(corpus / writer), bulk=True, monkeypatch=monkeypatch)
    decoded = sum(len(m) for run in runs for _, _, m in run.groups)
    decoded += sum(len(c[1]) for b in blocks if b for c in b.columns)
    # (a few records between runs and blocks, and before the first block: the loop)
    assert decoded >= 0.95 * len(TAGS) * len(STEPS)
    scalars_parsed = [items for _, _, items in parsed if any(i[0] == "scalars" for i in items)]
    assert len(scalars_parsed) <= 2, writer  # (a record or two between runs: the loop)
    assert sum(map(len, r.scalars.values())) == len(TAGS) * len(STEPS)


def test_runs_of_every_writer_read_together(corpus):
    """As the runs browser and `compare` read them: many small files at once."""
    fastpath.FAST_TAGS.clear()
    results = read_runs_scalars([corpus / w for w in WRITERS])
    for w, res in zip(WRITERS, results, strict=True):
        got = {
            tag: (s.steps, [repr(x) for x in s.wall_times], [repr(x) for x in s.values])
            for tag, s in res.scalars.items()
        }
        assert got == by_protobuf(event_file(corpus / w)), w


@pytest.mark.parametrize("writer", WRITERS)
def test_damaged_copies_read_the_same_both_ways(corpus, tmp_path, monkeypatch, writer):
    """Flip a byte (headers, CRCs, keys, steps, values, tails) or cut the file: the bulk
    decoder and the record loop agree, warnings and all."""
    data = event_file(corpus / writer).read_bytes()
    dst = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    seen = set()
    for what, damaged in damaged_copies(data, random.Random(writer), flips=60, cuts=10):
        dst.write_bytes(damaged)
        loop = read(dst, bulk=False, monkeypatch=monkeypatch)
        bulk = read(dst, bulk=True, monkeypatch=monkeypatch)
        got, want = ((scalars(r), r.warnings, r.offset) for r in (bulk, loop))
        assert got == want, what
        seen.update(w.split(": ", 1)[1].split(" ")[0] for w in loop.warnings)
    assert "corrupt" in seen


def test_pytorch_style_logs_are_read_without_protobuf(corpus):
    """tensorboardX's (PyTorch's) scalar logs need no protobuf, as TensorFlow's do not."""
    code = (
        "import sys\n"
        "from keraslab.core.tfevents import read_run_scalars\n"
        f"r = read_run_scalars({str(corpus / 'tb_writer')!r})\n"
        "assert sum(map(len, r.scalars.values())) > 1000\n"
        "print('google.protobuf' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert out.stdout.strip() == "False"


@pytest.fixture
def small_pieces(monkeypatch):
    """Big-file decoding on 4 threads, in pieces small enough for these files (periodic
    blocks off: runs of records are what is decoded in pieces)."""
    from keraslab.core.tfevents import parallel

    monkeypatch.setattr(periodic, "find", lambda *a: None)
    monkeypatch.setattr(parallel, "workers", lambda: 4)
    monkeypatch.setattr(parallel, "PIECE_BYTES", 1000)
    monkeypatch.setattr(parallel, "PIECE_RECORDS", 7)
    sizes = []  # of the runs decoded
    decode = event_bulk.decode_run
    monkeypatch.setattr(
        event_bulk, "decode_run", lambda v, a, *r: sizes.append(len(a)) or decode(v, a, *r)
    )
    return sizes


@pytest.mark.parametrize("writer", WRITERS)
def test_pieces_decoded_on_several_threads_read_as_one(corpus, monkeypatch, small_pieces, writer):
    path = event_file(corpus / writer)
    r = read(path, bulk=True, monkeypatch=monkeypatch)
    assert scalars(r) == by_protobuf(path) and not r.warnings
    assert len(small_pieces) > 4 and max(small_pieces) < 100  # (it did decode in pieces)


def test_damaged_copies_read_the_same_in_pieces(corpus, tmp_path, monkeypatch, small_pieces):
    data = event_file(corpus / "mixed").read_bytes()
    dst = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    for what, damaged in damaged_copies(data, random.Random(3), flips=30, cuts=10):
        dst.write_bytes(damaged)
        loop = read(dst, bulk=False, monkeypatch=monkeypatch)
        bulk = read(dst, bulk=True, monkeypatch=monkeypatch)
        assert (scalars(bulk), bulk.warnings) == (scalars(loop), loop.warnings), what


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_decodes_big_files_too(corpus, monkeypatch, small_pieces):
    """The thread pool does not survive a fork: the child makes its own (a child that
    waited on the parent's threads would hang)."""
    path = event_file(corpus / "mixed")
    want = scalars(read(path, bulk=True, monkeypatch=monkeypatch))  # (the parent's pool is up)
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if it reads the file as the parent did
        ok = False
        try:
            ok = scalars(read(path, bulk=True, monkeypatch=monkeypatch)) == want
        finally:
            os._exit(0 if ok else 1)
    deadline = time.monotonic() + 120  # (a generous limit: only so that a hang fails)
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    if done[0] == 0:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the forked child hung decoding in pieces")
    assert os.waitstatus_to_exitcode(done[1]) == 0
