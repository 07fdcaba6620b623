"""Whether a model's weights, gradients and optimizer state fit in memory, checked before building."""

from __future__ import annotations

import os

from ..errors import KeraslabError

BYTES_PER_VALUE = 4  # float32 weights
# per-weight state each optimizer keeps besides the weight and its gradient
OPTIMIZER_SLOTS = {
    "adam": 2, "adamw": 2, "nadam": 2, "adamax": 2, "adadelta": 2,
    "rmsprop": 1, "adagrad": 1, "sgd": 0,
}  # fmt: skip


def training_bytes(params: int, optimizer: str, momentum: float = 0.0) -> int:
    """Bytes for ``params`` weights, their gradients and the optimizer's state."""
    slots = OPTIMIZER_SLOTS.get(optimizer, 2) + (1 if optimizer == "sgd" and momentum else 0)
    return params * BYTES_PER_VALUE * (2 + slots)


def host_memory_bytes() -> int | None:
    """This machine's physical memory, or None where the OS does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def check_fits(params: int, optimizer: str, momentum: float = 0.0, available: int | None = None) -> None:
    """Raise KeraslabError (one line) when training ``params`` cannot fit in ``available`` bytes
    (default: the host's memory); the activations come on top, so this is a floor."""
    available = host_memory_bytes() if available is None else available
    need = training_bytes(params, optimizer, momentum)
    if available and need > available:
        raise KeraslabError(
            f"the model has {params:,} parameters: its weights, gradients and {optimizer} state "
            f"alone need {_gb(need)}, more than the {_gb(available)} of memory here; "
            "use fewer or narrower layers (flatten-to-dense layers are usually the culprit)"
        )


def _gb(n: int) -> str:
    return f"{n / 1e9:,.1f} GB"
