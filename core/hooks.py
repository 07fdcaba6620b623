"""Hooks through which an application applies its interpreter-wide policy to core's work.

The library leaves the interpreter (garbage collector, switch interval, thread priorities)
alone; an application that wants, say, the collector paused while many run summaries are
decoded installs that here.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager

_bulk_read: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext


def bulk_read() -> AbstractContextManager[None]:
    """Context around decoding many records or summaries at once (no-op unless installed)."""
    return _bulk_read()


def set_bulk_read(guard: Callable[[], AbstractContextManager[None]] | None) -> None:
    """Install ``guard`` (a context-manager factory) around bulk reads; None removes it."""
    global _bulk_read
    _bulk_read = guard or contextlib.nullcontext
