"""Tests of keraslab.core.tfevents against real event files written by TensorFlow, Keras and TensorBoard."""

from __future__ import annotations

import json
import math
import os
import random
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from keraslab.core.errors import RunStoreError
from keraslab.core.tfevents import (
    EventFileReader,
    EventWriter,
    RunEventReader,
    crc,
    decode,
    encode_record,
    fastpath,
    framing,
    read_run_scalars,
    read_runs_scalars,
    reader,
)
from keraslab.core.tfevents.crc import masked_crc32c
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
from tfevents_oracle import masked_crc, read_records

F32 = dict(rel=1e-6, abs=1e-7)


@pytest.fixture(params=["loop", "bulk"])
def decode_path(request, monkeypatch):
    """For tests whose files EventFileReader decodes: once with the record-by-record
    loop, once with every chunk decoded in bulk (by default only chunks of
    reader.BULK_MIN bytes and more are)."""
    if request.param == "bulk":
        monkeypatch.setattr(reader, "BULK_MIN", 0)
    return request.param


both_paths = pytest.mark.usefixtures("decode_path")


def f32(x: float) -> float:
    return struct.unpack("<f", struct.pack("<f", x))[0]


def only_event_file(d: Path) -> Path:
    (path,) = sorted(d.glob("events.out.tfevents.*"))
    return path


def tensor_value(tag, tensor, plugin="scalars", step=0, wall=None):
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    if plugin is not None:
        value.metadata.plugin_data.plugin_name = plugin
    return summary_pb2.Summary(value=[value])


# --------------------------------------------------------------------------- real logs, once

GEN_SCRIPT = textwrap.dedent(
    r"""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    os.environ["KERAS_BACKEND"] = "tensorflow"
    import numpy as np
    import tensorflow as tf
    import keras
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    root = sys.argv[1]
    # (b) tf.summary in a file writer
    w = tf.summary.create_file_writer(os.path.join(root, "tf"))
    with w.as_default():
        for s in range(4):
            tf.summary.scalar("loss", 1.0 / (s + 1), step=s)
            tf.summary.scalar("big_step", 0.25 * s, step=1000 * s)
            tf.summary.text("note", "hello %d" % s, step=s)
            tf.summary.histogram("hist", np.arange(5.0) * s, step=s)
    w.flush()
    w.close()
    # (a) keras.callbacks.TensorBoard, 3 epochs with validation data
    keras.utils.set_random_seed(0)
    m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    m.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    x = np.random.rand(64, 4).astype("float32")
    y = np.random.randint(0, 3, 64)
    m.fit(x, y, epochs=3, batch_size=16, validation_data=(x, y), verbose=0,
          callbacks=[keras.callbacks.TensorBoard(os.path.join(root, "keras"))])

    out = {}
    for d in json.loads(sys.argv[2]):
        acc = event_accumulator.EventAccumulator(
            os.path.join(root, d), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        tags = acc.Tags()
        res = {"tensors": {}, "scalars": {}, "plugins": {}}
        for tag in tags["tensors"]:
            res["plugins"][tag] = acc.SummaryMetadata(tag).plugin_data.plugin_name
            pts = []
            for e in acc.Tensors(tag):
                a = tensor_util.make_ndarray(e.tensor_proto)
                if a.dtype.kind in "OSU":
                    v = [x.decode() if isinstance(x, bytes) else str(x) for x in a.ravel()]
                    v = v[0] if a.ndim == 0 else v
                elif a.size == 1:
                    v = float(a.ravel()[0])
                else:
                    v = None
                pts.append([e.step, e.wall_time, v])
            res["tensors"][tag] = pts
        for tag in tags["scalars"]:
            res["scalars"][tag] = [[e.step, e.wall_time, e.value] for e in acc.Scalars(tag)]
        out[d] = res
    json.dump(out, open(os.path.join(root, "accumulator.json"), "w"))
    """
)

OURS_STEPS = 5


