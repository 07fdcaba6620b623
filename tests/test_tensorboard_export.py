"""TensorBoard sees what keraslab knows: a keraslab run's hyperparameters and final metrics as
HParams session data, and its model graph as Keras' callback writes it, read back through
TensorBoard's own hparams and graphs plugins (TensorFlow kept out) and by keraslab's reader."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import run_cli
from keraslab.core import discover_runs
from keraslab.core.rundir.writer import RunWriter, create_run_dir

# TensorBoard's data API on a log directory, in a process where TensorFlow cannot be imported
_TENSORBOARD_VIEW = textwrap.dedent("""
    import json, sys
    sys.modules["tensorflow"] = None  # (TensorBoard falls back to its TF-free stub)
    from tensorboard import context as tb_context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.graph import graphs_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, list_session_groups

    logdir = sys.argv[1]
    mux = pem.EventMultiplexer()
    mux.AddRunsFromDirectory(logdir)
    mux.Reload()
    tb = base_plugin.TBContext(logdir=logdir, multiplexer=mux,
                               data_provider=data_provider.MultiplexerDataProvider(mux, logdir))
    hp, ctx = backend_context.Context(tb), tb_context.RequestContext()
    exp = get_experiment.Handler(ctx, hp, "", api_pb2.GetExperimentRequest()).run()
    req = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100, allowed_statuses=[
        api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING])
    for info in exp.hparam_infos:
        req.col_params.add(hparam=info.name)
    for info in exp.metric_infos:
        req.col_params.add(metric=info.name)
    groups = list_session_groups.Handler(ctx, hp, "", req).run()
    sessions = {}
    for g in groups.session_groups:
        for s in g.sessions:
            sessions[s.name] = {
                "hparams": {k: v.WhichOneof("kind") and getattr(v, v.WhichOneof("kind")) for k, v in g.hparams.items()},
                "metrics": {(m.name.group + "/" if m.name.group else "") + m.name.tag: m.value for m in s.metric_values},
                "status": api_pb2.Status.Name(s.status),
            }
    graphs = graphs_plugin.GraphsPlugin(tb)
    info = graphs.info_impl(ctx, "")
    conceptual = {}
    for run, item in info.items():
        for tag, t in item.get("tags", {}).items():
            if t.get("conceptual_graph"):
                text, _ = graphs.graph_impl(ctx, run, tag, is_conceptual=True, experiment="")
                conceptual[run + ":" + tag] = text
    print(json.dumps({"hparams": sorted(i.name for i in exp.hparam_infos), "sessions": sessions,
                      "conceptual": conceptual, "tensorflow": sys.modules.get("tensorflow") is not None}))
""")


def tensorboard_view(logdir: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _TENSORBOARD_VIEW, str(logdir)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


HPARAMS = {"dataset": "digits", "model": "c16-flatten-out", "params": 12345, "optimizer": "adam",
           "learning_rate": 0.003, "lr_schedule": "cosine", "batch_size": 64, "epochs": 3, "seed": 7,
           "precision": "mixed_float16"}  # fmt: skip


# a model's to_json() as Keras 3 writes a Sequential one (the fields TensorBoard's graph plugin reads)
MODEL = {"class_name": "Sequential", "config": {"name": "net", "layers": [
    {"class_name": "InputLayer", "config": {"batch_shape": [None, 8, 8, 1], "name": "img"}},
    {"class_name": "Flatten", "config": {"name": "flatten"}},
    {"class_name": "Dense", "config": {"name": "out", "units": 10, "activation": "softmax"}},
]}}  # fmt: skip


def written_run(logdir: Path) -> Path:
    """A keraslab run's TensorBoard side as the run writer writes it (no training)."""
    run = create_run_dir(logdir, "digits-c16")
    w = RunWriter(run)
    w.write_hparams(HPARAMS, start_time=1.7e9)
    w.write_keras_model(json.dumps(MODEL))
    for epoch in (1, 2, 3):
        w.log_epoch(epoch, {"loss": 1.0 / epoch, "accuracy": 0.5 + epoch / 10, "val_accuracy": 0.4 + epoch / 10})
    w.end_hparams("completed", {"test_accuracy": 0.77, "test_loss": 0.5}, 2)
    w.close()
    return run


def test_tensorboard_reads_the_hparams_and_the_graph_without_tensorflow(tmp_path):
    run = written_run(tmp_path / "runs")
    view = tensorboard_view(tmp_path / "runs")
    assert not view["tensorflow"]
    assert set(HPARAMS) <= set(view["hparams"])
    session = view["sessions"][run.name]
    assert session["hparams"]["model"] == "c16-flatten-out" and session["hparams"]["learning_rate"] == 0.003
    assert session["hparams"]["precision"] == "mixed_float16" and session["status"] == "STATUS_SUCCESS"
    metrics = session["metrics"]
    assert metrics["test_accuracy"] == pytest.approx(0.77)
    assert metrics["validation/epoch_accuracy"] == pytest.approx(0.7)
    assert metrics["train/epoch_loss"] == pytest.approx(1 / 3)
    (graph,) = view["conceptual"].values()
    assert "net/img" in graph and "net/out" in graph and list(view["conceptual"]) == [f"{run.name}/train:keras"]


def test_keraslab_reads_them_as_any_runs(tmp_path):
    run = written_run(tmp_path / "runs")
    plain = tmp_path / "plain" / "copied"  # the event files alone: a TensorBoard run like any other
    shutil.copytree(run, plain, ignore=lambda d, names: [n for n in names if n.endswith((".json", ".jsonl", ".txt"))])
    (copied,) = discover_runs(tmp_path / "plain")
    assert copied.kind == "tensorboard"
    assert {k: copied.hparams[k] for k in HPARAMS} == HPARAMS
    assert copied.metrics["test_accuracy"].last == pytest.approx(0.77) and copied.test_accuracy == pytest.approx(0.77)
    assert copied.best_val_accuracy == pytest.approx(0.7) and copied.epochs == 3
    shown = run_cli("show", str(plain), "--no-plot", "--summary")
    assert shown.returncode == 0, shown.stderr
    assert "hyperparameters" in shown.stdout and "mixed_float16" in shown.stdout
    assert "Sequential 'net'" in shown.stdout and "units=10" in shown.stdout  # (the model graph, described)


@pytest.mark.slow
def test_a_trained_run_shows_in_tensorboards_hparams_table(tmp_path):
    done = run_cli("train", "--dataset", "digits", "--model", "mlp", "--epochs", "2", "--limit", "300",
                   "--lr", "0.002", "--seed", "3", "--logdir", str(tmp_path / "runs"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    (run,) = (tmp_path / "runs").iterdir()
    view = tensorboard_view(tmp_path / "runs")
    session = view["sessions"][run.name]
    hp = session["hparams"]
    assert hp["dataset"] == "digits" and hp["learning_rate"] == pytest.approx(0.002) and hp["seed"] == 3
    assert hp["epochs"] == 2 and hp["params"] > 0 and hp["model"].startswith("flatten-")
    results = json.loads((run / "results.json").read_text())
    assert session["metrics"]["test_accuracy"] == pytest.approx(results["test"]["accuracy"], rel=1e-6)
    assert session["status"] == "STATUS_SUCCESS"
    (graph,) = view["conceptual"].values()
    assert "dense" in graph.lower()
