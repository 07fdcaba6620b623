"""Whether a screen can be seen right now (so that hidden screens skip redraws)."""

from __future__ import annotations

from textual.screen import Screen


def is_visible(screen: Screen) -> bool:
    """True when ``screen`` is on top, or shows through the translucent screens above it.

    Textual's own ``Screen.is_current`` counts the screen right under the top one as visible
    even when the top screen is opaque, so a launch screen hidden by the training view would
    keep paying layout passes for its status line.
    """
    if not screen.is_attached:
        return False
    try:
        stack = screen.app.screen_stack
    except Exception:  # no app or no stack while shutting down
        return False
    for above in reversed(stack):
        if above is screen:
            return True
        if above.styles.background.a >= 1:
            return False
    return False