def _write_our_logs(root: Path) -> None:
    # our writer, Keras layout
    with (
        EventWriter(root / "ours" / "train") as tw,
        EventWriter(root / "ours" / "validation") as vw,
    ):
        tw.add_text("summary", "Dense(64) -> Dense(10)\nlr=0.001", 0)
        for e in range(OURS_STEPS):
            tw.add_scalar("epoch_loss", 1.0 / (e + 1), e, wall_time=1000.0 + e)
            tw.add_scalar("epoch_accuracy", 0.5 + 0.1 * e, e, wall_time=1000.0 + e)
            tw.add_scalar("epoch_learning_rate", 1e-3, e, wall_time=1000.0 + e)
            vw.add_scalar("epoch_loss", 1.5 / (e + 1), e, wall_time=1000.5 + e)
            vw.add_scalar("epoch_accuracy", 0.4 + 0.1 * e, e, wall_time=1000.5 + e)
            tw.flush()
            vw.flush()
    # (c) legacy simple_value summaries (TF1 / tensorboardX / PyTorch) via the raw API
    with EventWriter(root / "legacy") as w:
        for s in range(4):
            summ = summary_pb2.Summary(
                value=[
                    summary_pb2.Summary.Value(tag="legacy/loss", simple_value=2.0 - 0.5 * s),
                    summary_pb2.Summary.Value(tag="legacy/acc", simple_value=0.25 * s),
                ]
            )
            w.add_summary(summ, step=10 * s, wall_time=2000.0 + s)
    # TF1-style tensors: metadata on a tag's first occurrence only; other dtypes
    with EventWriter(root / "tf1style") as w:
        shape = tensor_shape_pb2.TensorShapeProto()
        for s in range(3):
            plugin = "scalars" if s == 0 else None
            t = tensor_pb2.TensorProto(dtype=1, tensor_shape=shape, float_val=[0.5 * s])
            w.add_summary(tensor_value("fv", t, plugin), s, wall_time=3000.0 + s)
            t = tensor_pb2.TensorProto(dtype=2, tensor_shape=shape, double_val=[0.1 * s])
            w.add_summary(tensor_value("dv", t, plugin), s, wall_time=3000.0 + s)
            t = tensor_pb2.TensorProto(
                dtype=2, tensor_shape=shape, tensor_content=struct.pack("<d", 1.5 * s)
            )
            w.add_summary(tensor_value("dc", t, plugin), s, wall_time=3000.0 + s)
            t = tensor_pb2.TensorProto(dtype=9, tensor_shape=shape, int64_val=[-7 * s])
            w.add_summary(tensor_value("i64", t, plugin), s, wall_time=3000.0 + s)
            t = tensor_pb2.TensorProto(dtype=3, tensor_shape=shape, int_val=[s])
            w.add_summary(tensor_value("i32", t, plugin), s, wall_time=3000.0 + s)
            half = struct.unpack("<H", struct.pack("<e", 0.75 * s))[0]
            t = tensor_pb2.TensorProto(dtype=19, tensor_shape=shape, half_val=[half])
            w.add_summary(tensor_value("hv", t, plugin), s, wall_time=3000.0 + s)
            t = tensor_pb2.TensorProto(
                dtype=19, tensor_shape=shape, tensor_content=struct.pack("<e", 1.25 * s)
            )
            w.add_summary(tensor_value("hc", t, plugin), s, wall_time=3000.0 + s)
            # not scalars: a vector and an image-plugin tensor must be ignored
            vec = tensor_shape_pb2.TensorShapeProto(
                dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)]
            )
            t = tensor_pb2.TensorProto(dtype=1, tensor_shape=vec, float_val=[1, 2, 3])
            w.add_summary(tensor_value("vector", t, "scalars" if s == 0 else None), s)
            t = tensor_pb2.TensorProto(dtype=1, tensor_shape=shape, float_val=[9.0])
            w.add_summary(tensor_value("imgplugin", t, "images" if s == 0 else None), s)


ACC_DIRS = [
    "ours/train",
    "ours/validation",
    "legacy",
    "tf1style",
    "tf",
    "keras/train",
    "keras/validation",
]


