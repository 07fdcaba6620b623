"""The one-line layer-stack notation (``conv16k3-bn-relu | gap-out-softmax``) and its JSON form."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from typing import Any

from ..errors import SpecError
from .layers import WORDS, LayerSpec
from .params import MAX_LAYERS

# A token runs up to a separator ('-', '|') or whitespace; a '-' inside an exponent (1e-4) belongs to it.
_TOKEN = re.compile(r"(?:[^\s|\-]|(?<=\d[eE])-(?=\d))+")
_WORD = re.compile(r"[a-z_]*")
EXAMPLE = "conv16k3-bn-relu-maxpool2 | conv32k3-bn-relu-gap | out-softmax"


def _fail(message: str, position: int, layer: int | None = None) -> SpecError:
    return SpecError(message, position=position, layer=layer)


def _where(token: str, index: int, position: int) -> str:
    return f"layer {index + 1} {token!r} (column {position + 1})"


def parse_token(token: str, index: int = 0, position: int = 0) -> LayerSpec:
    """Parse one layer token such as ``conv32k3s2:valid:relu``; SpecError names the token."""
    where = _where(token, index, position)
    head, *options = token.lower().split(":")
    word = _WORD.match(head).group(0)
    lt = WORDS.get(word)
    if lt is None:
        if not word:
            reason = "a layer starts with a name such as conv, dense, maxpool, relu, dropout"
        else:
            close = difflib.get_close_matches(word, WORDS, n=1)
            reason = f"unknown layer {word!r}" + (f"; did you mean {close[0]!r}?" if close else
                                                 f"; known: {', '.join(sorted(WORDS))}")
        raise _fail(f"{where}: {reason}", position, index)
    raw = lt.parse_head(word, head[len(word):])
    if raw is None:
        raise _fail(f"{where}: write {lt.head_hint}", position, index)
    offset = position + len(head)
    for option in options:
        opt_pos = offset + 1
        offset += 1 + len(option)
        try:
            name, value = _option(lt, option, raw)
        except SpecError as err:
            raise _fail(f"{where}: {err}", opt_pos, index) from None
        raw[name] = value
    try:
        return LayerSpec(lt.key, raw)
    except SpecError as err:
        raise _fail(f"{where}: {err}", position, index) from None


def _option(lt: Any, option: str, raw: dict) -> tuple[str, Any]:
    """One ``:name=value`` or bare ``:value`` option -> (param name, canonical value)."""
    if option == "":
        raise SpecError("empty option after ':'")
    if "=" in option:
        name, text = option.split("=", 1)
        param = lt.param(name)
        if param is None:
            known = ", ".join(p.name for p in lt.params) or "none"
            raise SpecError(f"{lt.word} has no option {name!r} (options: {known})")
        value = param.from_text(text)
    else:
        param = next((p for p in lt.params if p.kind == "choice"
                      and (option in p.choices or option in p.choice_aliases)), None)
        if param is None:
            flags = [c for p in lt.params if p.kind == "choice" for c in p.choices]
            named = [f"{p.name}=" for p in lt.params if p.kind != "choice"]
            known = ", ".join(flags + named) or "none"
            raise SpecError(f"unknown option ':{option}' for {lt.word} (options: {known})")
        value = param.coerce(option)
    if param.name in raw:
        raise SpecError(f"{param.name} is given twice")
    return param.name, value


def parse_stack(text: str) -> list[LayerSpec]:
    """Parse the one-line notation; raises SpecError(position=...) whose message names the token."""
    if not isinstance(text, str):
        raise SpecError(f"a layer stack must be text, got {type(text).__name__}")
    stack: list[LayerSpec] = []
    end = 0
    previous = ""
    for m in _TOKEN.finditer(text):
        if len(stack) == MAX_LAYERS:
            raise _fail(f"more than {MAX_LAYERS:,} layers", m.start())
        _check_gap(text, end, m.start(), previous, m.group(0))
        stack.append(parse_token(m.group(0), len(stack), m.start()))
        end, previous = m.end(), m.group(0)
    _check_gap(text, end, len(text), previous, "")
    if not stack:
        raise _fail(f"empty layer stack; write layers separated by '-', e.g. {EXAMPLE}", 0)
    return stack


def _check_gap(text: str, start: int, stop: int, before: str, after: str) -> None:
    """Between two tokens exactly one '-' or '|'; none at the very start or end."""
    gap = text[start:stop]
    seps = [i for i, ch in enumerate(gap) if ch in "-|"]
    if not before or not after:
        if seps:
            where = "starts" if not before else "ends"
            raise _fail(f"the stack {where} with {gap[seps[0]]!r} (column {start + seps[0] + 1})",
                        start + seps[0])
        return
    if not seps:
        raise _fail(f"missing '-' between {before!r} and {after!r} (column {start + 1})", start)
    if len(seps) > 1:
        raise _fail(f"empty layer between separators at column {start + seps[1] + 1} "
                    f"(after {before!r})", start + seps[1])


def block_ends(stack: Sequence[LayerSpec]) -> list[bool]:
    """Whether each layer ends a block (a stage): after pooling and augmentation, before
    flatten/gap once the block has weights. The last layer ends the last block."""
    ends: list[bool] = []
    weights_in_block = False
    for i, spec in enumerate(stack):
        weights_in_block |= spec.layer_type.has_weights
        end = True  # (the last layer ends the last block)
        if i + 1 < len(stack):
            cat, nxt = spec.layer_type.category, stack[i + 1].layer_type.category
            end = cat == "pool" or (cat == "augment" and nxt != "augment") \
                or (nxt in ("flatten", "global_pool") and weights_in_block)
            weights_in_block &= not end
        ends.append(end)
    return ends


def block_numbers(stack: Sequence[LayerSpec]) -> list[int]:
    """The 1-based block of each layer, as the notation's ' | ' separators count them."""
    numbers, block = [], 1
    for end in block_ends(stack):
        numbers.append(block)
        block += end
    return numbers


