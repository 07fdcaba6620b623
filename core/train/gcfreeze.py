"""Keeping a run's long-lived objects out of the garbage collector's full walks while it trains.

Building, compiling and tracing a model make tens of thousands of Python objects (layers,
variables, traced functions and their graphs) that live as long as the run. Python's full
collections walk every object not frozen, and they come every few seconds when another thread
allocates a lot, as the app's screen does while it draws curves: ~40 ms each on a 2-core VM
for the benchmark CNN, holding the GIL, so training's Python loop and the screen both wait.

``RunFreeze.settle()``, once the first epoch has traced everything, collects the young
garbage (tracing leaves some) and freezes what exists (``gc.freeze``: later full collections
skip it). ``release()``, when the run is over and its objects are unreachable, unfreezes,
collects the garbage cycles the run left (a model is full of them) and freezes whatever is
alive then (the imports, frozen at start-up anyway, and the app's screens), so runs one after
another in one process do not pile up frozen garbage. What the app drops after that (a closed
screen, say) waits for the next run's release to be collected: bounded, not growing.
"""

from __future__ import annotations

import gc
import threading

_lock = threading.Lock()


class RunFreeze:
    def __init__(self) -> None:
        self.frozen = False

    def settle(self) -> None:
        """Freeze every object alive now (once; it walks the young generations only)."""
        with _lock:
            if not self.frozen:
                gc.collect(1)
                gc.freeze()
                self.frozen = True

    def release(self) -> int:
        """Collect what the run left behind; returns the number of unreachable objects found."""
        with _lock:
            if not self.frozen:
                return 0
            self.frozen = False
            gc.unfreeze()
            try:
                return gc.collect()
            finally:
                gc.freeze()
