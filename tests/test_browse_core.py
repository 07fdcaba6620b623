"""Browsing runs: discovery of keraslab runs and real TensorBoard logs, damage, cache, filters, smoothing, follow."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from browse_helpers import KERAS_JSON, keras_model_run, keras_tb_run, keraslab_run
from keraslab.core.browse.curves import axis_label, downsample, load_curves, smooth
from keraslab.core.browse.discovery import RunWatcher, discover_runs
from keraslab.core.browse.export import hparam_diff
from keraslab.core.browse.filters import FilterError, filter_runs, parse_filter, sort_runs
from keraslab.core.browse.finding import find_run_dirs
from keraslab.core.browse.summary import metric_name
from keraslab.core.rundir.layout import STATUS_FILE
from keraslab.core.rundir.meta import archive_run, read_notes, write_notes, write_tags
from keraslab.core.tfevents import EventWriter, read_run_scalars

TF_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    import keras
    root = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 8)).astype("float32")
    y = (x[:, 0] > 0).astype("int32")
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    hist = model.fit(x, y, epochs=4, batch_size=64, validation_split=0.25, verbose=0,
                     callbacks=[keras.callbacks.TensorBoard(log_dir=root + "/keras/fit/run-a")])
    from tensorboard.plugins.hparams import api as hp
    w = tf.summary.create_file_writer(root + "/tfsummary/exp1")
    with w.as_default():
        hp.hparams({"lr": 0.01, hp.HParam("units"): 8, "optimizer": "adam", "batchnorm": True})
        for step in range(6):
            tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
            tf.summary.scalar("metrics/acc", step / 10, step=step)
            tf.summary.text("note", "hello", step=0)
    w.flush()
    print(json.dumps({k: [float(v) for v in vs] for k, vs in hist.history.items()}))
    """
)


@pytest.fixture(scope="session")
def tf_logs(tmp_path_factory) -> tuple[Path, dict]:
    """Logs written once per session by Keras' own TensorBoard callback and tf.summary (in a subprocess)."""
    root = tmp_path_factory.mktemp("tf-logs")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-c", TF_SCRIPT, str(root)], capture_output=True,
                          text=True, env=env, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    history = json.loads(proc.stdout.strip().splitlines()[-1])
    return root, history


def _legacy_simple_value_run(path: Path) -> None:
    from tensorboard.compat.proto import summary_pb2

    with EventWriter(path) as w:
        for step in range(3):
            s = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="reward", simple_value=step * 2.0)])
            w.add_summary(s, step, wall_time=1.6e9 + step)


def test_keras_callback_and_tf_summary_logs_become_runs(tf_logs, tmp_path):
    root, history = tf_logs
    logdir = tmp_path / "logs"
    shutil.copytree(root, logdir)
    keraslab_run(logdir / "mine", "digits-cnn", epochs=3)
    _legacy_simple_value_run(logdir / "legacy" / "rl-1")

    runs = {r.name: r for r in discover_runs(logdir)}
    assert set(runs) == {"keras/fit/run-a", "tfsummary/exp1", "mine/digits-cnn-1", "legacy/rl-1"}

    keras_run = runs["keras/fit/run-a"]
    assert keras_run.kind == "tensorboard" and keras_run.epochs == 4
    assert keras_run.best_val_accuracy == pytest.approx(max(history["val_accuracy"]), abs=1e-6)
    assert keras_run.metrics["loss"].last == pytest.approx(history["loss"][-1], rel=1e-5)
    assert keras_run.metrics["val_loss"].count == 4 and not keras_run.warnings

    tfs = runs["tfsummary/exp1"]
    assert tfs.metrics["loss"].first == pytest.approx(1.0) and tfs.metrics["loss"].count == 6
    assert tfs.metrics["metrics/acc"].max == pytest.approx(0.5)
    assert tfs.hparams == {"lr": 0.01, "units": 8, "optimizer": "adam", "batchnorm": True}
    # the model graph Keras' callback writes: its compile settings, and the layers for the detail
    assert keras_run.hparams == {"optimizer": "adam", "learning_rate": 0.001, "loss": "sparse_categorical_crossentropy"}
    (model_text,) = [t for _, t in load_curves(keras_run.path).texts["train/keras"]]
    assert model_text.startswith("Sequential 'sequential': 2 layers, input (None, 8)")
    assert "Dense  units=8, activation=relu" in model_text and "activation=softmax" in model_text
    assert runs["legacy/rl-1"].metrics["reward"].last == 4.0
    mine = runs["mine/digits-cnn-1"]
    assert mine.kind == "keraslab" and mine.status == "completed" and mine.epochs == 3
    assert mine.hparams["learning_rate"] == 1e-3

    curves = load_curves(keras_run.path).curves
    assert curves["val_accuracy"].epochs == [1, 2, 3, 4] and curves["val_accuracy"].steps == [0, 1, 2, 3]
    assert curves["accuracy"].values == pytest.approx(history["accuracy"], rel=1e-5)
    # x-axis titles: Keras' epoch_* tags count epochs, tf.summary's steps are steps
    by_step = load_curves(tfs.path).curves["loss"]
    assert curves["loss"].per_epoch and not by_step.per_epoch
    assert axis_label([curves["loss"], curves["val_loss"]], "epoch") == "epoch"
    assert axis_label([by_step], "epoch") == "step"
    assert axis_label([curves["loss"], by_step], "epoch") == "epoch / step"
    assert axis_label([by_step], "time") == "seconds" and axis_label([by_step], "step") == "step"
    batch = load_curves(mine.path).curves
    assert all(c.per_epoch for c in batch.values())  # keraslab batch points: fractional epochs