@pytest.fixture(scope="module")
def real_logs(tmp_path_factory) -> tuple[Path, dict]:
    """Our logs plus TF / Keras-written logs, and what TensorBoard's EventAccumulator reads."""
    root = tmp_path_factory.mktemp("events")
    _write_our_logs(root)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [sys.executable, "-c", GEN_SCRIPT, str(root), json.dumps(ACC_DIRS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, json.loads((root / "accumulator.json").read_text())


# --------------------------------------------------------------------------- CRC and framing


def test_crc32c_known_vector_and_masking():
    assert crc.crc32c(b"123456789") == 0xE3069283
    assert masked_crc32c(b"") == ((0 >> 15 | 0 << 17) + 0xA282EAD8) & 0xFFFFFFFF
    rng = random.Random(1)
    for n in (0, 1, 7, 8, 100, 1000):
        data = bytes(rng.randrange(256) for _ in range(n))
        assert masked_crc32c(data) == masked_crc(data)
    for length in (0, 1, 127, 128, 2**40, 2**64 - 1):
        assert crc.header_crc(length) == masked_crc(struct.pack("<Q", length))


def test_encode_record_layout():
    rec = encode_record(b"hello")
    assert len(rec) == 8 + 4 + 5 + 4
    assert struct.unpack("<Q", rec[:8])[0] == 5
    assert struct.unpack("<I", rec[8:12])[0] == masked_crc32c(rec[:8])
    assert rec[12:17] == b"hello"
    assert struct.unpack("<I", rec[17:])[0] == masked_crc32c(b"hello")


# --------------------------------------------------------------------------- writer


def test_writer_file_name_and_first_record(tmp_path):
    with EventWriter(tmp_path / "a" / "train") as w:
        pass
    path = only_event_file(tmp_path / "a" / "train")
    assert path == w.path
    parts = path.name.split(".")
    assert parts[:3] == ["events", "out", "tfevents"]
    assert parts[3].isdigit() and int(parts[3]) > 1_600_000_000
    assert parts[-1] == "v2" and str(os.getpid()) in parts
    records, offset, warnings = read_records(path)
    assert offset == path.stat().st_size and not warnings
    first = event_pb2.Event.FromString(records[0])
    assert first.file_version == "brain.Event:2" and first.wall_time > 0


def test_two_writers_same_dir_get_distinct_files(tmp_path):
    with EventWriter(tmp_path) as a, EventWriter(tmp_path) as b:
        assert a.path != b.path


def test_writer_closed_raises(tmp_path):
    w = EventWriter(tmp_path)
    w.close()
    w.close()  # idempotent
    assert w.closed
    with pytest.raises(RunStoreError):
        w.add_scalar("x", 1.0, 0)


def test_writer_layout_matches_tensorflow_bytes(real_logs):
    """Our scalar / text Events are byte-identical to TF's, wall_time aside."""
    root, _ = real_logs
    tf_records, _, _ = read_records(only_event_file(root / "tf"))
    tf_events = [event_pb2.Event.FromString(r) for r in tf_records]
    theirs = {}
    for e in tf_events:
        if e.HasField("summary") and e.step == 1:
            theirs[e.summary.value[0].tag] = e
    tmp = root / "bytes-check"
    with EventWriter(tmp) as w:
        w.add_scalar("loss", 0.5, 1, wall_time=theirs["loss"].wall_time)
        w.add_text("note", "hello 1", 1, wall_time=theirs["note"].wall_time)
    ours = [event_pb2.Event.FromString(r) for r in read_records(w.path)[0][1:]]
    assert ours[0].SerializeToString() == theirs["loss"].SerializeToString()
    assert ours[1].SerializeToString() == theirs["note"].SerializeToString()
    # and Keras' callback uses that very layout
    k_records, _, _ = read_records(only_event_file(root / "keras" / "train"))
    k_loss = [
        event_pb2.Event.FromString(r)
        for r in k_records
        if b"epoch_loss" in r and event_pb2.Event.FromString(r).step == 1
    ][0]
    val = struct.unpack("<f", k_loss.summary.value[0].tensor.tensor_content)[0]
    with EventWriter(tmp) as w:
        w.add_scalar("epoch_loss", val, 1, wall_time=k_loss.wall_time)
    assert read_records(w.path)[0][1] == k_loss.SerializeToString()


# --------------------------------------------------------------------------- round trips


@both_paths
def test_roundtrip_our_writer_our_reader(real_logs):
    root, _ = real_logs
    res = read_run_scalars(root / "ours")
    assert not res.warnings
    assert set(res.scalars) == {
        "train/epoch_loss",
        "train/epoch_accuracy",
        "train/epoch_learning_rate",
        "validation/epoch_loss",
        "validation/epoch_accuracy",
    }
    s = res.scalars["train/epoch_loss"]
    assert s.steps == list(range(OURS_STEPS))
    assert s.values == [f32(1.0 / (e + 1)) for e in range(OURS_STEPS)]
    assert s.wall_times == [1000.0 + e for e in range(OURS_STEPS)]
    assert res.scalars["validation/epoch_accuracy"].values == pytest.approx(
        [0.4 + 0.1 * e for e in range(OURS_STEPS)], **F32
    )
    assert res.texts == {"train/summary": [(0, "Dense(64) -> Dense(10)\nlr=0.001")]}
    steps, walls, values = s.to_numpy()
    assert steps.dtype.kind == "i" and list(values) == s.values
    assert s.last() == (OURS_STEPS - 1, s.values[-1])


def _compare_with_accumulator(ours: dict, acc: dict, *, texts: dict | None = None) -> None:
    expected = {}
    for tag, pts in acc["tensors"].items():
        if acc["plugins"].get(tag) in ("scalars", "") and pts and isinstance(pts[0][2], float):
            expected[tag] = pts
    for tag, pts in acc["scalars"].items():
        expected[tag] = pts
    assert set(ours) == set(expected)
    for tag, pts in expected.items():
        s = ours[tag]
        assert s.steps == [p[0] for p in pts], tag
        assert s.wall_times == pytest.approx([p[1] for p in pts], rel=1e-12), tag
        assert s.values == pytest.approx([p[2] for p in pts], **F32), tag
    if texts is not None:
        for tag, pts in acc["tensors"].items():
            if acc["plugins"].get(tag) == "text":
                assert texts[tag] == [(p[0], p[2]) for p in pts]


@both_paths
@pytest.mark.parametrize("d", ACC_DIRS)
def test_reader_agrees_with_event_accumulator(real_logs, d):
    root, acc = real_logs
    reader = EventFileReader(only_event_file(root / d))
    reader.read_new()
    assert not reader.warnings
    _compare_with_accumulator(reader.scalars, acc[d], texts=reader.texts)


def test_tensorboard_reads_our_logs_as_tensors(real_logs):
    _, acc = real_logs
    train = acc["ours/train"]
    assert set(train["tensors"]) == {
        "epoch_loss",
        "epoch_accuracy",
        "epoch_learning_rate",
        "summary",
    }
    assert train["plugins"]["epoch_loss"] == "scalars"
    assert train["plugins"]["summary"] == "text"
    assert [p[0] for p in train["tensors"]["epoch_loss"]] == list(range(OURS_STEPS))
    assert [p[2] for p in train["tensors"]["epoch_loss"]] == pytest.approx(
        [1.0 / (e + 1) for e in range(OURS_STEPS)], **F32
    )
    assert train["tensors"]["summary"][0][2] == "Dense(64) -> Dense(10)\nlr=0.001"
    assert set(acc["ours/validation"]["tensors"]) == {"epoch_loss", "epoch_accuracy"}
    assert acc["legacy"]["scalars"]["legacy/loss"][1][:3:2] == [10, 1.5]


@both_paths
def test_keras_callback_run_dir(real_logs):
    root, acc = real_logs
    res = read_run_scalars(root / "keras")
    assert not res.warnings
    for split in ("train", "validation"):
        for tag in ("epoch_loss", "epoch_accuracy"):
            s = res.scalars[f"{split}/{tag}"]
            assert s.steps == [0, 1, 2]
            assert s.values == pytest.approx(
                [p[2] for p in acc[f"keras/{split}"]["tensors"][tag]], **F32
            )
    assert res.scalars["train/epoch_learning_rate"].values == pytest.approx([1e-3] * 3, **F32)
    assert {str(p.relative_to(root / "keras").parent) for p in res.files} == {"train", "validation"}
    # the Keras model graph (plugin graph_keras_model, a DT_STRING tensor of model.to_json()):
    # described as a text of its layers, never its raw JSON
    (((step, text),),) = res.texts.values()
    assert list(res.texts) == ["train/keras"] and step == 0
    assert text.startswith("Sequential 'sequential'") and "Dense" in text and "{" not in text


@both_paths
def test_tf_file_texts_and_histograms_ignored(real_logs):
    root, _ = real_logs
    res = read_run_scalars(root / "tf")
    assert set(res.scalars) == {"loss", "big_step"}
    assert res.scalars["big_step"].steps == [0, 1000, 2000, 3000]
    assert res.texts["note"] == [(s, f"hello {s}") for s in range(4)]


@both_paths
def test_tf1_style_metadata_on_first_occurrence(real_logs):
    root, _ = real_logs
    r = EventFileReader(only_event_file(root / "tf1style"))
    r.read_new()
    assert set(r.scalars) == {"fv", "dv", "dc", "i64", "i32", "hv", "hc"}
    assert r.scalars["fv"].values == [0.0, 0.5, 1.0]
    assert r.scalars["dv"].values == [0.0, 0.1, 0.2]
    assert r.scalars["dc"].values == [0.0, 1.5, 3.0]
    assert r.scalars["i64"].values == [0, -7, -14]
    assert r.scalars["hv"].values == [0.0, 0.75, 1.5]
    assert r.scalars["hc"].values == [0.0, 1.25, 2.5]


# --------------------------------------------------------------------------- fast path


def _pb_only(path: Path) -> dict:
    """What the protobuf path alone makes of a file (the fast path disabled)."""
    out: dict = {}
    plugins: dict = {}
    for data in read_records(path)[0]:
        wall, step, items = decode.parse_event(data, plugins)
        for kind, tag, val in items:
            if kind == decode.SCALARS:
                out.setdefault(tag, decode.ScalarSeries()).append(step, wall, val)
    return out


@both_paths
@pytest.mark.parametrize("columns", ["numpy", "loop"])
def test_fast_path_equals_protobuf_path(tmp_path, monkeypatch, columns):
    """(``columns``: how the loop decodes a tag's fast-path records; see fastpath.fast_columns)"""
    if columns == "loop":
        monkeypatch.setattr(fastpath, "NUMPY_MIN_RECORDS", 1 << 62)
    steps = [0, 1, 5, 127, 128, 300, 16383, 16384, 2**21 + 3, 2**40, -1, -(2**40), 2**63 - 1]
    rng = random.Random(3)
    with EventWriter(tmp_path) as w:
        for i in range(200):
            step = steps[i % len(steps)] if i < 100 else i
            w.add_scalar("x", rng.uniform(-1e6, 1e6), step, wall_time=rng.uniform(0, 2e9))
            w.add_scalar("tag with ünicode/" + "y" * 200, rng.random(), step)  # 2-byte lengths
            if i % 50 == 0:
                w.add_text("t", "between", step)
        for step in range(0, 20000, 7):  # runs of 1-, 2- and 3-byte step varints
            w.add_scalar("seq", step * 0.5, step)
        for step in range(-300, 0):  # 10-byte varints
            w.add_scalar("neg", step, step)
        for step in range(2**40, 2**40 + 200):
            w.add_scalar("huge", 1.0, step)
    r = EventFileReader(w.path)
    r.read_new()
    expected = _pb_only(w.path)
    assert r.scalars.keys() == expected.keys()
    assert r.scalars["seq"].steps == list(range(0, 20000, 7))
    assert r.scalars["neg"].steps == list(range(-300, 0))
    for tag, s in expected.items():
        got = r.scalars[tag]
        assert got.steps == s.steps and got.values == s.values and got.wall_times == s.wall_times
    assert len(r.texts["t"]) == 4


def test_fast_key_matches_protobuf_encoding():
    for tag in ("a", "epoch_loss", "x" * 130, "ü" * 100, "y" * 20000):
        e = event_pb2.Event(wall_time=1.0, step=3)
        v = e.summary.value.add(tag=tag)
        v.tensor.dtype = 1
        v.tensor.tensor_shape.SetInParent()
        v.tensor.tensor_content = b"\0\0\x80?"
        v.metadata.plugin_data.plugin_name = "scalars"
        data = e.SerializeToString()
        assert data == b"\x09" + struct.pack("<d", 1.0) + b"\x10\x03" + fastpath.fast_key(tag) + (
            b"\0\0\x80?" + fastpath.SCALAR_TAIL
        )


@both_paths
def test_order_kept_when_a_tag_mixes_layouts(tmp_path):
    with EventWriter(tmp_path) as w:
        for s in range(6):
            if s % 2:
                w.add_summary(
                    summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="m", simple_value=s)]),
                    s,
                )
            else:
                w.add_scalar("m", s, s)
    r = EventFileReader(w.path)
    r.read_new()
    assert r.scalars["m"].steps == list(range(6))
    assert r.scalars["m"].values == [float(s) for s in range(6)]


