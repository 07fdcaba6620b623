"""Bulk decoding of event files (core.tfevents.bulk) against the record-by-record loop.

The loop is checked against TensorBoard's own reader in test_events.py (which runs its
reading tests through the bulk path too); here the two paths must agree byte for byte on mixed
files and on hundreds of damaged copies of them.
"""

from __future__ import annotations

import itertools
import math
import random
import struct
from pathlib import Path

import numpy as np
import pytest
from keraslab.core.errors import RunStoreError
from keraslab.core.tfevents import (
    EventFileReader,
    EventWriter,
    bulkcrc,
    encode_record,
    fastpath,
    periodic,
    read_run_scalars,
    read_runs_scalars,
    reader,
)
from keraslab.core.tfevents import bulk as event_bulk
from keraslab.core.tfevents import crc as tfcrc
from tensorboard.compat.proto import summary_pb2, tensor_pb2
from writers_corpus import damaged_copies


def _double_scalar(tag: str, value: float) -> summary_pb2.Summary:
    t = tensor_pb2.TensorProto(dtype=2, double_val=[value])  # DT_DOUBLE
    t.tensor_shape.SetInParent()
    v = summary_pb2.Summary.Value(tag=tag, tensor=t)
    v.metadata.plugin_data.plugin_name = "scalars"
    return summary_pb2.Summary(value=[v])


def write_mixed(d: Path, seed: int = 0) -> Path:
    """Every kind of record a reader meets, TF2 scalars in long runs between them."""
    rng = random.Random(seed)
    with EventWriter(d) as w:
        w.add_text("summary", "a model", 0)
        for step in range(300):
            for tag in ("epoch_loss", "epoch_accuracy", "ab_one/abcdefgh", "ab_two/abcdefgh"):
                w.add_scalar(tag, rng.uniform(-5, 5), step, wall_time=1.7e9 + step)
            w.add_scalar("ünïcode/" + "y" * 150, rng.random(), step * 1000)  # 2-byte lengths
            if step % 37 == 0:
                w.add_text("note", f"at {step}", step)
                legacy = summary_pb2.Summary.Value(tag="legacy", simple_value=step)
                w.add_summary(summary_pb2.Summary(value=[legacy]), step)
            if step % 53 == 0:
                w.add_summary(_double_scalar("epoch_loss", 0.5), step)  # same tag, other layout
            if step % 41 == 0:
                w.add_scalar("neg", step, -step - 1)  # 10-byte step varints
        for step in (2**21, 2**35, 2**63 - 1):
            w.add_scalar("big_steps", 1.0, step)
    return w.path


def read(path: Path, *, bulk: bool, monkeypatch) -> EventFileReader:
    monkeypatch.setattr(reader, "BULK_MIN", 0 if bulk else 1 << 62)
    fastpath.FAST_TAGS.clear()  # each path learns the tags itself
    r = EventFileReader(path)
    r.read_new()
    return r


def outcome(r: EventFileReader) -> tuple:
    """Everything a reader made of a file, NaNs and all, comparable with ==."""
    scalars = {
        tag: (s.steps, [repr(x) for x in s.wall_times], [repr(x) for x in s.values])
        for tag, s in r.scalars.items()
    }
    return scalars, list(scalars), r.texts, list(r.texts), r.warnings, r.offset  # (and orders)


@pytest.mark.parametrize("peel", [16, 2, 0])
def test_mixed_file_same_as_loop_and_decoded_in_bulk(tmp_path, monkeypatch, peel):
    """(``peel``: key groups found one by one before sorting the rest; see _by_fingerprint)"""
    monkeypatch.setattr(event_bulk._by_fingerprint, "__defaults__", (peel,))
    path = write_mixed(tmp_path)
    loop = read(path, bulk=False, monkeypatch=monkeypatch)
    runs = []
    decode = event_bulk.decode_run
    monkeypatch.setattr(event_bulk, "decode_run", lambda *a: runs.append(decode(*a)) or runs[-1])
    bulk = read(path, bulk=True, monkeypatch=monkeypatch)
    assert outcome(bulk) == outcome(loop)
    assert loop.scalars["epoch_loss"].steps[:3] == [0, 0, 1]  # a double after step 0's float
    assert loop.scalars["neg"].steps[:2] == [-1, -42]
    assert loop.scalars["big_steps"].steps == [2**21, 2**35, 2**63 - 1]
    assert len(loop.texts["note"]) == 9 and len(loop.scalars["legacy"].steps) == 9
    # most points came from the bulk decoder, and the look-alike keys stayed apart
    decoded = sum(len(m) for run in runs for _, _, m in run.groups)
    assert decoded > 0.95 * sum(len(s) for s in loop.scalars.values())
    tags = {tag for run in runs for tag, _, _ in run.groups}
    assert {"ab_one/abcdefgh", "ab_two/abcdefgh", "ünïcode/" + "y" * 150} <= tags