def test_tensorboardx_logs_become_runs_with_their_hparams(tmp_path):
    """Another framework's writer (tensorboardX, PyTorch's SummaryWriter's ancestor): legacy
    simple_value scalars, add_scalars' sub-directories, texts and add_hparams' values."""
    from tensorboardX import SummaryWriter

    logdir = tmp_path / "logs"
    for name, lr in (("tbx-a", 0.1), ("tbx-b", 0.001)):
        w = SummaryWriter(str(logdir / name))
        for step in range(5):
            w.add_scalar("Loss/train", 1.0 / (step + 1), step, walltime=1.7e9 + step)
            w.add_scalars("acc", {"train": step / 10, "val": step / 20}, step, walltime=1.7e9 + step)
        w.add_text("notes", "**markdown** note", 0)
        w.add_hparams({"lr": lr, "batch": 64, "optim": "sgd", "nesterov": False}, {"hparam/best": 0.5})
        w.close()

    runs = {r.name: r for r in discover_runs(logdir)}
    assert set(runs) == {"tbx-a", "tbx-b"}
    a = runs["tbx-a"]
    assert a.kind == "tensorboard" and not a.warnings
    assert a.metrics["loss"].count == 5 and a.metrics["loss"].last == pytest.approx(0.2)  # Loss/train
    assert a.metrics["accuracy"].max == pytest.approx(0.4)  # add_scalars: acc/train/acc, acc/val/acc
    assert a.metrics["val_accuracy"].max == pytest.approx(0.2)
    assert a.metric_tags["val_accuracy"] == "acc/val/acc" and a.best_val_accuracy == pytest.approx(0.2)
    assert a.hparams == {"lr": 0.1, "batch": 64, "optim": "sgd", "nesterov": False}
    # add_hparams' metric lives in a sub-run named by time.time(): one name in every run
    assert a.metrics["hparam/best"].last == 0.5 and runs["tbx-b"].metrics["hparam/best"].count == 1
    assert load_curves(a.path).curves["hparam/best"].values == [0.5]
    assert isinstance(a.hparams["batch"], int)
    assert dict(hparam_diff(list(runs.values()))) == {"lr": [0.1, 0.001]}
    assert [r.name for r in filter_runs(runs.values(), parse_filter("lr < 0.01"))] == ["tbx-b"]

    watcher = RunWatcher(logdir)  # from the summary cache: nothing read again
    watcher.scan()
    cached = {r.name: r for r in watcher.summaries()}
    assert watcher.bytes_read == 0 and cached["tbx-a"].hparams == a.hparams
    assert cached["tbx-b"].hparams["lr"] == 0.001
    read = read_run_scalars(a.path)
    assert read.texts["notes/text_summary"] == [(0, "**markdown** note")] and not read.warnings


def test_a_metric_logged_by_the_writer_and_by_add_hparams_keeps_two_names(tmp_path):
    """add_hparams' "accuracy" (in its time-named sub-run) and the writer's own "accuracy":
    two metrics, named alike by the summary and the curves, never one mixed series."""
    from tensorboardX import SummaryWriter

    w = SummaryWriter(str(tmp_path / "logs" / "sweep"))
    for step in range(10):
        w.add_scalar("accuracy", step / 10, step, walltime=1.7e9 + step)
    w.add_hparams({"lr": 0.1}, {"accuracy": 0.9})
    w.close()
    (run,) = discover_runs(tmp_path / "logs")
    assert run.metrics["accuracy"].count == 10 and run.metrics["accuracy"].last == pytest.approx(0.9)
    (other,) = [m for m in run.metrics if m != "accuracy"]
    assert other.endswith("/accuracy") and run.metrics[other].count == 1
    curves = load_curves(run.path).curves
    assert set(curves) == set(run.metrics) and len(curves["accuracy"]) == 10


def test_a_damaged_hparams_record_costs_only_its_own_value(tmp_path):
    from tensorboard.compat.proto import summary_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="hparams", content=b"\xff\xff")
    )
    with EventWriter(tmp_path / "run") as w:
        w.add_summary(summary_pb2.Summary(value=[
            summary_pb2.Summary.Value(tag="_hparams_/session_start_info", metadata=meta),
            summary_pb2.Summary.Value(tag="other", simple_value=3.0),
        ]), 0, wall_time=1.7e9)  # fmt: skip
    read = read_run_scalars(tmp_path / "run")
    assert read.scalars["other"].values == [3.0] and not read.warnings
    (run,) = discover_runs(tmp_path)
    assert run.hparams == {} and run.metrics["other"].last == 3.0


