"""--device: its syntax, the GPU `auto` picks on a shared node (fake NVML), one-line errors, config and lint."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from fake_nvml import FakeNvml
from keraslab.core import ConfigError, RunConfig, lint_stack, resolve_model
from keraslab.core.system import devices, nvml

NODE = [  # a shared 4-GPU node: gpu2 has the most free memory
    {"used_mb": 15000, "cc": (8, 0)},
    {"used_mb": 9000, "cc": (8, 0)},
    {"used_mb": 100, "cc": (6, 1)},
    {"used_mb": 4000, "cc": (8, 0)},
]


@pytest.mark.parametrize(
    "text, spec",
    [
        ("auto", devices.DeviceSpec("auto")),
        ("CPU", devices.DeviceSpec("cpu")),
        ("cpu:2", devices.DeviceSpec("cpu", replicas=2)),
        ("gpu:1", devices.DeviceSpec("gpu", (1,))),
        ("gpu:0,3", devices.DeviceSpec("gpu", (0, 3))),
        ("gpu:all", devices.DeviceSpec("gpu")),
    ],
)
def test_device_values_parse(text, spec):
    assert devices.parse_device(text) == spec


@pytest.mark.parametrize("text", ["gpu", "gpu:", "gpu:x", "tpu:0", "cpu:0", "gpu:1,1", "", 3, "gpu:-1"])
def test_bad_device_values_are_one_line_config_errors(text):
    with pytest.raises(ConfigError) as err:
        devices.parse_device(text)
    assert "\n" not in str(err.value) and str(err.value).startswith("device:")


def test_auto_takes_the_gpu_with_most_free_memory_and_never_more_than_one():
    gpus = nvml.visible_gpus(FakeNvml(NODE), env={})
    plan = devices.resolve_device("auto", gpus, env={})
    assert plan.kind == "gpu" and plan.gpus == (2,) and plan.replicas == 1
    assert "free memory" in plan.why


def test_auto_respects_cuda_visible_devices_and_renumbers_as_cuda_does():
    env = {"CUDA_VISIBLE_DEVICES": "3,1"}
    gpus = nvml.visible_gpus(FakeNvml(NODE), env=env)
    assert [(g.index, g.nvml_index) for g in gpus] == [(0, 3), (1, 1)]
    assert devices.resolve_device("auto", gpus, env=env).gpus == (0,)  # gpu3: more free than gpu1


def test_auto_takes_the_schedulers_allocation():
    env = {"CUDA_VISIBLE_DEVICES": "1,3", "SLURM_JOB_ID": "42", "SLURM_JOB_GPUS": "1,3"}
    gpus = nvml.visible_gpus(FakeNvml(NODE), env=env)
    plan = devices.resolve_device("auto", gpus, env=env)
    assert plan.gpus == (0,) and plan.why == "the scheduler's allocation"


def test_cuda_visible_devices_by_uuid():
    fake = FakeNvml([{"uuid": "GPU-aaaa"}, {"uuid": "GPU-bbbb"}])
    assert nvml.visible_order(fake, {"CUDA_VISIBLE_DEVICES": "GPU-bbbb"}) == [1]
    assert nvml.visible_order(fake, {"CUDA_VISIBLE_DEVICES": ""}) == []


def test_auto_without_a_gpu_is_the_cpu_and_without_a_driver_the_backends_choice():
    assert devices.resolve_device("auto", [], env={}).kind == "cpu"
    assert devices.resolve_device("auto", None, env={}).kind == "auto"


def test_several_gpus_train_data_parallel_and_a_missing_one_is_named():
    gpus = nvml.visible_gpus(FakeNvml(NODE), env={})
    assert devices.resolve_device("gpu:all", gpus, env={}).replicas == 4
    assert devices.resolve_device("gpu:1,3", gpus, env={}).gpus == (1, 3)
    with pytest.raises(ConfigError, match=r"gpu:7 does not exist; visible: gpu:0, gpu:1, gpu:2, gpu:3"):
        devices.resolve_device("gpu:0,7", gpus, env={})
    with pytest.raises(ConfigError, match="no GPU is visible"):
        devices.resolve_device("gpu:0", [], env={})


def test_a_gpu_that_does_not_answer_is_not_offered():
    fake = FakeNvml(NODE[:2])
    fake.gone.add(0)
    assert [(g.index, g.nvml_index) for g in nvml.visible_gpus(fake, env={})] == [(1, 1)]


@pytest.mark.parametrize(
    "field, value",
    [("device", "gpu:x"), ("precision", "float16"), ("jit_compile", "yes"), ("gpu_memory_limit", 0),
     ("gpu_memory_limit", "1024")],
)
def test_config_rejects_bad_device_settings_in_one_line(field, value):
    with pytest.raises(ConfigError, match=f"^{field}"):
        RunConfig(**{field: value}).validate()


def test_lint_warns_where_a_precision_will_not_help():
    stack = resolve_model("conv12k3-relu-flatten-dense100-relu-out-softmax")
    codes = lambda **kw: {f.code for f in lint_stack(stack, (8, 8, 1), 10, **kw)}  # noqa: E731
    assert "mixed-precision-cpu" in codes(precision="mixed_bfloat16", device_kind="cpu")
    assert "mixed-precision-cpu" not in codes(precision="float32", device_kind="cpu")
    assert "precision-slow-gpu" in codes(precision="mixed_float16", device_kind="gpu", capability=(6, 1))
    assert "precision-slow-gpu" not in codes(precision="mixed_float16", device_kind="gpu", capability=(7, 5))
    assert "precision-slow-gpu" in codes(precision="mixed_bfloat16", device_kind="gpu", capability=(7, 5))
    odd = [f for f in lint_stack(stack, (8, 8, 1), 10, precision="mixed_float16") if f.code == "units-not-multiple-of-8"]
    assert [f.layer for f in odd] == [0, 3]  # conv12 and dense100; not the output layer's 10 units
    assert "units-not-multiple-of-8" not in codes(precision="float32")


def test_cli_rejects_a_bad_device_before_anything_starts(logdir):
    out = run_cli("train", "--device", "gpu:two", "--logdir", str(logdir))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1
    assert "--device" in out.stderr and not logdir.exists()


def test_cli_rejects_a_gpu_that_is_not_there_without_creating_a_run(logdir):
    out = run_cli("train", "--device", "gpu:0", "--logdir", str(logdir), "--epochs", "1")
    assert out.returncode == 1, out.stderr
    assert out.stderr.strip().splitlines() == [
        "keraslab: error: device: gpu:0: no GPU is visible here (no NVIDIA driver answered)"
    ]
    assert not logdir.exists() or not any(logdir.iterdir())


def test_cli_lint_warns_of_mixed_precision_on_the_cpu():
    out = run_cli("lint", "mlp", "--device", "cpu", "--precision", "mixed_float16")
    assert "mixed_float16 on the CPU" in out.stdout


def test_train_help_documents_the_gpu_options():
    text = run_cli("train", "--help").stdout
    for flag in ("--device", "--gpu-memory-limit", "--precision", "--jit-compile", "gpu:all", "cpu:N"):
        assert flag in text


def test_device_settings_are_recorded_and_reproduced(tmp_path):
    from keraslab.core import config_command

    config = RunConfig(device="cpu", precision="mixed_bfloat16", jit_compile="off", gpu_memory_limit=2048)
    command = config_command(config.validate())
    assert "--device cpu --gpu-memory-limit 2048 --precision mixed_bfloat16 --jit-compile off" in command
    again = RunConfig.from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config


def test_jax_data_parallel_cuts_each_split_to_a_multiple_of_the_replicas():
    import numpy as np
    from keraslab.core import load_dataset
    from keraslab.core.train.placement import Placement

    data = load_dataset("digits", validation_split=0.1, seed=0)  # 1293 train, 144 val, 360 test
    placement = Placement(["cpu:0", "cpu:1", "cpu:2", "cpu:3"], 4, "keras.distribution.DataParallel", even=True)
    cut = placement.evened(data)
    assert [len(cut.x_train), len(cut.x_val), len(cut.x_test)] == [1292, 144, 360]
    assert len(cut.y_train) == 1292 and np.array_equal(cut.x_train, data.x_train[:1292])
    assert placement.notes == ["1 train sample(s) left out: JAX splits every batch evenly over the 4 replicas"]
    assert Placement(["/cpu:0", "/cpu:1"], 2, "MirroredStrategy").evened(data) is data  # (TF splits unevenly)