def test_records_are_grouped_by_fingerprint_as_sorting_groups_them():
    np = pytest.importorskip("numpy")
    rng = np.random.default_rng(4)
    for distinct in (1, 3, 17, 200):
        fp = rng.integers(0, distinct, 5000).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        idx = np.arange(10, 5010)
        want = sorted(tuple(idx[fp == x].tolist()) for x in np.unique(fp))
        for peel in (0, 1, 16):
            got = [tuple(g.tolist()) for g in event_bulk._by_fingerprint(idx, fp, peel)]
            assert sorted(got) == want and all(list(g) == sorted(g) for g in got), (distinct, peel)


def test_damaged_copies_read_the_same_both_ways(tmp_path, monkeypatch):
    """Flip one byte (headers, CRCs, keys, steps, values, tails) or cut the file."""
    data = write_mixed(tmp_path / "src").read_bytes()
    dst = tmp_path / "d" / "events.out.tfevents.1.h.1.0.v2"
    dst.parent.mkdir()
    kinds = set()
    for what, damaged in damaged_copies(data, random.Random(7), flips=250, cuts=30):
        dst.write_bytes(damaged)
        loop = read(dst, bulk=False, monkeypatch=monkeypatch)
        bulk = read(dst, bulk=True, monkeypatch=monkeypatch)
        assert outcome(bulk) == outcome(loop), what
        kinds.update(w.split(": ", 1)[1].split(" ")[0] for w in loop.warnings)
    assert {"corrupt", "damaged"} <= kinds  # both kinds of damage were met


def test_resume_after_a_partial_record(tmp_path, monkeypatch):
    data = write_mixed(tmp_path / "src").read_bytes()
    whole = read(next((tmp_path / "src").iterdir()), bulk=False, monkeypatch=monkeypatch)
    dst = tmp_path / "d" / "events.out.tfevents.1.h.1.0.v2"
    dst.parent.mkdir()
    monkeypatch.setattr(reader, "BULK_MIN", 0)
    for cut in (len(data) // 3, len(data) // 2 + 5, len(data) - 3):
        dst.write_bytes(data[:cut])
        r = EventFileReader(dst)
        r.read_new()
        assert r.offset <= cut and not r.warnings
        with open(dst, "ab") as f:
            f.write(data[cut:])
        r.read_new()
        assert outcome(r)[:5] == outcome(whole)[:5] and r.offset == len(data)


def test_big_chunks_take_the_bulk_path_by_default(tmp_path, monkeypatch):
    with EventWriter(tmp_path) as w:
        step = 0
        while w.path.stat().st_size < reader.BULK_MIN + 4096:
            for t in range(8):
                w.add_scalar(f"m{t}", math.sin(step + t), step)
            step += 1
            if step % 512 == 0:
                w.flush()
    calls = []  # (either bulk decoder: runs of records or periodic blocks)
    decode = event_bulk.decode_run
    monkeypatch.setattr(event_bulk, "decode_run", lambda *a: calls.append(1) or decode(*a))
    block = periodic.block
    monkeypatch.setattr(periodic, "block", lambda *a: (b := block(*a)) and calls.append(b) or b)
    r = EventFileReader(w.path)
    r.read_new()
    assert calls and r.scalars["m3"].steps == list(range(step))
    f32 = struct.Struct("<f")
    want = [f32.unpack(f32.pack(math.sin(s + 3)))[0] for s in range(step)]
    assert r.scalars["m3"].values == want


def _lin(msg: bytes) -> int:
    """The linear part of CRC-32C: what ``msg`` adds to the CRC of as many zero bytes."""
    return tfcrc.crc32c(msg) ^ tfcrc.crc32c(bytes(len(msg)))


@pytest.mark.parametrize("k", [0, 1, 2, 3, 17, 64, 1000, 70_001])
def test_zero_run_shifts_a_crc_as_appended_zero_bytes_do(k):
    rng = random.Random(k)
    msgs = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(40)]
    lin = np.array([_lin(m) for m in msgs], dtype=np.uint32)
    got = bulkcrc.apply(bulkcrc.zero_run(k), lin)
    assert got.tolist() == [_lin(m + bytes(k)) for m in msgs]