@both_paths
def test_small_chunks_and_records_larger_than_a_chunk(tmp_path, monkeypatch):
    with EventWriter(tmp_path) as w:
        for s in range(40):
            w.add_scalar("a", s, s)
            w.add_text("big", "z" * (500 if s % 10 == 0 else 3), s)
    normal = EventFileReader(w.path)
    normal.read_new()
    monkeypatch.setattr(framing, "CHUNK_BYTES", 37)
    small = EventFileReader(w.path)
    small.read_new()
    assert small.scalars["a"].values == normal.scalars["a"].values == [float(s) for s in range(40)]
    assert small.texts == normal.texts and len(small.texts["big"]) == 40
    assert small.offset == normal.offset == w.path.stat().st_size
    recs, off, warns = read_records(w.path)
    assert len(recs) == 81 and off == w.path.stat().st_size and not warns


# --------------------------------------------------------------------------- incremental


@both_paths
def test_incremental_read_new(tmp_path):
    w = EventWriter(tmp_path / "train")
    r = EventFileReader(w.path)
    assert r.read_new() == {}
    first_offset = r.offset
    assert first_offset > 0  # the file_version record
    for epoch in range(3):
        w.add_scalar("epoch_loss", 1.0 / (epoch + 1), epoch)
        w.add_scalar("epoch_accuracy", 0.25 * epoch, epoch)
        w.flush()
        new = r.read_new()
        assert set(new) == {"epoch_loss", "epoch_accuracy"}
        assert new["epoch_loss"].steps == [epoch]
        assert new["epoch_loss"].values == [f32(1.0 / (epoch + 1))]
        assert r.offset == w.path.stat().st_size and r.last_read_bytes > 0
        again = r.read_new()
        assert again == {} and r.last_read_bytes == 0 and r.offset == w.path.stat().st_size
    assert r.scalars["epoch_loss"].steps == [0, 1, 2]
    assert r.scalars["epoch_accuracy"].values == [0.0, 0.25, 0.5]
    w.close()


