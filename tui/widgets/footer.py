"""The key bindings footer, re-composed only when what it shows changes."""

from __future__ import annotations

from textual.widgets import Footer


class KeyFooter(Footer):
    """Textual's Footer re-composes (mounting a widget per key) on every bindings refresh:
    each screen switch, focus change and `refresh_bindings()` call. That costs tens of
    milliseconds of the UI thread, which a user feels as a slow screen switch while a model
    trains. This footer compares the bindings it would show with those it shows and skips
    the re-compose when nothing changed. Each bindings change also queues a re-compose for
    after the next refresh; at start-up dozens queue before the first runs, so a queued one
    that finds the keys already shown does nothing.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple | None = None

    def _signature(self) -> tuple:
        return tuple(
            (key, binding.action, binding.description, binding.show, binding.group, enabled, tooltip)
            for key, (_, binding, enabled, tooltip) in self.screen.active_bindings.items()
        )

    def bindings_changed(self, screen) -> None:
        if (
            self._bindings_ready
            and self.is_attached
            and screen is self.screen
            and self._signature() == self._shown
        ):
            return
        super().bindings_changed(screen)

    async def recompose(self) -> None:
        if not self.is_attached:  # queued before its screen was closed
            return
        if self._bindings_ready and self._shown is not None and self._signature() == self._shown:
            return
        await super().recompose()

    def compose(self):
        self._shown = self._signature() if self._bindings_ready else None
        yield from super().compose()