def test_a_keras_model_graph_describes_the_layers_and_gives_way_to_hparams(tmp_path):
    keras_model_run(tmp_path / "logs" / "net", KERAS_JSON, hparams={"learning_rate": 0.05})
    (run,) = discover_runs(tmp_path / "logs")
    # the HParams plugin's value wins over what the model graph tells; the rest is kept
    assert run.hparams == {"optimizer": "sgd", "learning_rate": 0.05, "loss": "mse"}
    (text,) = [t for _, t in load_curves(run.path).texts["train/keras"]]
    lines = text.splitlines()
    assert lines[0] == "Functional 'net': 3 layers, input (None, 28, 28, 1)"
    assert "c1     Conv2D      filters=32, kernel_size=3x3, strides=1x1, padding=same, activation=relu" in lines
    assert "head   Sequential  2 layers" in lines and "act    Activation  activation=ReLU" in lines
    assert lines[-1] == "compiled with optimizer=sgd, learning_rate=ExponentialDecay, loss=mse"

    keras_model_run(tmp_path / "logs2" / "plain", KERAS_JSON)
    (run,) = discover_runs(tmp_path / "logs2")
    assert run.hparams["learning_rate"] == "ExponentialDecay"
    keras_model_run(tmp_path / "logs3" / "odd", {"not": "a model"})
    (run,) = discover_runs(tmp_path / "logs3")
    assert run.hparams == {} and not load_curves(run.path).texts and not run.warnings


