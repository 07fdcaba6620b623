"""RunFreeze: a run's objects stay out of full collections while it trains, and its garbage goes after."""

from __future__ import annotations

import gc
import weakref

from keraslab.core.train.gcfreeze import RunFreeze


class Node:
    pass


def test_a_cycle_frozen_while_training_is_collected_at_release():
    freeze = RunFreeze()
    node = Node()
    node.me = node  # a reference cycle: only the cyclic collector frees it
    ref = weakref.ref(node)
    freeze.settle()
    assert freeze.frozen and gc.get_freeze_count() > 0
    freeze.settle()  # once
    del node
    gc.collect()
    assert ref() is not None  # frozen: a full collection does not look at it
    assert freeze.release() >= 1
    assert ref() is None
    assert not freeze.frozen
    assert gc.get_freeze_count() > 0  # what lives on (the imports) is frozen again
    assert freeze.release() == 0  # nothing more to do


def test_release_without_settle_leaves_the_collector_alone():
    gc.freeze()
    count = gc.get_freeze_count()
    node = Node()
    node.me = node
    ref = weakref.ref(node)
    del node
    assert RunFreeze().release() == 0
    assert ref() is not None and gc.get_freeze_count() == count  # no collection, no thaw
    gc.collect()
    assert ref() is None
