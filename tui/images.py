"""Test samples as image widgets (textual-image): Kitty/Sixel graphics where the terminal has
them, coloured half blocks elsewhere (and in tests)."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (numpy and Pillow load with the first image, not with the app)
    import numpy as np
    from textual.widget import Widget

_graphics = False  # set once the terminal was asked what it can draw, before Textual starts
# terminals known to draw Kitty or Sixel graphics (TERM / TERM_PROGRAM)
GRAPHICS_TERMINALS = ("kitty", "wezterm", "ghostty", "iterm", "foot", "mlterm", "contour", "konsole")


def wants_graphics(env=os.environ) -> bool:
    """Whether to ask the terminal for graphics: ``KERASLAB_IMAGES=graphics`` or
    ``halfblocks`` decides; by default only a terminal known to draw them, outside tmux
    (asking costs a second of imports and a round trip to the terminal at start)."""
    choice = env.get("KERASLAB_IMAGES", "auto").lower()
    if choice in ("graphics", "halfblocks"):
        return choice == "graphics"
    term = f"{env.get('TERM', '')} {env.get('TERM_PROGRAM', '')}".lower()
    return not env.get("TMUX") and any(name in term for name in GRAPHICS_TERMINALS)


def prepare_terminal_images() -> None:
    """Ask the terminal for its graphics protocols now, where :func:`wants_graphics`:
    textual-image cannot once Textual owns the terminal. Otherwise images are half blocks."""
    global _graphics
    if not wants_graphics():
        return
    try:
        import textual_image.widget  # noqa: F401 - the import queries the terminal
    except Exception:  # noqa: BLE001 - a terminal that does not answer: half blocks
        return
    _graphics = True


def image_widget(image: np.ndarray, classes: str = "") -> Widget:
    """A widget showing an ``(H, W, 1|3)`` uint8 image, small images scaled up: textual-image's
    Kitty/Sixel widget where :func:`prepare_terminal_images` found them, else half blocks."""
    from textual.widgets import Static

    from .insight_render import halfblock_image, pil_image, scale_for

    scale = scale_for(image)
    if _graphics:
        from textual_image.widget import Image

        widget = Image(pil_image(image, scale), classes=classes)
    else:
        widget = Static(halfblock_image(image, scale), classes=f"halfblock-image {classes}".strip())
    widget.styles.width = image.shape[1] * scale
    widget.styles.height = math.ceil(image.shape[0] * scale / 2)
    return widget