def test_damaged_copies_warn_by_file_and_keep_the_rest(tf_logs, tmp_path):
    root, history = tf_logs
    src = root / "keras" / "fit" / "run-a"
    logdir = tmp_path / "logs"

    def copy(name: str) -> tuple[Path, Path]:
        dst = logdir / name
        shutil.copytree(src, dst)
        (train,) = [p for p in (dst / "train").iterdir() if p.name.startswith("events.out.tfevents")]
        return dst, train

    _, truncated = copy("truncated")
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) - 7])
    _, flipped = copy("flipped")
    data = bytearray(flipped.read_bytes())
    data[len(data) // 2] ^= 0xFF
    flipped.write_bytes(bytes(data))
    _, header = copy("bad-header")
    data = bytearray(header.read_bytes())
    data[0] ^= 0x55  # the first record's length
    header.write_bytes(bytes(data))
    _, empty = copy("empty")
    empty.write_bytes(b"")
    old = time.time() - 3600
    for p in (truncated, flipped, header, empty):
        os.utime(p, (old, old))

    runs = {r.name: r for r in discover_runs(logdir)}
    assert set(runs) == {"truncated", "flipped", "bad-header", "empty"}
    for name, damaged in (("truncated", truncated), ("flipped", flipped), ("bad-header", header), ("empty", empty)):
        run = runs[name]
        assert any(str(damaged) in w for w in run.warnings), (name, run.warnings)
        # the validation split is intact and still shows
        assert run.best_val_accuracy == pytest.approx(max(history["val_accuracy"]), abs=1e-6)
    assert "truncated" in " ".join(runs["truncated"].warnings)
    assert "damaged record header" in " ".join(runs["bad-header"].warnings)
    assert "empty event file" in " ".join(runs["empty"].warnings)
    assert runs["bad-header"].metrics.get("loss") is None


def test_reopening_reads_nothing_but_the_cache(tmp_path):
    logdir = tmp_path / "logs"
    for i in range(3):
        keraslab_run(logdir, "mnist-cnn", epochs=4)
        keras_tb_run(logdir / f"tb-{i}", epochs=4)
    first = {r.name: r.to_dict() for r in discover_runs(logdir)}
    assert (logdir / ".keraslab-cache.json").is_file()

    opened: list[str] = []
    watching = {"on": True}

    def hook(event, args):
        if watching["on"] and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            opened.append(os.fsdecode(args[0]))

    sys.addaudithook(hook)
    try:
        second = {r.name: r.to_dict() for r in discover_runs(logdir)}
    finally:
        watching["on"] = False
    assert second == first
    under = [p for p in opened if p.startswith(str(logdir))]
    assert under == [str(logdir / ".keraslab-cache.json")]

    # one run grows: only its new bytes are read
    with EventWriter(logdir / "tb-1" / "validation") as w:
        w.add_scalar("epoch_accuracy", 0.999, 4, wall_time=1.7e9 + 10)
    watcher = RunWatcher(logdir)
    watcher.scan()
    reads = {Path(k).name: s.bytes_read for k, s in watcher.states.items() if s.bytes_read}
    assert list(reads) == ["tb-1"] and reads["tb-1"] < 300  # the new event file only
    assert watcher.summary(logdir / "tb-1").best_val_accuracy == pytest.approx(0.999)


def test_preload_shows_the_cache_then_scan_checks_it(tmp_path, monkeypatch):
    keras_tb_run(tmp_path / "tb-1")
    keraslab_run(tmp_path, "kl-1", epochs=2)
    first = {r.name: r.to_dict() for r in discover_runs(tmp_path)}  # writes the cache
    with EventWriter(tmp_path / "tb-1" / "validation") as w:  # a run grows after that
        w.add_scalar("epoch_accuracy", 0.999, 5, wall_time=1.7e9 + 10)
    watcher = RunWatcher(tmp_path)
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(os, "stat", lambda p, *a, **k: stats.append(p) or real_stat(p, *a, **k))
    assert watcher.preload()
    assert not [p for p in stats if str(p).startswith(str(tmp_path / "tb-1"))]  # no run touched
    assert {r.name: r.to_dict() for r in watcher.summaries()} == first  # as cached
    assert not watcher.preload()  # once
    assert watcher.scan() == [tmp_path / "tb-1"]  # the scan finds what changed since
    assert [p for p in stats if str(p).startswith(str(tmp_path / "tb-1"))]  # (by stat'ing)
    assert watcher.summary(tmp_path / "tb-1").best_val_accuracy == pytest.approx(0.999)
    assert not RunWatcher(tmp_path, use_cache=False).preload()


def test_stale_heartbeat_is_interrupted(tmp_path):
    run = keraslab_run(tmp_path, "cifar10-cnn", epochs=2, status=None)
    status = json.loads((run / STATUS_FILE).read_text())
    assert status["status"] == "running"
    assert discover_runs(tmp_path, use_cache=False)[0].status == "running"
    status["heartbeat"] = time.time() - 3600
    (run / STATUS_FILE).write_text(json.dumps(status))
    assert discover_runs(tmp_path)[0].status == "interrupted"


def test_nested_log_dirs_and_names(tmp_path):
    keras_tb_run(tmp_path / "a" / "fit" / "20240101-120000")
    keras_tb_run(tmp_path / "a" / "fit" / "20240102-120000")
    (tmp_path / "not-a-run" / "deeper").mkdir(parents=True)
    found = [p.relative_to(tmp_path).as_posix() for p, _ in find_run_dirs(tmp_path)]
    assert found == ["a/fit/20240101-120000", "a/fit/20240102-120000"]
    assert metric_name("train/epoch_loss") == "loss"
    assert metric_name("validation/epoch_accuracy") == "val_accuracy"
    assert metric_name("Loss/train") == "loss"  # (the metric map: tests/test_tagmap.py)


def _runs(tmp_path):
    keraslab_run(tmp_path, "mnist-a", dataset="mnist", lr=1e-3, peak=0.999)
    keraslab_run(tmp_path, "mnist-b", dataset="mnist", lr=1e-2, peak=0.95, test_accuracy=None)
    keraslab_run(tmp_path, "fashion", dataset="fashion_mnist", lr=1e-3, peak=0.9)
    keras_tb_run(tmp_path / "plain")
    return discover_runs(tmp_path)


def test_filter_expressions(tmp_path):
    runs = _runs(tmp_path)

    def names(expr):
        return sorted(r.name for r in filter_runs(runs, expr))

    assert names("val_accuracy > 0.98 and dataset == mnist") == ["mnist-a-1"]
    assert names("mnist") == ["fashion-1", "mnist-a-1", "mnist-b-1"]  # text: fashion_mnist too
    assert names("dataset == mnist") == ["mnist-a-1", "mnist-b-1"]
    assert names("not dataset == mnist and kind == keraslab") == ["fashion-1"]
    assert names("learning_rate >= 0.005 or kind = tensorboard") == ["mnist-b-1", "plain"]
    assert names("(dataset == fash* or test_acc > 0.5) and val_loss.last < 0.3") == ["fashion-1", "mnist-a-1"]
    assert names("test_acc != 0.9") == ["mnist-b-1", "plain"]
    assert names("") == sorted(r.name for r in runs)
    for bad, message in [
        ("val_accuracy >", "expected a value after '>' at the end"),
        ("(dataset == mnist", "missing ')'"),
        ("and mnist", "'and' needs something before it"),
        ("> 3", "a field name must come before '>'"),
        ("name == 'x", "unclosed quote"),
        ("a ) b", "unexpected ')'"),
    ]:
        with pytest.raises(FilterError) as info:
            parse_filter(bad)
        assert message in str(info.value) and "\n" not in str(info.value)


def test_sorting_puts_missing_values_last(tmp_path):
    runs = _runs(tmp_path)
    by_test = [r.name for r in sort_runs(runs, "test_acc")]
    assert by_test[-2:] == ["mnist-b-1", "plain"] or by_test[-2:] == ["plain", "mnist-b-1"]
    assert [r.name for r in sort_runs(runs, "best_val_acc", reverse=True)][0] == "mnist-a-1"
    assert [r.name for r in sort_runs(runs, "learning_rate", reverse=True)][0] == "mnist-b-1"
    with pytest.raises(FilterError):
        sort_runs(runs, "no_such_column")


def test_hparam_diff_lists_only_differences(tmp_path):
    runs = [r for r in _runs(tmp_path) if r.kind == "keraslab"]
    diff = dict(hparam_diff(runs))
    assert set(diff) == {"dataset", "learning_rate"}
    assert diff["learning_rate"] == [r.hparams["learning_rate"] for r in runs]


def test_smoothing_matches_tensorboard():
    # TensorBoard: last = last*w + (1-w)*v; smoothed = last / (1 - w**n)
    assert smooth([1.0, 2.0, 3.0], 0.5) == pytest.approx([1.0, 1.25 / 0.75, 2.125 / 0.875])
    assert smooth([1.0, 2.0, 3.0], 0.0) == [1.0, 2.0, 3.0]
    assert smooth([4.0, 4.0, 4.0], 0.9) == [4.0, 4.0, 4.0]  # constant series unchanged
    out = smooth([1.0, math.nan, 3.0], 0.6)
    assert out[0] == 1.0 and math.isnan(out[1])
    assert out[2] == pytest.approx((0.4 * 1 * 0.6 + 0.4 * 3) / (1 - 0.6**2))
    with pytest.raises(ValueError):
        smooth([1.0], 1.5)


def test_notes_tags_archive(tmp_path):
    run = keraslab_run(tmp_path, "mnist-cnn")
    write_notes(run, "lr too high?")
    write_tags(run, ["baseline", "v2"])
    (summary,) = discover_runs(tmp_path)
    assert summary.tags == ["baseline", "v2"] and read_notes(run).startswith("lr too high?")
    assert [r.name for r in filter_runs([summary], "baseline")] == ["mnist-cnn-1"]
    target = archive_run(run, tmp_path)
    assert target == tmp_path / ".archive" / "mnist-cnn-1" and not run.exists()
    assert discover_runs(tmp_path) == []


FOLLOW_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[2])
    from keraslab.core.rundir.writer import RunWriter
    from keraslab.core.tfevents import EventWriter
    run = Path(sys.argv[1]) / "live-1"
    run.mkdir(parents=True)
    w = RunWriter(run)
    w.write_config({"run": {"dataset": "digits", "model": "cnn", "epochs": 4}})
    w.start(epochs=4)
    tb = EventWriter(Path(sys.argv[1]) / "plain-live" / "validation")
    for e in range(1, 5):
        w.log_epoch(e, {"loss": 1.0 / e, "val_accuracy": e / 10})
        tb.add_scalar("epoch_accuracy", e / 10, e - 1)
        tb.flush()
        ack = Path(sys.argv[1]).parent / f"ack-{e}"
        while not ack.exists():
            time.sleep(0.01)
    w.finish("completed")
    w.close()
    tb.close()
    """
)


def test_follow_reads_only_new_bytes_while_another_process_appends(tmp_path):
    logdir = tmp_path / "logs"
    logdir.mkdir()
    tests_dir = str(Path(__file__).parent)
    child = subprocess.Popen([sys.executable, "-c", FOLLOW_CHILD, str(logdir), tests_dir])
    watcher = RunWatcher(logdir)
    try:
        seen = 0
        deadline = time.monotonic() + 60
        while seen < 4 and time.monotonic() < deadline:
            before = watcher.bytes_read
            changed = watcher.scan()
            live = watcher.summary(logdir / "live-1")
            plain = watcher.summary(logdir / "plain-live")
            if live and plain and live.epochs > seen and plain.epochs == live.epochs:
                assert live.epochs == seen + 1  # the child waits for our ack
                assert logdir / "live-1" in changed or seen == 0
                if seen:
                    # one metrics line and two small event records, not the whole files
                    assert watcher.bytes_read - before < 600
                seen = live.epochs
                assert live.metrics["val_accuracy"].last == pytest.approx(seen / 10)
                assert plain.best_val_accuracy == pytest.approx(seen / 10)
                (tmp_path / f"ack-{seen}").touch()
            time.sleep(0.02)
        assert seen == 4
        assert child.wait(timeout=30) == 0
        watcher.scan()
        assert watcher.summary(logdir / "live-1").status == "completed"
        before = watcher.bytes_read
        assert watcher.scan() == [] and watcher.bytes_read == before  # idle: stat only
    finally:
        if child.poll() is None:
            child.kill()


def test_browse_path_never_imports_tensorflow_and_core_never_imports_textual(tmp_path):
    keraslab_run(tmp_path, "mnist-cnn")
    keras_tb_run(tmp_path / "plain")
    code = textwrap.dedent(
        f"""
        import sys
        import keraslab.core as core
        runs = core.discover_runs({str(tmp_path)!r})
        core.load_curves(runs[0].path); core.load_curves(runs[1].path)
        core.export_runs(runs, "json")
        assert "textual" not in sys.modules, "core imported textual"
        import keraslab.tui.cli_runs, keraslab.tui.browse_app
        from keraslab.tui.screens import runs_browser, run_detail, compare
        bad = [m for m in ("tensorflow", "keras") if m in sys.modules]
        print("imported:", bad)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "imported: []" in proc.stdout