def format_stack(stack: Sequence[LayerSpec]) -> str:
    """Canonical notation: ``parse_stack(format_stack(s)) == s``; ' | ' between blocks (block_ends)."""
    parts: list[str] = []
    for spec, end in zip(stack, block_ends(stack), strict=True):
        parts += [spec.token, " | " if end else "-"]
    return "".join(parts[:-1])


def stack_to_json(stack: Sequence[LayerSpec]) -> list[dict]:
    """JSON-ready list of layer dicts (every parameter written out)."""
    return [spec.to_dict() for spec in stack]


def stack_from_json(data: Any) -> list[LayerSpec]:
    """Layer specs from JSON data (a list of layer dicts, or ``{"layers": [...]}``); SpecError(layer=i)."""
    if isinstance(data, dict) and "layers" in data:
        data = data["layers"]
    if not isinstance(data, list):
        raise SpecError("a layer stack in JSON must be a list of layers like "
                        "[{\"type\": \"flatten\"}, {\"type\": \"dense\", \"units\": \"classes\"}]")
    if not data:
        raise SpecError("empty layer stack")
    if len(data) > MAX_LAYERS:
        raise SpecError(f"{len(data):,} layers; a stack holds at most {MAX_LAYERS:,}")
    stack = []
    for i, item in enumerate(data):
        try:
            stack.append(LayerSpec.from_dict(item))
        except SpecError as err:
            kind = item.get("type") if isinstance(item, dict) else None
            label = f"layer {i + 1}" + (f" ({kind})" if isinstance(kind, str) else "")
            raise SpecError(f"{label}: {err}", layer=i) from None
    return stack


def stack_from_text(text: str) -> list[LayerSpec]:
    """Notation or JSON text (starting with '[' or '{'), as found in a --model-file."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as err:
            raise SpecError(f"invalid JSON layer stack: {err.msg} at line {err.lineno} column {err.colno}",
                            position=err.pos) from None
        return stack_from_json(data)
    return parse_stack(text)
