"""Test samples as image widgets (textual-image): Kitty/Sixel graphics where the terminal has
them, coloured half blocks elsewhere (and in tests)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (numpy and Pillow load with the first image, not with the app)
    import numpy as np
    from textual.widget import Widget

_graphics = False  # set once the terminal was asked what it can draw, before Textual starts


def prepare_terminal_images() -> None:
    """Ask the terminal for its graphics protocols now: textual-image cannot once Textual
    owns the terminal. Without this call images are drawn with half blocks."""
    global _graphics
    try:
        import textual_image.widget  # noqa: F401 - the import queries the terminal
    except Exception:  # noqa: BLE001 - a terminal that does not answer: half blocks
        return
    _graphics = True


def image_widget(image: np.ndarray, classes: str = "") -> Widget:
    """A widget showing an ``(H, W, 1|3)`` uint8 image, small images scaled up."""
    from textual_image.widget import HalfcellImage, Image

    from .insight_render import pil_image, scale_for

    cls = Image if _graphics else HalfcellImage
    scale = scale_for(image)
    widget = cls(pil_image(image, scale), classes=classes)
    widget.styles.width = image.shape[1] * scale
    widget.styles.height = math.ceil(image.shape[0] * scale / 2)
    return widget
