"""Pausing Python's cyclic garbage collector around bulk decoding.

Reading hundreds of event files or run summaries allocates hundreds of thousands of
small containers (lists, series, stats) at once, none of them garbage cycles; the
collector would walk them again and again as they come (10-15% of a 500-run load).
``paused()`` turns it off for the block and back on after the last block of any thread
ends, if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_active = 0  # blocks running now, in any thread
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _active, _was_enabled
    with _lock:
        if _active == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0 and _was_enabled:
                gc.enable()
