"""What changed from one run config to another: the settings, the layer stack, and a one-line summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import RunConfig
from .errors import KeraslabError
from .model.stackdiff import StackDiff, diff_stacks

# not settings: who the run is (name, lineage), where its data lives, and the model (diffed as a stack)
_NOT_SETTINGS = ("name", "parent", "diff", "data_dir", "model", "layers")
# short names in a one-line summary
_SHORT = {"learning_rate": "lr", "batch_size": "batch", "validation_split": "val split",
          "early_stopping": "patience", "lr_schedule": "schedule", "normalization": "norm"}  # fmt: skip


def value_text(value: Any) -> str:
    """A setting's value as a summary writes it: 0.001 -> 1e-3, 0.0003 -> 3e-4, 0.5 -> 0.5."""
    if isinstance(value, float) and value and abs(value) < 1e-2:
        mantissa, exponent = f"{value:.6e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


@dataclass
class ConfigDiff:
    """The settings that differ ((key, old, new), in RunConfig's order) and the stack's diff
    (None when either stack cannot be read)."""

    settings: list[tuple[str, Any, Any]] = field(default_factory=list)
    stack: StackDiff | None = None
    stack_error: str | None = None

    @property
    def empty(self) -> bool:
        return not self.settings and (self.stack is None or not self.stack.changes)

    def setting_texts(self) -> list[str]:
        """``lr 1e-3 -> 3e-4`` for each changed setting."""
        return [f"{_SHORT.get(k, k.replace('_', ' '))} {value_text(a)} -> {value_text(b)}"
                for k, a, b in self.settings]  # fmt: skip

    def summary(self) -> str:
        """Every change in one line: settings first, then the layers; 'no change' when none."""
        parts = self.setting_texts()
        if self.stack is not None and self.stack.changes:
            parts.append(self.stack.summary())
        return "; ".join(parts) or "no change"

    def to_dict(self) -> dict[str, Any]:
        """What a child run records in its config.json as ``diff``."""
        out: dict[str, Any] = {
            "summary": self.summary(),
            "settings": {k: [a, b] for k, a, b in self.settings},
        }
        if self.stack is not None:
            out["stack"] = self.stack.to_dict()
        return out


def _input(config: RunConfig) -> tuple[tuple[int, ...], int] | None:
    from .data.datasets import get_info

    try:
        info = get_info(config.dataset, config.data_dir)
    except (KeraslabError, OSError, ValueError):  # (an .npz path gone or unreadable: no counts)
        return None
    return tuple(info.input_shape), info.num_classes


def config_diff(old: RunConfig, new: RunConfig) -> ConfigDiff:
    """What changed from ``old`` to ``new``; both stacks counted on their own dataset."""
    a, b = old.to_dict(), new.to_dict()
    out = ConfigDiff()
    for key in a:
        if key in _NOT_SETTINGS or a[key] == b.get(key):
            continue
        if key == "extra":  # one entry per key of its own
            extra_a, extra_b = a[key] or {}, b[key] or {}
            out.settings += [(f"extra.{k}", extra_a.get(k), extra_b.get(k))
                             for k in dict.fromkeys([*extra_a, *extra_b]) if extra_a.get(k) != extra_b.get(k)]  # fmt: skip
            continue
        out.settings.append((key, a[key], b.get(key)))
    try:
        old_stack, new_stack = old.stack(), new.stack()
    except KeraslabError as exc:
        out.stack_error = str(exc)
        return out
    out.stack = diff_stacks(old_stack, new_stack, _input(old), _input(new))
    return out