def _scalar_record(rng: random.Random, tag: str, step: int | None) -> bytes:
    head = b"\x09" + struct.pack("<d", rng.uniform(0, 2e9))
    if step is not None:
        head += b"\x10" + fastpath.varint_bytes(step)
    return head + fastpath.fast_key(tag) + struct.pack("<f", rng.uniform(-9, 9)) + fastpath.SCALAR_TAIL


@pytest.mark.parametrize("seed", range(6))
def test_crc_check_in_bulk_flags_exactly_the_records_crc32c_rejects(seed):
    """Tags of many lengths, steps of 0 to 10 varint bytes (or none), some records with one
    flipped bit or a wrong CRC: decode_run marks corrupt exactly those that fail crc32c."""
    rng = random.Random(seed)
    tags = ["a", "epoch_loss", "x" * 130, "ü/" + "y" * rng.randrange(1, 300), f"t{seed}"]
    # look-alikes: one length, each differing from the first in one byte, first to last
    tags += ["ab_one/abcdefgh" + "q" * seed, "zb_one/abcdefgh" + "q" * seed]
    tags += ["ab_onX/abcdefgh" + "q" * seed, "ab_one/abcdefgZ" + "q" * seed]
    records, want_bad, want_tags = [], [], []
    for _ in range(400):
        step = rng.choice([None, *(rng.randrange(1 << bits) for bits in (7, 14, 35, 64))])
        want_tags.append(rng.choice(tags))
        data = bytearray(_scalar_record(rng, want_tags[-1], step))
        crc = tfcrc.masked_crc32c(bytes(data))
        bad = False
        if rng.random() < 0.2:  # a bit of the wall time, step or value flipped: same key
            nvar = 0 if step is None else len(fastpath.varint_bytes(step))
            varying = [*range(1, 9), *range(10, 10 + nvar)]
            varying += range(len(data) - fastpath.SCALAR_SUFFIX, len(data) - fastpath.SCALAR_SUFFIX + 4)
            at = rng.choice(varying)
            data[at] ^= 1 << rng.randrange(7 if 10 <= at < 20 else 8)  # (a varint keeps its length)
            bad = True
        elif rng.random() < 0.05:
            crc ^= 1 << rng.randrange(32)
            bad = True
        header = struct.pack("<Q", len(data))
        header += struct.pack("<I", tfcrc.masked_crc32c(header))
        records.append(header + bytes(data) + struct.pack("<I", crc))
        want_bad.append(bad)
    buf = b"".join(records)
    v = event_bulk.Views(buf)
    starts = np.cumsum([0] + [len(r) for r in records[:-1]])
    ends = starts + np.array([len(r) for r in records])
    run = event_bulk.decode_run(v, starts, ends, lambda key, data: fastpath.tag_in_key(key))
    assert not run.slow.any()
    assert run.corrupt.tolist() == want_bad
    assert sum(len(members) for _, _, members in run.groups) == want_bad.count(False)
    for tag, _, members in run.groups:
        assert {want_tags[i] for i in members.tolist()} == {tag}


# --------------------------------------------------------------------------- many runs at once


def _same_results(a, b) -> None:
    assert list(a.scalars) == list(b.scalars)  # in the same order
    for tag, s in a.scalars.items():
        t = b.scalars[tag]
        assert (s.steps, s.wall_times, s.values) == (t.steps, t.wall_times, t.values), tag
    assert a.texts == b.texts and a.warnings == b.warnings and a.files == b.files


