"""The app's interpreter policy (tui/policy.py): the collector paused around bulk reads once
installed, a run's objects frozen while it trains and its garbage collected after; the library
alone leaves the interpreter as it is."""

from __future__ import annotations

import gc
import sys
import threading
import weakref

import pytest
from keraslab import core
from keraslab.tui import policy
from keraslab.tui.policy import RunFreeze, gc_paused


class Node:
    pass


def test_a_cycle_frozen_while_training_is_collected_at_release():
    freeze = RunFreeze()
    node = Node()
    node.me = node  # a reference cycle: only the cyclic collector frees it
    ref = weakref.ref(node)
    freeze.settle()
    freeze.settle()  # (the model built, then the first epoch's end)
    del node
    gc.collect()
    assert ref() is not None  # frozen: a full collection does not look at it
    assert freeze.release() >= 1
    assert ref() is None
    assert freeze.release() == 0  # nothing more to do


def test_release_without_settle_leaves_the_collector_alone():
    node = Node()
    node.me = node
    ref = weakref.ref(node)
    del node
    gc.disable()  # (no automatic collection in between)
    try:
        assert RunFreeze().release() == 0
        assert ref() is not None  # no collection
    finally:
        gc.enable()
    gc.collect()
    assert ref() is None


def test_off_inside_and_on_again_after_even_on_error():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():  # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("a damaged file")
    assert gc.isenabled()


def test_a_collector_turned_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_overlapping_blocks_of_two_threads_turn_it_on_once_the_last_ends():
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with gc_paused():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with gc_paused():
            second_in.set()
            first_out.wait(10)
            seen["after the first ended"] = gc.isenabled()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == {"after the first ended": False} and gc.isenabled()


def _one_run(tmp_path):
    from keraslab.core.tfevents import EventWriter

    with EventWriter(tmp_path / "run" / "train") as w:
        w.add_scalar("epoch_loss", 1.0, 0)


def test_the_library_reads_runs_with_the_collector_as_it_is(tmp_path, monkeypatch):
    _one_run(tmp_path)
    seen = []
    monkeypatch.setattr(gc, "disable", lambda: seen.append("disable"))
    assert len(core.discover_runs(tmp_path, use_cache=False)) == 1
    assert seen == [] and gc.isenabled()


def test_installed_the_policy_pauses_the_collector_while_runs_are_read_and_undoes_it(tmp_path):
    from keraslab.core import hooks

    _one_run(tmp_path)
    interval = sys.getswitchinterval()
    undo = policy.install()
    try:
        with hooks.bulk_read():
            assert not gc.isenabled()
        assert gc.isenabled()
        assert len(core.discover_runs(tmp_path, use_cache=False)) == 1
        assert sys.getswitchinterval() == policy.UI_SWITCH_INTERVAL
    finally:
        undo()
    with hooks.bulk_read():
        assert gc.isenabled()
    assert sys.getswitchinterval() == interval
