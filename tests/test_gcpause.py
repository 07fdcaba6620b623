"""gcpause.paused(): the collector is off inside, and afterwards as it was before, whatever the threads do."""

from __future__ import annotations

import gc
import threading

import pytest
from keraslab.core.gcpause import paused


def test_off_inside_and_on_again_after_even_on_error():
    assert gc.isenabled()
    with paused():
        assert not gc.isenabled()
        with paused():  # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("a damaged file")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_blocks_of_two_threads_turn_it_on_once_the_last_ends():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with paused():
            second_in.set()
            first_out.wait(10)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first ended": False} and gc.isenabled()


def test_reading_runs_leaves_the_collector_on(tmp_path):
    from keraslab.core.browse.discovery import discover_runs
    from keraslab.core.tfevents import EventWriter, read_runs_scalars

    with EventWriter(tmp_path / "run" / "train") as w:
        w.add_scalar("epoch_loss", 1.0, 0)
    assert read_runs_scalars([tmp_path / "run"])[0].scalars["train/epoch_loss"].values == [1.0]
    assert len(discover_runs(tmp_path, use_cache=False)) == 1
    assert gc.isenabled()