@pytest.mark.parametrize("block", [1 << 30, 1 << 20, 1])
def test_many_runs_read_together_same_as_one_by_one(tmp_path, monkeypatch, block):
    """Files are joined into buffers of about ``block`` bytes: a damaged or cut file must not
    spill into the next (all files in one; a few; each on its own)."""
    data = write_mixed(tmp_path / "src").read_bytes()
    runs = []
    damages = ["none", "cut", "flip", "empty", "header", "cut-header", "headless", "none"]
    for i, damage in enumerate(damages):
        run = tmp_path / "logs" / f"run-{i}"
        for sub in ("train", "validation"):
            body = bytearray(data)
            if damage == "headless":
                # starts right at a scalar record, after a whole file: the two chain up
                at = 0
                for _ in range(3):  # past the version and text records, and one scalar
                    at += 16 + struct.unpack_from("<Q", data, at)[0]
                del body[:at]
            elif sub == "train" and damage == "cut":
                del body[len(body) // 2 :]  # a record cut in two, then the next file
            elif sub == "train" and damage == "cut-header":
                del body[len(body) - 7 :]  # the last header itself cut
            elif damage == "flip":
                body[len(body) // 3] ^= 0x10
            elif damage == "header":
                body[len(body) // 4 * 3] ^= 0xFF  # wherever it lands: header, data or CRC
            elif damage == "empty":
                body = bytearray()
            (run / sub).mkdir(parents=True)
            (run / sub / f"events.out.tfevents.{i}.h.1.0.v2").write_bytes(bytes(body))
        runs.append(run)
    one = []
    for run in runs:
        fastpath.FAST_TAGS.clear()
        one.append(read_run_scalars(run))
    fastpath.FAST_TAGS.clear()
    calls = []
    decode = event_bulk.decode_run
    monkeypatch.setattr(event_bulk, "decode_run", lambda *a: calls.append(len(a[1])) or decode(*a))
    monkeypatch.setattr(reader, "_BLOCK", block)
    many = read_runs_scalars(runs)
    sizes = [f.stat().st_size for r in runs for f in sorted(r.rglob("events.out.*"))]
    blocks = 1 if block > sum(sizes) else 14 if block == 1 else len(calls)
    assert len(calls) == blocks and sum(calls) > 10_000  # every file's runs, a block at a time
    assert block != 1 << 20 or 1 < len(calls) < 14
    assert len(many) == len(runs)
    for a, b in zip(one, many, strict=True):
        _same_results(a, b)
    assert one[0].scalars["train/epoch_loss"].steps[:2] == [0, 0]
    assert any("corrupt" in w for w in many[2].warnings)
    assert len(one[1].scalars["train/epoch_loss"]) < len(one[0].scalars["train/epoch_loss"])
    n = len(one[0].scalars["validation/epoch_accuracy"])
    assert len(many[6].scalars["validation/epoch_accuracy"]) == n  # (an epoch_loss was cut)
    assert len(many[6].scalars["train/epoch_accuracy"]) == n
    with pytest.raises(RunStoreError):
        read_runs_scalars([*runs, tmp_path / "missing"])


def _segments(found) -> list[tuple]:
    return [tuple(x.tolist() if isinstance(x, np.ndarray) else x for x in seg) for seg in found]


def test_file_segments_split_joined_files_as_runs_and_gaps_does(tmp_path, monkeypatch):
    """Files of the usual shape (a version record, then scalars) are split all at once;
    damaged, cut, headless or mixed ones each the slow way: the same segments either way."""
    mixed = write_mixed(tmp_path / "mixed").read_bytes()
    with EventWriter(tmp_path / "plain") as w:
        for step in range(60):
            for tag in ("epoch_loss", "epoch_accuracy"):
                w.add_scalar(tag, step / 7, step)
    plain = w.path.read_bytes()
    rng = random.Random(3)
    bodies = []
    usual = 0
    for _ in range(120):
        body = bytearray(rng.choice([plain, plain, mixed]))
        kind = rng.choice(["none", "none", "flip", "cut", "headless", "tiny"])
        usual += body == plain and kind == "none"
        if kind == "flip":
            body[rng.randrange(len(body))] ^= 1 << rng.randrange(8)
        elif kind == "cut":
            del body[rng.randrange(len(body)) :]
        elif kind == "headless":
            del body[: 16 + struct.unpack_from("<Q", body)[0]]
        elif kind == "tiny":
            del body[rng.randrange(13) :]
        bodies.append(bytes(body))
    his = list(itertools.accumulate(map(len, bodies)))
    los = [0, *his[:-1]]
    v = event_bulk.Views(b"".join(bodies))
    index = event_bulk.TailIndex(v)
    regions = zip(los, his, strict=True)
    want = [_segments(event_bulk.runs_and_gaps(v, a, b, index)) for a, b in regions]
    calls = []
    slow = event_bulk.runs_and_gaps
    monkeypatch.setattr(event_bulk, "runs_and_gaps", lambda *a: calls.append(1) or slow(*a))
    got = [_segments(found) for found in event_bulk.file_segments(v, los, his, index)]
    assert got == want
    assert 10 < len(calls) <= len(bodies) - usual  # both ways were taken


def test_runs_read_together_keep_each_files_tag_order(tmp_path):
    """Files that log the same tags in other orders: each run's tags come in its own
    file order, as when read alone (the joined decode meets them in another order)."""
    orders = [("a_loss", "b_acc", "c_lr"), ("c_lr", "a_loss", "b_acc"), ("b_acc", "c_lr", "a_loss")]
    runs = []
    for i, order in enumerate(orders * 2):
        run = tmp_path / f"run-{i}"
        with EventWriter(run) as w:
            for step in range(40):
                for tag in order[step // 20 :] if i >= 3 else order:  # (later: some stop early)
                    w.add_scalar(tag, step * 0.5, step)
        runs.append(run)
    one = [read_run_scalars(r) for r in runs]
    many = read_runs_scalars(runs)
    for i, (a, b) in enumerate(zip(one, many, strict=True)):
        assert list(a.scalars) == list(orders[i % 3]), i
        _same_results(a, b)


def test_load_many_curves_reads_each_kind_and_reports_errors_in_place(tmp_path):
    from keraslab.core import KeraslabError, load_curves, load_many_curves
    from keraslab.core.rundir.writer import RunWriter

    tb = tmp_path / "tb"
    write_mixed(tb / "train")
    kl = tmp_path / "kl"
    kl.mkdir()
    w = RunWriter(kl)
    w.write_config({"run": {"dataset": "digits", "model": "mlp", "epochs": 2}})
    w.start(epochs=2)
    for e in range(2):
        w.log_epoch(e, {"loss": 1.0 / (e + 1), "accuracy": 0.5 + e / 10})
    w.finish("completed")
    (tmp_path / "empty").mkdir()
    got = load_many_curves([tb, tmp_path / "empty", kl])
    assert isinstance(got[1], KeraslabError) and "not a run directory" in str(got[1])
    for path, rc in ((tb, got[0]), (kl, got[2])):
        want = load_curves(path)
        assert rc.curves.keys() == want.curves.keys() and rc.warnings == want.warnings
        for name, c in want.curves.items():
            assert (rc.curves[name].steps, rc.curves[name].values) == (c.steps, c.values)
    assert got[2].curves["loss"].values == [1.0, 0.5]
    assert len(got[0].curves["loss"].values) == 300 + 6  # and the doubles every 53 steps


def test_files_are_read_in_name_order_whatever_their_size(tmp_path, monkeypatch):
    """TF1 logs name a tag's plugin only on its first record, maybe in an earlier file:
    files of a directory are read in name order, big or small, one run or many."""
    from tensorboard.compat.proto import event_pb2

    def text_event(step: int, text: str, plugin: bool) -> bytes:
        t = tensor_pb2.TensorProto(dtype=7, string_val=[text.encode()])
        t.tensor_shape.SetInParent()
        v = summary_pb2.Summary.Value(tag="note", tensor=t)
        if plugin:
            v.metadata.plugin_data.plugin_name = "text"
        e = event_pb2.Event(wall_time=1.0, step=step)
        e.summary.value.append(v)
        return encode_record(e.SerializeToString())

    run = tmp_path / "run"
    run.mkdir()
    big = text_event(1, "later", plugin=False) + b"".join(
        encode_record(event_pb2.Event(wall_time=1.0, step=s, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="loss", simple_value=0.5)])).SerializeToString())
        for s in range(300)
    )  # fmt: skip
    (run / "events.out.tfevents.2.h.1.0.v2").write_bytes(big)  # written first, named second
    (run / "events.out.tfevents.1.h.1.0.v2").write_bytes(text_event(0, "hello", plugin=True))
    monkeypatch.setattr(reader, "_BATCH_MAX", len(big) - 1)  # the second file is read on its own
    want = {"note": [(0, "hello"), (1, "later")]}
    fastpath.FAST_TAGS.clear()
    assert read_run_scalars(run).texts == want
    fastpath.FAST_TAGS.clear()
    assert read_runs_scalars([run])[0].texts == want


def test_a_huge_record_ending_like_a_scalar_costs_no_table_its_size(tmp_path, monkeypatch):
    """Header CRCs come from a table over record lengths only while they are small: a
    record longer than that (here one of 100 KB that ends with the scalars tail) is
    checked without one, and the file reads as the loop reads it."""
    monkeypatch.setattr(bulkcrc, "TABLE_LENGTHS", 1 << 12)
    d = tmp_path / "huge"
    with EventWriter(d) as w:
        for step in range(50):
            w.add_scalar("epoch_loss", 1.0 / (step + 1), step)
        w.write_record(b"\x09" + bytes(8) + b"\x1a" + b"\x80\x8d\x06" + b"x" * 100_000 + fastpath.SCALAR_TAIL)
        for step in range(50, 100):
            w.add_scalar("epoch_loss", 1.0 / (step + 1), step)
    loop = read(w.path, bulk=False, monkeypatch=monkeypatch)
    bulk = read(w.path, bulk=True, monkeypatch=monkeypatch)
    assert outcome(bulk) == outcome(loop)
    assert len(loop.scalars["epoch_loss"].steps) == 100