def test_unreadable_event_file_warns_by_name_and_keeps_the_rest(tmp_path, monkeypatch):
    """A file the user may not read (tests run as root, so chmod cannot make one): the
    reader's opens fail with PermissionError for that file only."""
    from keraslab.core.tfevents import framing as events

    run = keras_tb_run(tmp_path / "logs" / "locked", epochs=4)
    (locked,) = (run / "train").glob("events.out.tfevents.*")
    real_open, real_os_open = open, os.open

    def guard(real):
        def guarded_open(path, *args, **kwargs):
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path, *args, **kwargs)

        return guarded_open

    monkeypatch.setattr(events, "open", guard(real_open), raising=False)
    monkeypatch.setattr(os, "open", guard(real_os_open))  # (files read together)
    (summary,) = discover_runs(tmp_path / "logs", use_cache=False)
    assert any(str(locked) in w and "Permission denied" in w for w in summary.warnings), summary.warnings
    assert summary.best_val_accuracy == pytest.approx((1 - math.exp(-4)) - 0.02, abs=1e-6)
    assert summary.metrics.get("loss") is None  # the train split could not be read
    assert summary.metrics["val_loss"].count == 4


def test_showing_cached_runs_imports_no_event_decoding_modules(tmp_path):
    """numpy, crc32c and the protobuf classes cost ~0.15 s to import: a table shown from
    the summary cache must not load them (they load on the first event file read)."""
    keraslab_run(tmp_path, "mnist-cnn")
    keras_tb_run(tmp_path / "plain")
    discover_runs(tmp_path)  # writes the cache
    code = textwrap.dedent(
        f"""
        import sys
        from keraslab.core.browse.discovery import RunWatcher
        w = RunWatcher([{str(tmp_path)!r}])
        assert w.preload() and len(w.summaries()) == 2
        import keraslab.core.browse.filters, keraslab.tui.screens.runs_browser
        print("loaded:", [m for m in ("numpy", "crc32c", "tensorboard", "google.protobuf") if m in sys.modules])
        w.scan()  # checks the cache: nothing changed, nothing read
        print("after scan:", [m for m in ("numpy", "crc32c") if m in sys.modules])
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "loaded: []" in proc.stdout
    assert "after scan: []" in proc.stdout


def test_metric_stats_add_many_equals_add_point_by_point():
    import random

    from keraslab.core.rundir.metricstats import MetricStats

    rng = random.Random(7)
    for _ in range(300):
        n = rng.randint(1, 12)
        steps = list(range(n))
        walls = [None if rng.random() < 0.3 else 100.0 + i for i in range(n)]
        values = [math.nan if rng.random() < 0.2 else rng.uniform(-5, 5) for _ in range(n)]
        one = MetricStats()
        for s, w, v in zip(steps, walls, values, strict=True):
            one.add(s, w, v)
        many = MetricStats()
        cut = rng.randint(0, n)
        many.add_many(steps[:cut], walls[:cut], values[:cut])
        many.add_many(steps[cut:], walls[cut:], values[cut:])
        assert vars(many) == vars(one), (steps, walls, values, cut)
        assert vars(one.copy()) == vars(one) and one.copy() is not one


def test_metric_lines_parsed_as_json_loads_per_line_would():
    """metrics.jsonl lines are decoded from text decoded once (faster than json.loads
    per line), with the same records and the same count of damaged lines."""
    import random

    from keraslab.core.rundir.reader import parse_metric_lines

    def per_line(data: bytes):
        consumed = data.rfind(b"\n") + 1
        records, damaged = [], 0
        for line in data[:consumed].splitlines():
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError:
                damaged += 1
                continue
            if isinstance(record, dict):
                records.append(record)
        return records, damaged, consumed

    good = [json.dumps({"type": "epoch", "epoch": i, "loss": 1 / (i + 1), "name": "a}b{c"}).encode()
            for i in range(6)]  # fmt: skip
    pieces = [b"{", b"}", b"[1, 2]", b"{} {}", b'{"a": 1}, {"b": 2}', b"", b"  ", b"null",
              b'{"x": [1', b'2]}', b'"s"', b"{\"u\": 1}\r"]  # fmt: skip
    rng = random.Random(3)
    for _ in range(500):
        lines = [rng.choice(good) if rng.random() < 0.7 else rng.choice(pieces) for _ in range(rng.randint(0, 8))]
        data = b"\n".join(lines) + (b"\n" if rng.random() < 0.7 else b'{"partial": ')
        assert parse_metric_lines(data) == per_line(data), data
    data = b"\n".join(good) + b"\n"
    assert parse_metric_lines(data) == per_line(data) and len(per_line(data)[0]) == 6
    # damaged lines that would pair up into whole objects if parsed together
    data = b'{"x": [1\n2]}\n{"a": 1}, {"b": 2}\n{"note": "}\n{", "loss": 9}\n{"ok": 1}\n\xff{}\n'
    assert parse_metric_lines(data) == ([{"ok": 1}], 6, len(data))


def test_tensorboard_runs_read_together_as_one_by_one(tmp_path):
    """A scan reads the event files of all new TensorBoard runs in one pass: the stats,
    warnings and offsets are those of reading each run on its own, damage included."""
    from keraslab.core.browse.tensorboard_state import TensorBoardRunState, refresh_tensorboard_runs

    for i in range(6):
        keras_tb_run(tmp_path / f"r{i}", epochs=3 + i, t0=1.7e9 + i)
    victim = next((tmp_path / "r2" / "train").glob("events.out.tfevents.*"))
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF  # a flipped byte inside a record
    victim.write_bytes(bytes(data))
    (tmp_path / "r4" / "validation" / "events.out.tfevents.1.empty.v2").write_bytes(b"")

    def states():
        return [TensorBoardRunState(tmp_path / f"r{i}", f"r{i}", tmp_path) for i in range(6)]

    together = states()
    assert refresh_tensorboard_runs(together) == [True] * 6
    alone = states()
    assert [s.refresh() for s in alone] == [True] * 6
    for a, b in zip(together, alone, strict=True):
        assert a.to_cache() == b.to_cache()
        assert a.summary().metrics == b.summary().metrics and a.summary().warnings == b.summary().warnings
    assert any("events.out.tfevents" in w for w in together[2].warnings)
    assert refresh_tensorboard_runs(together) == [False] * 6  # nothing new: nothing changed


def test_a_file_removed_between_listing_and_reading_leaves_no_warning(tmp_path, monkeypatch):
    from keraslab.core.browse import tensorboard_state

    for run in ("a", "b"):
        keras_tb_run(tmp_path / run, epochs=3)
    watcher = RunWatcher([tmp_path], use_cache=False)
    watcher.scan()
    EventWriter(tmp_path / "b" / "validation").close()  # a new file: listed at the next scan
    real = tensorboard_state.read_together

    def racing(files, return_new=False):  # ...and removed before it is read
        for f in files:
            if f.path.parent == tmp_path / "b" / "validation" and f.offset == 0:
                f.path.unlink()
        return real(files, return_new)

    monkeypatch.setattr(tensorboard_state, "read_together", racing)
    watcher.scan()
    monkeypatch.setattr(tensorboard_state, "read_together", real)
    watcher.scan()
    b = next(s for s in watcher.summaries() if s.name == "b")
    assert b.warnings == [] and b.metrics["val_loss"].count == 3


def test_a_run_deleted_and_trained_again_under_its_name_is_read_anew(tmp_path):
    """The summary cache still knows the old run's files and byte offsets; the new run's
    files are other files (another inode) and are read from their start."""
    run = keraslab_run(tmp_path, "mnist-cnn", epochs=3)
    keras_tb_run(tmp_path / "plain", epochs=3)
    assert {r.name: r.epochs for r in discover_runs(tmp_path)} == {"mnist-cnn-1": 3, "plain": 3}
    shutil.rmtree(run)
    shutil.rmtree(tmp_path / "plain")
    again = keraslab_run(tmp_path, "mnist-cnn", epochs=6)
    keras_tb_run(tmp_path / "plain", epochs=5, t0=1.8e9)
    assert again == run
    cached = {r.name: r for r in discover_runs(tmp_path)}
    fresh = {r.name: r for r in discover_runs(tmp_path, use_cache=False)}
    for name in ("mnist-cnn-1", "plain"):
        assert cached[name].warnings == fresh[name].warnings == []
        assert cached[name].metrics == fresh[name].metrics
    assert cached["mnist-cnn-1"].epochs == 6 and cached["plain"].epochs == 5


def test_a_shrunk_event_file_is_read_again_without_counting_points_twice(tmp_path):
    keras_tb_run(tmp_path / "plain", epochs=4)
    watcher = RunWatcher([tmp_path], use_cache=False)
    watcher.scan()
    train = next((tmp_path / "plain" / "train").glob("events.out.tfevents.*"))
    data = train.read_bytes()
    with open(train, "r+b") as f:  # the same file, cut after its first half
        f.truncate(len(data) // 2)
    watcher.scan()
    run = watcher.summaries()[0]
    assert any("shrank" in w for w in run.warnings)
    fresh = discover_runs(tmp_path, use_cache=False)[0]
    assert run.metrics == fresh.metrics  # as read from scratch: no point twice
    # another, longer file under the same name (another writer's): read from its start
    other = keras_tb_run(tmp_path / "other", epochs=9, t0=1.9e9)
    longer = next((other / "train").glob("events.out.tfevents.*")).read_bytes()
    assert len(longer) > len(data)
    train.write_bytes(longer)
    watcher.scan()
    run = next(r for r in watcher.summaries() if r.name == "plain")
    fresh = next(r for r in discover_runs(tmp_path, use_cache=False) if r.name == "plain")
    assert run.metrics == fresh.metrics and run.metrics["loss"].count == 9


def test_metrics_lines_become_the_stats_that_point_by_point_adding_gives(tmp_path):
    """metrics.jsonl is folded into stats column by column, read in pieces as a live run
    grows: the same stats as adding every number of every epoch line one by one."""
    import random

    from keraslab.core.browse.keraslab_state import KeraslabRunState
    from keraslab.core.rundir.metricstats import MetricStats

    rng = random.Random(5)
    for trial in range(40):
        run = tmp_path / f"r{trial}"
        run.mkdir()
        (run / "config.json").write_text("{}")
        lines, expect = [], {}
        for e in range(1, rng.randint(1, 30)):
            rec = {"type": rng.choice(["epoch", "epoch", "epoch", "batch"]), "epoch": e}
            if rng.random() < 0.2:
                del rec["epoch"]
            if rng.random() < 0.8:
                rec["time"] = 1000.0 + e
            for key in ("loss", "accuracy", "val_loss", "lr"):
                if rng.random() < 0.8:
                    rec[key] = rng.choice([rng.uniform(0, 2), rng.randint(0, 3), None, True, "x", float("nan")])
            lines.append(rec)
        epochs = 0
        for rec in lines:
            if rec["type"] != "epoch":
                continue
            epochs += 1
            for key, value in rec.items():
                if key in ("type", "epoch", "time") or type(value) not in (int, float):
                    continue
                expect.setdefault(key, MetricStats()).add(rec.get("epoch", epochs), rec.get("time"), value)
        state = KeraslabRunState(run, run.name, tmp_path)
        text = "".join(json.dumps(r) + "\n" for r in lines)
        cut = rng.randint(0, len(text))
        (run / "metrics.jsonl").write_text(text[:cut])
        state.refresh()
        (run / "metrics.jsonl").write_text(text)
        os.utime(run / "metrics.jsonl", ns=(1, 1))  # (a new signature even within one clock tick)
        state.refresh()
        got = {k: vars(v) for k, v in state.stats.items() if v.count}
        assert got == {k: vars(v) for k, v in expect.items() if v.count}, (trial, cut)
        assert state.epochs == epochs


def test_a_first_scan_reports_the_runs_read_so_far(tmp_path, monkeypatch):
    from keraslab.core.browse import discovery

    monkeypatch.setattr(discovery, "PROGRESS_EVERY", 0.0)
    for i in range(230):
        keras_tb_run(tmp_path / f"run{i:03d}", epochs=2)
    watcher = RunWatcher([tmp_path], use_cache=False)
    seen = []
    watcher.scan(progress=lambda: seen.append(watcher.summaries()))
    assert [len(s) for s in seen] == [100, 200]  # between the reads of a hundred runs each
    assert all(r.epochs == 2 and r.metrics["val_loss"].count == 2 for r in seen[0])
    assert len(watcher.summaries()) == 230
    seen.clear()
    watcher.scan(progress=lambda: seen.append(1))
    assert seen == []  # nothing new: no progress


def test_a_file_read_again_from_its_start_is_then_followed_from_where_it_ended(tmp_path):
    """After a replaced metrics.jsonl or event file is read anew, its next growth is read
    from the last offset (the fingerprint taken is the new file's, not the old one's)."""
    run = keraslab_run(tmp_path, "mnist-cnn", epochs=3)
    keras_tb_run(tmp_path / "plain", epochs=3)
    watcher = RunWatcher([tmp_path], use_cache=False)
    watcher.scan()
    metrics = run / "metrics.jsonl"
    old = metrics.read_bytes()
    metrics.write_bytes(old.replace(b'"epoch": 1', b'"epoch": 7', 1))  # another file, same size
    os.utime(metrics, ns=(1, 1))
    train = next((tmp_path / "plain" / "train").glob("events.out.tfevents.*"))
    other = keras_tb_run(tmp_path / "other", epochs=3, t0=1.9e9)
    train.write_bytes(next((other / "train").glob("events.out.tfevents.*")).read_bytes())
    os.utime(train, ns=(1, 1))
    shutil.rmtree(other)
    watcher.scan()
    states = {s.name: s for s in watcher.states.values()}
    assert states["mnist-cnn-1"].stats["loss"].first_step == 7  # read anew
    before = {name: s.bytes_read for name, s in states.items()}
    line = b'{"type": "epoch", "epoch": 8, "time": 1.0, "loss": 0.01}\n'
    with open(metrics, "ab") as f:
        f.write(line)
    os.utime(train, ns=(2, 2))  # the replaced event file changes signature, not content
    watcher.scan()
    assert states["mnist-cnn-1"].bytes_read - before["mnist-cnn-1"] == len(line)
    assert states["mnist-cnn-1"].stats["loss"].count == 4
    assert states["plain"].bytes_read == before["plain"]  # nothing new: not read again
    assert states["plain"].stats["loss"].count == 3


@pytest.mark.parametrize("limit", [4, 5, 100, 301])
def test_downsample_keeps_the_ends_the_order_and_every_spike_within_the_limit(limit):
    n = 10_007
    xs = [i * 0.5 for i in range(n)]
    ys = [math.sin(i / 50) for i in range(n)]
    ys[4321], ys[8765] = 9.0, -9.0  # a spike and a dip, each one point wide
    dx, dy = downsample(xs, ys, limit)
    assert len(dx) == len(dy) <= limit
    assert (dx[0], dx[-1]) == (xs[0], xs[-1]) and dx == sorted(set(dx))
    assert all(ys[int(x * 2)] == y for x, y in zip(dx, dy, strict=True))  # real points, paired
    assert 9.0 in dy and -9.0 in dy
    assert downsample(xs[:limit], ys[:limit], limit) == (xs[:limit], ys[:limit])  # short: as is
