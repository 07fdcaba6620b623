"""Real digits runs on the CPU: two data-parallel replicas with mixed precision, system metrics shown, OOM as one line."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from keraslab.core import RunConfig, SessionHooks, SystemSample, TrainingSession, load_run


@pytest.mark.slow
def test_digits_over_two_cpu_replicas_records_them_and_shows_system_metrics(logdir):
    out = run_cli(
        "train", "--dataset", "digits", "--epochs", "2", "--batch-size", "64", "--device", "cpu:2",
        "--precision", "mixed_bfloat16", "--jit-compile", "off", "--logdir", str(logdir),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "2 replicas (MirroredStrategy), batch 64 = 32 per replica" in out.stdout
    (run_dir,) = logdir.iterdir()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["placement"]["replicas"] == 2
    assert config["placement"]["devices"] == ["/cpu:0", "/cpu:1"]
    assert config["run"]["precision"] == "mixed_bfloat16" and config["run"]["device"] == "cpu:2"
    assert config["run"]["jit_compile"] == "off"
    assert load_run(run_dir).status == "completed"

    shown = run_cli("show", run_dir.name, "--logdir", str(logdir), "--no-plot")
    assert shown.returncode == 0, shown.stderr
    system = shown.stdout.split("system (sampled while training)")[1]
    assert "rss_mb" in system and "host_memory_percent" in system and "peak" in system


@pytest.mark.slow
def test_out_of_memory_ends_the_run_failed_with_one_line_naming_the_batch_size(logdir):
    import tensorflow as tf

    def exhausted():
        raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[64,512]")

    config = RunConfig(dataset="digits", model="mlp", epochs=3, batch_size=64)
    session = TrainingSession(config, logdir, hooks=SessionHooks(on_first_epoch_end=exhausted),
                              system_interval=0.05)  # fmt: skip
    result = session.run()
    assert result.status == "failed"
    assert result.reason.startswith("out of device memory at batch size 64")
    assert "--batch-size 32" in result.reason and "\n" not in result.reason
    run = load_run(result.run_dir)  # the run directory stays readable
    assert run.status == "failed" and run.status_info["reason"] == result.reason
    assert run.epochs_done == 1
    assert (result.run_dir / "error.log").read_text().count("ResourceExhaustedError") >= 1
    assert any(isinstance(e, SystemSample) for e in session.poll())


def test_mixed_precision_keeps_the_output_layer_float32_and_restores_the_global_policy():
    import keras
    from keraslab.core import resolve_model
    from keraslab.core.train.build import build_model

    stack = resolve_model("conv8k3-relu-flatten-dense16-relu-out-softmax")
    model = build_model(stack, (8, 8, 1), 10, precision="mixed_float16")
    policies = {layer.name: layer.dtype_policy.name for layer in model.layers[1:]}
    assert policies.pop("softmax_1") == "float32"
    assert set(policies.values()) == {"mixed_float16"}
    assert model.dtype_policy.name == "mixed_float16"  # (compile() then scales the loss)
    assert model.output.dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"  # the next run starts from the default


@pytest.mark.slow
def test_several_batches_per_call_still_count_every_batch_and_whole_epochs(logdir):
    config = RunConfig(dataset="digits", model="mlp", epochs=2, batch_size=64, steps_per_execution=4)
    session = TrainingSession(config, logdir, progress_interval=0.0, batch_log_interval=0.0)
    result = session.run()
    assert result.status == "completed", result.reason
    records = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if r["type"] == "epoch"]
    assert len(epochs) == 2 and not any(r.get("partial") for r in epochs)
    steps = [r["step"] for r in records if r["type"] == "batch"]
    # 21 batches an epoch, run 4 at a time: 4, 8, ... 20, (21), 25, 29, ...; never past 42
    assert steps and all(s % 4 == 0 if s <= 21 else (s - 21) % 4 == 0 for s in steps)
    assert max(steps) < 2 * 21 and any(s > 21 for s in steps)
    assert json.loads((result.run_dir / "config.json").read_text())["run"]["steps_per_execution"] == 4
