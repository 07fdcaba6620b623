"""The key bindings footer, re-composed only when what it shows changes."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer re-composes (mounting a widget per key) on every bindings refresh:
    each screen switch, focus change and `refresh_bindings()` call queues one for after the
    next refresh, and at start-up dozens queue before the first runs. That costs tens of
    milliseconds of the UI thread each, which a user feels as a slow screen switch while a
    model trains. This footer's re-compose compares the bindings it would show with those
    it shows and does nothing when they are the same.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple | None = None

    def _signature(self) -> tuple:
        return tuple(
            (key, binding.action, binding.description, binding.show, binding.group, enabled, tooltip)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
        )

    async def recompose(self) -> None:
        if not self.is_attached:  # queued before its screen was closed
            return
        if self._bindings_ready and self._shown is not None and self._signature() == self._shown:
            return
        await super().recompose()

    def compose(self):
        self._shown = self._signature() if self._bindings_ready else None
        yield from super().compose()
