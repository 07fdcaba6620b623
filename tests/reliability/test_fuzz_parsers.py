"""Every parser of a file or a user's text, fuzzed: it takes the input or refuses it with
keraslab's own one-line error (or, for a run's files, a warning); nothing else escapes."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from browse_helpers import keraslab_run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keraslab.core import (
    DatasetError,
    KeraslabError,
    RunWatcher,
    SpecError,
    discover_runs,
    filter_runs,
    load_dataset,
    load_run,
    load_summary,
    parse_filter,
    stack_from_json,
)

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=12,
)
# objects shaped like the real files, so the fuzz reaches past the first type check
STATUS_LIKE = st.fixed_dictionaries({}, optional={
    k: JSON for k in ("status", "started", "ended", "heartbeat", "pid", "host", "epochs_done",
                      "epochs", "reason", "metrics_summary", "best_epoch", "resumed")
})  # fmt: skip
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.sampled_from(["val_accuracy >", "(a and", "hp.", "x ~ ", "not not"]))
def test_filters(text):
    try:
        expr = parse_filter(text)
    except KeraslabError as err:
        assert "\n" not in str(err)
        return
    filter_runs([], expr)


@settings(max_examples=300, deadline=None)
@given(JSON)
def test_model_files(data):
    try:
        stack_from_json(data)
    except SpecError as err:
        assert str(err)


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("template")
    return keraslab_run(logdir, "mnist-cnn")


@FUZZ
@given(name=st.sampled_from(["status.json", "config.json", "results.json", "tags.json"]),
       data=JSON | STATUS_LIKE)  # fmt: skip
def test_run_directory_json(template, name, data):
    with tempfile.TemporaryDirectory() as tmp:
        run = Path(tmp) / template.name
        shutil.copytree(template, run)
        (run / name).write_text(json.dumps(data))
        (summary,) = discover_runs(Path(tmp), use_cache=False)
        assert summary.name == template.name
        load_run(run)
        load_summary(run, Path(tmp))


@FUZZ
@given(data=JSON | st.dictionaries(st.text(max_size=8), STATUS_LIKE, max_size=3)
       | st.fixed_dictionaries({"version": JSON, "runs": st.dictionaries(st.text(max_size=10), JSON, max_size=3)}))  # fmt: skip
def test_summary_cache(template, data):
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(template, Path(tmp) / template.name)
        (Path(tmp) / ".keraslab-cache.json").write_text(json.dumps(data))
        watcher = RunWatcher(Path(tmp))
        watcher.preload()
        watcher.scan()
        assert [r.name for r in watcher.summaries()] == [template.name]


ARRAYS = st.sampled_from([
    np.zeros((4, 3, 3), np.uint8), np.zeros((4, 3), np.float64), np.zeros((0, 2, 2)), np.arange(4),
    np.full((4, 2, 2), np.inf), np.array(["a", "b", "c", "d"]), np.zeros((4, 1)), np.ones((4, 2, 2, 3, 1)),
    np.array([0, 1, 2, 10**9]), np.array([-1, 0, 1, 1]), np.array([0.5, 1, 0, 1]), np.zeros((4, 2), bool),
])  # fmt: skip


@FUZZ
@given(st.dictionaries(st.sampled_from(["x_train", "y_train", "x_test", "y_test", "class_names"]), ARRAYS))
def test_npz_datasets(arrays):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.npz"
        np.savez(path, **arrays)
        try:
            ds = load_dataset(str(path), validation_split=0.25)
        except DatasetError as err:
            assert "\n" not in str(err)
            return
        assert ds.x_train.shape[0] == ds.y_train.shape[0] > 0
        assert int(ds.y_test.max(initial=0)) < ds.info.num_classes


@functools.cache
def _writers_corpus() -> Path:
    """A run directory per writer of tests/writers_corpus.py (written once, TF blocked)."""
    root = Path(tempfile.mkdtemp(prefix="keraslab-fuzz-writers-"))
    corpus = Path(__file__).parents[1] / "writers_corpus.py"
    subprocess.run([sys.executable, str(corpus), str(root)], check=True, timeout=600)
    return root


@FUZZ
@given(
    st.sampled_from(["tensorboardX", "tb_writer", "double_val", "keraslab", "mixed"]),
    st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    st.none() | st.floats(0, 1),
)
def test_event_files_of_every_writer(writer, changes, cut):
    """Bytes of every writer's log overwritten or cut: the bulk decoder and the record loop
    read the same scalars and warnings, and nothing escapes either."""
    from keraslab.core.tfevents import EventFileReader, fastpath, reader

    (src,) = (_writers_corpus() / writer).glob("events.out.tfevents.*")
    data = bytearray(src.read_bytes())
    for at, byte in changes:
        data[int(at * len(data))] = byte
    if cut is not None:
        del data[int(cut * len(data)) :]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / src.name
        path.write_bytes(bytes(data))
        seen = []
        for bulk_min in (1 << 62, 0):
            old, reader.BULK_MIN = reader.BULK_MIN, bulk_min
            fastpath.FAST_TAGS.clear()
            try:
                r = EventFileReader(path)
                r.read_new()
            finally:
                reader.BULK_MIN = old
            scalars = {
                t: (s.steps, list(map(repr, s.wall_times)), list(map(repr, s.values)))
                for t, s in r.scalars.items()
            }
            seen.append((scalars, r.warnings, r.offset))
        assert seen[0] == seen[1]
