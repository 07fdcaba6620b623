"""System metrics: the sampler with a fake NVML (0, 1, 2 GPUs, one falling off the bus), written into a run."""

from __future__ import annotations

import json
import threading

from fake_nvml import FakeNvml
from keraslab.core import load_curves, split_sample
from keraslab.core.rundir.writer import RunWriter
from keraslab.core.system.devices import DevicePlan
from keraslab.core.system.nvml import visible_gpus
from keraslab.core.system.sampler import SystemSampler
from keraslab.core.train.sysmetrics import recording

TWO = [{"util": 97, "used_mb": 6000, "total_mb": 16000, "temp": 71, "power_w": 250},
       {"util": 12, "used_mb": 1000, "total_mb": 16000, "temp": 40, "power_w": 60}]  # fmt: skip


def test_without_a_gpu_the_sample_holds_the_process_and_host_only():
    sampler = SystemSampler(lambda v: None)
    first, second = sampler.sample(), sampler.sample()
    gpus, host = split_sample(second)
    assert gpus == {}
    assert host["rss_mb"] > 10 and 0 < host["host_memory_percent"] <= 100
    assert "cpu_percent" not in first and host["cpu_percent"] >= 0  # (a CPU % needs a span)


def test_one_gpu_is_read_in_full():
    sampler = SystemSampler(lambda v: None, gpus=[(0, 0)], nvml=FakeNvml(TWO[:1]))
    gpus, _ = split_sample(sampler.sample())
    assert gpus == {0: {"util_percent": 97.0, "memory_used_mb": 6000.0, "memory_total_mb": 16000.0,
                        "temperature_c": 71.0, "power_w": 250.0}}  # fmt: skip


def test_two_gpus_and_one_falls_off_the_bus_mid_run_and_comes_back():
    fake = FakeNvml(TWO)
    sampler = SystemSampler(lambda v: None, gpus=[(0, 0), (1, 1)], nvml=fake)
    assert sorted(split_sample(sampler.sample())[0]) == [0, 1]
    fake.gone.add(1)
    gpus, host = split_sample(sampler.sample())
    assert sorted(gpus) == [0] and gpus[0]["util_percent"] == 97.0 and host
    fake.gone.clear()
    assert sorted(split_sample(sampler.sample())[0]) == [0, 1]


def test_gpus_are_named_by_their_visible_index_not_the_drivers():
    fake = FakeNvml(TWO)
    gpus = visible_gpus(fake, env={"CUDA_VISIBLE_DEVICES": "1"})
    plan = DevicePlan("gpu", (0,))
    from keraslab.core.train.sysmetrics import watched_gpus

    sampler = SystemSampler(lambda v: None, gpus=watched_gpus(plan, gpus), nvml=fake)
    assert split_sample(sampler.sample())[0] == {0: split_sample(sampler.sample())[0][0]}
    assert split_sample(sampler.sample())[0][0]["util_percent"] == 12.0  # the driver's gpu1


def test_the_thread_samples_at_start_on_its_interval_and_at_stop():
    got: list[dict] = []
    three = threading.Event()

    def record(values):
        got.append(values)
        if len(got) >= 3:
            three.set()

    sampler = SystemSampler(record, interval=0.01).start()
    assert three.wait(60)
    sampler.stop()
    n = len(got)
    assert n >= 4 and all("system/rss_mb" in v for v in got)  # (the last one, at stop)
    sampler.stop()  # (twice: nothing more)
    assert len(got) == n


def test_a_sample_that_cannot_be_recorded_does_not_end_sampling():
    calls = []

    def record(values):
        calls.append(1)
        raise OSError("disk full")

    with SystemSampler(record, interval=0.01):
        pass
    assert len(calls) == 2


def test_samples_reach_metrics_jsonl_tensorboard_and_keraslabs_curves(tmp_path):
    run_dir = tmp_path / "run-1"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    writer = RunWriter(run_dir)
    writer.start()
    events = []
    fake = FakeNvml(TWO)
    plan = DevicePlan("gpu", (0, 1), replicas=2)
    with recording(writer, events.append, plan, visible_gpus(fake, env={}), interval=60, nvml=fake):
        writer.log_epoch(1, {"loss": 1.0})
    writer.close()
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    system = [r for r in records if r["type"] == "system"]
    assert len(system) == 2 and system[0]["system/gpu1/util_percent"] == 12.0
    assert len(events) == 2 and events[0].values["system/gpu0/power_w"] == 250.0

    curves = load_curves(run_dir).curves
    assert curves["system/gpu0/util_percent"].values == [97.0, 97.0]
    assert not curves["system/gpu0/util_percent"].per_epoch
    assert curves["loss"].values == [1.0]  # epoch metrics read as before

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "train"))
    acc.Reload()
    assert "system/gpu1/memory_used_mb" in acc.Tags()["tensors"]
    assert len(acc.Tensors("system/gpu1/memory_used_mb")) == 2


def test_system_records_cannot_overwrite_epoch_metrics(tmp_path):
    run_dir = tmp_path / "run-1"
    run_dir.mkdir()
    (run_dir / "config.json").write_text("{}")
    lines = [{"type": "epoch", "epoch": 1, "time": 1.0, "loss": 0.5},
             {"type": "system", "step": 3, "time": 2.0, "loss": 99.0, "system/rss_mb": 100.0}]  # fmt: skip
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    curves = load_curves(run_dir).curves
    assert curves["loss"].values == [0.5]
    assert curves["system/rss_mb"].steps == [3]
