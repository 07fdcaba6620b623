"""The app's interpreter-wide policy: garbage-collector freezing and pausing, switch interval,
the training thread's priority. The library leaves the interpreter alone; the app applies this
through ``keraslab.core``'s hooks (``set_bulk_read``, ``SessionHooks``)."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import threading
from collections.abc import Callable, Iterator

from keraslab import core

TRAINING_NICENESS = 5  # the training thread (and TensorFlow's threads) yield the CPU to the UI
UI_SWITCH_INTERVAL = 0.001  # seconds; sys.setswitchinterval while the app runs


def freeze_imported_objects() -> None:
    """Leave the objects made by the imports (alive as long as the process) out of the garbage
    collector's walks: Textual's start-up allocates enough to trigger several full collections.
    (No gc.collect() first: it would cost what it saves; import garbage is small.)"""
    gc.freeze()


def install(*, switch_interval: bool = True) -> Callable[[], None]:
    """Apply the app's policy to this process before it starts; returns what undoes it.

    Args:
        switch_interval: hand the GIL to the UI thread sooner than Python's default (the app,
            where a training thread runs Keras' Python loop beside the UI).
    """
    previous = sys.getswitchinterval()
    if switch_interval:
        sys.setswitchinterval(UI_SWITCH_INTERVAL)
    core.set_bulk_read(gc_paused)
    freeze_imported_objects()

    def undo() -> None:
        sys.setswitchinterval(previous)
        core.set_bulk_read(None)

    return undo


# -- pausing the collector around bulk decoding -------------------------------------------------
# Reading hundreds of event files or run summaries allocates many small containers at once, none
# of them garbage cycles; the collector would walk them again and again as they come.

_pause_lock = threading.Lock()
_paused_blocks = 0  # blocks running now, in any thread
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The collector off for the block, and back on after the last block of any thread ends
    if it was on when the first began."""
    global _paused_blocks, _was_enabled
    with _pause_lock:
        if _paused_blocks == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused_blocks += 1
    try:
        yield
    finally:
        with _pause_lock:
            _paused_blocks -= 1
            if _paused_blocks == 0 and _was_enabled:
                gc.enable()


# -- a run's objects while it trains -----------------------------------------------------------
# Building, compiling and tracing a model make many Python objects that live as long as the run;
# full collections (frequent while the UI thread allocates) would walk them all, holding the GIL.


class RunFreeze:
    """Freezes a run's long-lived objects once traced (``settle``) and lets its garbage go after
    (``release``), so runs one after another do not pile up frozen garbage."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.frozen = False

    def settle(self) -> None:
        """Freeze every object alive now (after collecting the young generations' garbage)."""
        with self._lock:
            gc.collect(1)
            gc.freeze()
            self.frozen = True

    def release(self) -> int:
        """Unfreeze, collect what the run left behind and freeze what lives on; returns the
        number of unreachable objects found (0 when nothing was frozen)."""
        with self._lock:
            if not self.frozen:
                return 0
            self.frozen = False
            gc.unfreeze()
            try:
                return gc.collect()
            finally:
                gc.freeze()


def nice_this_thread(increment: int = TRAINING_NICENESS) -> int:
    """Lower the calling thread's CPU priority (Linux: per thread; threads it starts inherit it).

    Called first in the training thread, before Keras loads, so TensorFlow's worker threads run
    niced too and the UI thread wins the CPU when a key is pressed. Returns the new niceness.
    """
    try:
        tid = threading.get_native_id()
        value = os.getpriority(os.PRIO_PROCESS, tid) + increment
        os.setpriority(os.PRIO_PROCESS, tid, min(19, value))
        return value
    except (AttributeError, OSError):
        return 0


def session_hooks() -> core.SessionHooks:
    """The hooks the app gives each TrainingSession: a niced training thread, the Keras import
    and the model frozen once built, the traced run once epoch 1 ends, its garbage let go after."""
    freeze = RunFreeze()
    return core.SessionHooks(
        on_worker_start=nice_this_thread,
        on_model_ready=freeze.settle,
        on_first_epoch_end=freeze.settle,
        on_finished=freeze.release,
    )
