"""The architecture sketch: a layer stack drawn as a block diagram in plain text (stages, shapes, parameters, arrows)."""

from __future__ import annotations

from collections.abc import Sequence

from .layers import LayerSpec
from .notation import block_ends
from .params import shape_str
from .preview import preview_stack

_BOX = {"tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "h": "─", "v": "│", "arrow": "▼", "line": "│"}
_ASCII = {"tl": "+", "tr": "+", "bl": "+", "br": "+", "h": "-", "v": "|", "arrow": "v", "line": "|"}


def _stage_title(stack: Sequence[LayerSpec], n_conv: int) -> str:
    cats = {spec.layer_type.category for spec in stack}
    if cats <= {"augment"}:
        return "augmentation"
    if cats & {"flatten", "global_pool", "dense"} and "conv" not in cats:
        return "classifier"
    return f"stage {n_conv}"


def sketch_stack(stack: Sequence[LayerSpec], input_shape: Sequence[int], num_classes: int,
                 *, ascii: bool = False) -> list[str]:
    """The stack as a block diagram, one string per line: the input, then one box per block
    (layers with output shape and parameters, the block's parameter total at the bottom),
    arrows between boxes, and the output with the model's totals. SpecError/ShapeError when
    the stack cannot run on this input."""
    g = _ASCII if ascii else _BOX
    preview = preview_stack(stack, input_shape, num_classes)
    blocks: list[list[int]] = [[]]
    for i, end in enumerate(block_ends(stack)):
        blocks[-1].append(i)
        if end and i + 1 < len(stack):
            blocks.append([])
    cells = [[(r.token, shape_str(r.output_shape), f"{r.params:,}") for r in (preview.rows[i] for i in b)]
             for b in blocks]
    w0 = max(len(c[0]) for b in cells for c in b)
    w1 = max(len(c[1]) for b in cells for c in b)
    w2 = max(len(c[2]) for b in cells for c in b)
    inner = max(w0 + w1 + w2 + 6, 30)
    pad = 4
    arrow = [" " * pad + g["line"], " " * pad + g["arrow"]]
    lines = [f"input {shape_str(preview.input_shape)}", *arrow]
    n_stage = 0
    for b, rows in zip(blocks, cells, strict=True):
        layers = [stack[i] for i in b]
        if any(spec.layer_type.category == "conv" for spec in layers):
            n_stage += 1
        title = f" {_stage_title(layers, n_stage)} "
        params = sum(preview.rows[i].params for i in b)
        foot = f" {params:,} params "
        lines.append(g["tl"] + g["h"] + title + g["h"] * (inner - len(title) - 1) + g["tr"])
        for token, shape, count in rows:
            body = f" {token:<{w0}}  {shape:<{w1}}  {count:>{w2}} "
            lines.append(g["v"] + body.ljust(inner) + g["v"])
        lines.append(g["bl"] + g["h"] * (inner - len(foot) - 1) + foot + g["h"] + g["br"])
        lines.extend(arrow)
    lines.append(f"output {shape_str(preview.output_shape)} ({num_classes} classes)")
    lines.append(f"{preview.total_params:,} parameters ({preview.trainable_params:,} trainable, "
                 f"{preview.non_trainable_params:,} non-trainable)")
    return lines