@both_paths
def test_run_reader_picks_up_new_files_and_data(tmp_path):
    run = tmp_path / "run"
    tw = EventWriter(run / "train")
    tw.add_scalar("epoch_loss", 1.0, 0)
    tw.flush()
    rr = RunEventReader(run)
    assert rr.refresh()
    first = rr.result()
    assert first.scalars["train/epoch_loss"].values == [1.0]
    assert not rr.refresh()
    assert rr.result() is first
    vw = EventWriter(run / "validation")
    vw.add_scalar("epoch_loss", 2.0, 0)
    vw.flush()
    tw.add_scalar("epoch_loss", 0.5, 1)
    tw.flush()
    assert rr.refresh()
    res = rr.result()
    assert res.scalars["train/epoch_loss"].values == [1.0, 0.5]
    assert res.scalars["validation/epoch_loss"].values == [2.0]
    assert first.scalars["train/epoch_loss"].values == [1.0]  # earlier results stay put
    assert "validation/epoch_loss" not in first.scalars
    tw.close()
    vw.close()


@both_paths
def test_files_of_one_dir_merged_in_name_order_and_bare_tags(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    # explicit names so that the order is known (a resumed run writes a second file)
    for name, steps in (
        ("events.out.tfevents.200.h.1.0.v2", [3, 4]),
        ("events.out.tfevents.100.h.1.0.v2", [0, 1, 2]),
    ):
        body = b"".join(
            encode_record(_scalar_event("loss", s, float(s)).SerializeToString()) for s in steps
        )
        (run / name).write_bytes(body)
    rr = RunEventReader(run)
    rr.refresh()
    for res in (read_run_scalars(run), rr.result(), rr.result(share=True)):
        assert res.scalars["loss"].steps == [0, 1, 2, 3, 4]
    # merging never extends a file reader's own series
    assert sorted(len(r.scalars["loss"]) for r in rr._readers.values()) == [2, 3]
    assert [p.name for p in res.files] == sorted(p.name for p in run.iterdir())


def test_missing_run_dir_raises(tmp_path):
    with pytest.raises(RunStoreError):
        read_run_scalars(tmp_path / "nope")


def _scalar_event(tag: str, step: int, value: float) -> event_pb2.Event:
    e = event_pb2.Event(wall_time=5.0, step=step)
    v = e.summary.value.add(tag=tag)
    v.tensor.dtype = 1
    v.tensor.tensor_shape.SetInParent()
    v.tensor.tensor_content = struct.pack("<f", value)
    v.metadata.plugin_data.plugin_name = "scalars"
    return e


# --------------------------------------------------------------------------- damaged files


@pytest.fixture
def ten_epochs(tmp_path) -> tuple[Path, list[int]]:
    """A file of 10 scalar records after the version record, and each record's offset."""
    with EventWriter(tmp_path / "src") as w:
        for s in range(10):
            w.add_scalar("loss", float(s), s)
    data = w.path.read_bytes()
    offsets = []
    pos = 0
    while pos < len(data):
        offsets.append(pos)
        pos += 16 + struct.unpack_from("<Q", data, pos)[0]
    assert len(offsets) == 11
    return w.path, offsets


@both_paths
def test_truncated_tail_then_resume(tmp_path, ten_epochs):
    src, offsets = ten_epochs
    data = src.read_bytes()
    dst = tmp_path / "d" / src.name
    dst.parent.mkdir()
    ends = offsets[1:] + [len(data)]
    for cut in (offsets[6] + 5, offsets[6] + 14, offsets[6] + 30, len(data) - 1):
        dst.write_bytes(data[:cut])
        r = EventFileReader(dst)
        new = r.read_new()
        complete = sum(1 for e in ends[1:] if e <= cut)  # scalar records wholly written
        assert new["loss"].steps == list(range(complete))
        assert r.offset == offsets[1 + complete] and not r.warnings
        with open(dst, "ab") as f:
            f.write(data[cut:])
        rest = r.read_new()
        assert rest["loss"].steps == list(range(complete, 10)), cut
        assert r.scalars["loss"].steps == list(range(10))
        assert r.offset == len(data) and not r.warnings
    recs, off, warns = read_records(src, offsets[3])
    assert len(recs) == 8 and off == len(data) and not warns
    recs, off, warns = read_records(src, len(data))
    assert recs == [] and off == len(data)


@both_paths
def test_flipped_length_byte_stops_with_warning(tmp_path, ten_epochs):
    src, offsets = ten_epochs
    data = bytearray(src.read_bytes())
    data[offsets[4] + 1] ^= 0x40  # length header of the 4th scalar record
    bad = tmp_path / src.name
    bad.write_bytes(bytes(data))
    r = EventFileReader(bad)
    r.read_new()
    assert r.scalars["loss"].steps == [0, 1, 2]
    assert len(r.warnings) == 1
    assert str(bad) in r.warnings[0] and str(offsets[4]) in r.warnings[0]
    assert r.offset == offsets[4]
    r.read_new()  # polling again does not repeat the warning
    assert len(r.warnings) == 1 and r.scalars["loss"].steps == [0, 1, 2]
    recs, off, warns = read_records(bad)
    assert len(recs) == 4 and off == offsets[4] and len(warns) == 1
    res = read_run_scalars(tmp_path)
    assert len(res.warnings) == 1 and res.scalars["loss"].steps == [0, 1, 2]
    # a run named the way a user types it: the warning names the file plainly
    for name in (f"{tmp_path}//", f"{tmp_path}/./"):
        for res in (read_run_scalars(name), read_runs_scalars([name])[0]):
            assert res.warnings[0].startswith(f"{bad}: "), res.warnings


def test_huge_garbage_length_never_allocated(tmp_path):
    bad = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    header = struct.pack("<Q", 2**62)
    bad.write_bytes(header + struct.pack("<I", masked_crc32c(header)) + b"x" * 100)
    # a valid header with an absurd length is a truncated tail, not an allocation
    recs, off, warns = read_records(bad)
    assert recs == [] and off == 0 and warns == []


@both_paths
def test_flipped_data_byte_skips_that_record(tmp_path, ten_epochs):
    src, offsets = ten_epochs
    data = bytearray(src.read_bytes())
    data[offsets[5] + 12 + 3] ^= 0x01  # inside the 5th scalar's payload
    bad = tmp_path / src.name
    bad.write_bytes(bytes(data))
    r = EventFileReader(bad)
    r.read_new()
    assert r.scalars["loss"].steps == [0, 1, 2, 3, 5, 6, 7, 8, 9]
    assert len(r.warnings) == 1 and str(bad) in r.warnings[0] and "skipped" in r.warnings[0]
    assert r.offset == len(data)
    recs, off, warns = read_records(bad)
    assert len(recs) == 10 and off == len(data) and len(warns) == 1


@both_paths
def test_empty_and_growing_file(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    path.write_bytes(b"")
    r = EventFileReader(path)
    assert r.read_new() == {} and r.offset == 0 and not r.warnings
    assert read_records(path) == ([], 0, [])
    body = b"".join(encode_record(_scalar_event("a", s, s).SerializeToString()) for s in range(3))
    path.write_bytes(body[:7])  # not even a complete header
    assert r.read_new() == {} and r.offset == 0 and not r.warnings
    with open(path, "ab") as f:
        f.write(body[7:])
    assert r.read_new()["a"].steps == [0, 1, 2] and r.offset == len(body)
    assert read_run_scalars(tmp_path).scalars["a"].values == [0.0, 1.0, 2.0]


@both_paths
def test_garbage_file(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    path.write_bytes(bytes(random.Random(5).randrange(256) for _ in range(5000)))
    res = read_run_scalars(tmp_path)
    assert res.scalars == {} and len(res.warnings) == 1 and "damaged" in res.warnings[0]


@both_paths
def test_valid_record_with_garbage_payload(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    path.write_bytes(
        encode_record(b"\xff\xff\xff garbage")
        + encode_record(_scalar_event("a", 1, 2.0).SerializeToString())
    )
    r = EventFileReader(path)
    r.read_new()
    assert r.scalars["a"].values == [2.0]
    assert len(r.warnings) == 1 and "undecodable" in r.warnings[0]


@both_paths
def test_fast_path_lookalike_garbage(tmp_path):
    """A record shaped like a fast-path scalar but with a runaway step varint."""
    bogus = b"\x09" + bytes(8) + b"\x10" + b"\xff" * 12 + b"\x00" * 4 + fastpath.SCALAR_TAIL
    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    path.write_bytes(
        encode_record(bogus) + encode_record(_scalar_event("a", 1, 2.0).SerializeToString())
    )
    r = EventFileReader(path)
    r.read_new()
    assert r.scalars["a"].values == [2.0]
    assert len(r.warnings) == 1 and "undecodable" in r.warnings[0]


@both_paths
def test_shrunk_file_warns(tmp_path, ten_epochs):
    src, offsets = ten_epochs
    r = EventFileReader(src)
    r.read_new()
    src.write_bytes(src.read_bytes()[: offsets[2]])
    assert r.read_new() == {}
    assert len(r.warnings) == 1 and "shrank" in r.warnings[0]


# --------------------------------------------------------------------------- no TensorFlow


def test_reader_never_imports_tensorflow(real_logs):
    root, _ = real_logs
    code = textwrap.dedent(
        f"""
        import sys
        import keraslab.core.tfevents as ev
        res = ev.read_run_scalars({str(root / "keras")!r})
        assert res.scalars["train/epoch_loss"].steps == [0, 1, 2], res
        with ev.EventWriter({str(root / "notf")!r}) as w:
            w.add_scalar("a", 1.0, 0)
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        assert not bad, bad
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]


@both_paths
def test_nan_and_inf_survive(tmp_path):
    with EventWriter(tmp_path) as w:
        w.add_scalar("x", float("nan"), 0)
        w.add_scalar("x", float("inf"), 1)
        w.add_scalar("x", -float("inf"), 2)
    v = read_run_scalars(tmp_path).scalars["x"].values
    assert math.isnan(v[0]) and v[1:] == [math.inf, -math.inf]


# --------------------------------------------------------------------------- odd records


def _raw_scalar(tag: str, step_varint: bytes, value: bytes) -> bytes:
    """A TF2 scalar Event with its step varint and value bytes given raw."""
    return encode_record(b"\x09" + struct.pack("<d", 1.0) + b"\x10" + step_varint
                         + fastpath.fast_key(tag) + value + fastpath.SCALAR_TAIL)  # fmt: skip


@both_paths
@pytest.mark.parametrize("count", [2, 200])  # (200: the loop decodes them with numpy)
def test_ten_byte_step_varint_wraps_like_protobuf(tmp_path, count):
    ten = b"\x85" + b"\x80" * 8 + b"\x03"  # a 10th byte > 1 carries past 64 bits
    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    one = _raw_scalar("loss", b"\x01", struct.pack("<f", 0.5))
    path.write_bytes(one + _raw_scalar("loss", ten, struct.pack("<f", 0.5)) * (count - 1))
    want = event_pb2.Event.FromString(_raw_scalar("loss", ten, b"\0\0\0\0")[12:-4]).step
    assert want < 0  # protobuf keeps the low 64 bits, as a signed step
    fastpath.FAST_TAGS.clear()
    assert read_run_scalars(tmp_path).scalars["loss"].steps == [1] + [want] * (count - 1)


@both_paths
def test_signalling_nan_is_read_quietly(tmp_path):
    import warnings

    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    snan = struct.pack("<I", 0x7F800001)
    path.write_bytes(b"".join(_raw_scalar("x", bytes([s]), snan) for s in range(1, 120)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value in cast" would raise here
        values = read_run_scalars(tmp_path).scalars["x"].values
    assert len(values) == 119 and all(math.isnan(v) for v in values)


@both_paths
def test_empty_and_tiny_events_between_scalars(tmp_path):
    path = tmp_path / "events.out.tfevents.1.h.1.0.v2"
    path.write_bytes(
        encode_record(_scalar_event("a", 1, 1.0).SerializeToString())
        + encode_record(b"")  # an Event with no field set at all
        + encode_record(b"\x09" + fastpath.SCALAR_TAIL)  # short, yet shaped like a fast record
        + encode_record(_scalar_event("a", 2, 2.0).SerializeToString())
    )
    res = read_run_scalars(tmp_path)
    assert res.scalars["a"].steps == [1, 2]
    assert len(res.warnings) <= 1  # at most the undecodable short one


@both_paths
def test_tags_in_the_order_the_file_first_has_them(tmp_path):
    """Known tags (met in an earlier file) must not jump ahead or fall behind."""
    with EventWriter(tmp_path) as w:
        w.add_scalar("zeta", 1.0, 0)
        legacy = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="legacy", simple_value=2)])
        w.add_summary(legacy, 0)
        w.add_scalar("alpha", 3.0, 0)
        for s in range(1, 5):
            w.add_scalar("mid", 4.0, s)
            w.add_scalar("alpha", 3.0, s)
    fastpath.FAST_TAGS.clear()
    first = list(read_run_scalars(tmp_path).scalars)
    again = list(read_run_scalars(tmp_path).scalars)  # now every key is known up front
    assert first == again == ["zeta", "legacy", "alpha", "mid"]


# --------------------------------------------------------------------------- without protobuf


def test_first_records_of_every_writer_are_read_without_protobuf(real_logs):
    """The first record of TensorFlow's, Keras' and our event files (a wall time, the
    file version and the writer's name) is known to hold nothing without parsing it."""
    root, _ = real_logs
    files = [p for p in root.rglob("events.out.tfevents.*")]
    assert len(files) >= 6
    for path in files:
        records, _, _ = read_records(path)
        first = records[0]
        assert decode.file_version_only(first), path
        assert event_pb2.Event.FromString(first).WhichOneof("what") == "file_version"
        assert decode.parse_event(first, {})[2] == []


def test_a_record_taken_for_a_bare_file_version_is_one_to_protobuf():
    """Mutated first records: whenever one passes for a bare file version, protobuf
    reads it without error and finds nothing in it either."""
    base = event_pb2.Event(wall_time=5.0, file_version="brain.Event:2")
    base.source_metadata.writer = "keraslab"
    records = [base.SerializeToString(), event_pb2.Event(wall_time=1.0, file_version="x").SerializeToString()]
    rng = random.Random(7)
    taken = 0
    for _ in range(4000):
        data = bytearray(rng.choice(records))
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            if op < 0.5 and data:
                data[rng.randrange(len(data))] = rng.choice([0, 0x0A, 0x12, 0x1A, 0x2A, 0x52, 0x80, 0xFF, rng.randrange(256)])
            elif op < 0.75 and data:
                del data[rng.randrange(len(data))]
            else:
                data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
        data = bytes(data)
        if decode.file_version_only(data):
            taken += 1
            event = event_pb2.Event.FromString(data)
            assert event.WhichOneof("what") == "file_version" and decode.parse_event(data, {})[2] == [], data
    assert taken > 50


def _scalar_record(key: bytes, value: bytes = b"\0\0\x80?") -> bytes:
    return b"\x09" + struct.pack("<d", 2.0) + b"\x10\x05" + key + value + fastpath.SCALAR_TAIL


def test_a_tag_is_read_from_its_key_as_protobuf_reads_it():
    """A tag is learnt from a TF2 scalar record's key bytes exactly when protobuf would
    read the record as that tag's scalar (and the key is the one fastpath.fast_key makes)."""
    tags = ["a", "epoch_loss", "train/x" * 20, "ü" * 70, "z" * 300]
    for tag in tags:
        assert fastpath.tag_in_key(fastpath.fast_key(tag)) == tag
    rng = random.Random(9)
    learnt = 0
    for _ in range(3000):
        key = bytearray(fastpath.fast_key(rng.choice(tags[:4])))
        for _ in range(rng.randint(1, 2)):
            i = rng.randrange(len(key))
            key[i] = rng.choice([0, 0x0A, 0x2A, 0x80, 0xC3, 0xFF, key[i] + 1 & 0xFF, key[i] - 1 & 0xFF])
        key = bytes(key)
        try:
            items = decode.parse_event(_scalar_record(key), {})[2]
        except Exception:  # noqa: BLE001 - protobuf rejects it
            items = []
        by_protobuf = None
        if len(items) == 1 and items[0][0] == decode.SCALARS and any(
            fastpath.fast_key(items[0][1], lay) == key
            for lay in fastpath.LAYOUTS
            if (lay.tail, lay.width) == fastpath.KINDS[0]  # (the record's kind: this tail, a float32)
        ):
            by_protobuf = items[0][1]
        got = fastpath.tag_in_key(key) if fastpath.key_kind(key) == 0 else None
        assert got == by_protobuf, key
        learnt += got is not None
    assert learnt > 20


def test_scalar_only_logs_are_read_without_protobuf(tmp_path):
    """Logs of scalars (Keras' epoch logs, ours) are read without importing protobuf
    (a fresh `keraslab compare` would spend more on that import than on the logs)."""
    for run in ("a", "b"):
        with EventWriter(tmp_path / run / "train") as w:
            for step in range(300):
                w.add_scalar("epoch_loss", 1.0 / (step + 1), step)
                w.add_scalar("epoch_accuracy", step / 300, step)
    code = textwrap.dedent(
        f"""
        import sys
        import keraslab.core.tfevents as ev
        one = ev.read_run_scalars({str(tmp_path / "a")!r})
        both = ev.read_runs_scalars([{str(tmp_path / "a")!r}, {str(tmp_path / "b")!r}])
        assert one.scalars["train/epoch_loss"].values[:2] == [1.0, 0.5] and not one.warnings
        assert [len(r.scalars["train/epoch_accuracy"].steps) for r in both] == [300, 300]
        bad = sorted(m for m in sys.modules if m.split(".")[0] in ("google", "tensorboard"))
        assert not bad, bad
        print("ok")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-2000:]
