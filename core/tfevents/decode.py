"""Event protos decoded with protobuf: scalars of any dtype, texts, HParams, Keras model graphs (ScalarSeries, re-exported, is in .series)."""

from __future__ import annotations

import functools
import struct
from typing import Any

from .crc import masked_crc32c
from .framing import FOOTER, FOOTER_LENGTH, HEADER, HEADER_LENGTH, RECORD_OVERHEAD
from .kerasgraph import KERAS_MODEL_PLUGIN, parse_keras_model
from .series import ScalarSeries

__all__ = [
    "COMPILED",
    "DT_FLOAT",
    "DT_STRING",
    "HPARAMS",
    "SCALARS",
    "TEXT",
    "ScalarSeries",
    "file_version_only",
    "is_version_record",
    "parse_event",
    "protos",
]

DT_FLOAT = 1
DT_STRING = 7
# plugin names, and the kinds of items parse_event finds
SCALARS = "scalars"
TEXT = "text"
HPARAMS = "hparams"
COMPILED = "compiled"  # (an item kind: a Keras model graph's optimizer, learning rate, loss)
_HPARAMS_START_TAG = "_hparams_/session_start_info"  # where HParams' values are written


@functools.cache
def protos():
    """TensorBoard's protobuf modules: (event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2).
    Plain generated modules: importing them never imports TensorFlow (unlike
    ``tensorboard.compat.tf``, which we must not touch)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    return event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2


@functools.cache
def _hparams_pb():
    """TensorBoard's HParams plugin proto (a generated module, TensorFlow-free)."""
    from tensorboard.plugins.hparams import plugin_data_pb2

    return plugin_data_pb2


# TensorProto dtype -> (struct format of one element in tensor_content, value field)
_DT_HALF = 19
_DT_BFLOAT16 = 14
_NUMERIC = {
    1: ("<f", "float_val"),  # DT_FLOAT
    2: ("<d", "double_val"),  # DT_DOUBLE
    3: ("<i", "int_val"),  # DT_INT32
    4: ("<B", "int_val"),  # DT_UINT8
    5: ("<h", "int_val"),  # DT_INT16
    6: ("<b", "int_val"),  # DT_INT8
    9: ("<q", "int64_val"),  # DT_INT64
    10: ("<?", "bool_val"),  # DT_BOOL
    14: ("<H", "half_val"),  # DT_BFLOAT16 (top 16 bits of a float32)
    17: ("<H", "int_val"),  # DT_UINT16
    19: ("<e", "half_val"),  # DT_HALF
    22: ("<I", "uint32_val"),  # DT_UINT32
    23: ("<Q", "uint64_val"),  # DT_UINT64
}


def _convert_scalar(dtype: int, raw) -> float:
    """Convert a raw element of ``dtype`` (from a *_val field) to float."""
    if dtype == _DT_HALF:
        return struct.unpack("<e", struct.pack("<H", raw & 0xFFFF))[0]
    if dtype == _DT_BFLOAT16:
        return struct.unpack("<f", struct.pack("<I", (raw & 0xFFFF) << 16))[0]
    return float(raw)


def _content_scalar(dtype: int, content: bytes) -> float | None:
    fmt = _NUMERIC[dtype][0]
    if len(content) != struct.calcsize(fmt):
        return None
    raw = struct.unpack(fmt, content)[0]
    if dtype == _DT_BFLOAT16:
        return _convert_scalar(dtype, raw)
    return float(raw)


def _pb_tensor_scalar(t) -> float | None:
    """The value of a numeric scalar (one-element) TensorProto, else None."""
    dtype = t.dtype
    spec = _NUMERIC.get(dtype)
    if spec is None or t.tensor_shape.unknown_rank:
        return None
    for d in t.tensor_shape.dim:
        if d.size != 1:
            return None
    content = t.tensor_content
    if content:
        return _content_scalar(dtype, content)
    vals = getattr(t, spec[1])
    if len(vals) != 1:
        return None
    return _convert_scalar(dtype, vals[0])


def _pb_tensor_text(t) -> str | None:
    if t.dtype != DT_STRING or not t.string_val:
        return None
    return "\n".join(s.decode("utf-8", "replace") for s in t.string_val)


def _pb_hparams(content: bytes) -> dict[str, Any] | None:
    """The hyperparameter values of an HParams plugin ``session_start_info`` record
    (``hp.hparams``, tensorboardX's ``add_hparams``): numbers (whole ones as int),
    strings and booleans."""
    try:
        data = _hparams_pb().HParamsPluginData.FromString(content)
    except (
        Exception
    ):  # DecodeError: garbage in the plugin's content; the event's other values stand
        return None
    if not data.HasField("session_start_info"):
        return None
    out: dict[str, Any] = {}
    for name, v in data.session_start_info.hparams.items():
        kind = v.WhichOneof("kind")
        if kind == "number_value":
            x = v.number_value  # a double: shown as TensorBoard shows it (64, not 64.0)
            out[name] = int(x) if x.is_integer() and abs(x) < 2**53 else x
        elif kind in ("string_value", "bool_value"):
            out[name] = getattr(v, kind)
    return out


def file_version_only(data: bytes) -> bool:
    """Whether an Event holds a wall time, an ASCII ``file_version`` and at most a
    ``source_metadata`` naming its writer, as the first record of every event file does
    (TensorFlow's, Keras', ours): nothing in it to read, no protobuf needed."""
    if len(data) < 11 or data[0] != 0x09 or data[9] != 0x1A or data[10] >= 0x80:
        return False
    end = 11 + data[10]
    if not data[11:end].isascii():
        return False
    if end == len(data):
        return True
    # source_metadata (field 10) { writer (field 1): an ASCII string }, lengths under 128
    meta = data[end + 2 :]
    if len(data) < end + 2 or data[end] != 0x52 or data[end + 1] != len(meta) or len(meta) >= 0x80:
        return False
    return not meta or (meta[0] == 0x0A and len(meta) == 2 + meta[1] and meta[2:].isascii())


def is_version_record(buf: bytes, a: int, b: int) -> bool:
    """Whether ``buf[a:b]`` is exactly one record, its header already checked, whose data
    passes its CRC and holds only a file version (see :func:`file_version_only`)."""
    if a + RECORD_OVERHEAD + HEADER.unpack_from(buf, a)[0] != b:
        return False
    data = buf[a + HEADER_LENGTH : b - FOOTER_LENGTH]
    return (
        file_version_only(data)
        and masked_crc32c(data) == FOOTER.unpack_from(buf, b - FOOTER_LENGTH)[0]
    )


def parse_event(data: bytes, plugins: dict) -> tuple[float, int, list]:
    """Parse one Event with the protobuf classes.

    Returns ``(wall_time, step, items)`` where items are ``(SCALARS, tag, float)``,
    ``(TEXT, tag, str)``, ``(HPARAMS, tag, {name: value})`` and, from a Keras model graph
    (shown as a text), ``(COMPILED, tag, {name: value})``. ``plugins`` maps tag ->
    plugin name seen in the tag's metadata (TF1 writers store metadata only on a tag's
    first occurrence).
    """
    ev = protos()[0].Event.FromString(data)
    items: list = []
    if ev.WhichOneof("what") != "summary":
        return ev.wall_time, ev.step, items
    for v in ev.summary.value:
        tag = v.tag
        if v.HasField("metadata"):
            name = v.metadata.plugin_data.plugin_name
            if name:
                plugins[tag] = name
                if name == HPARAMS and tag == _HPARAMS_START_TAG:
                    hparams = _pb_hparams(v.metadata.plugin_data.content)
                    if hparams is not None:
                        items.append((HPARAMS, tag, hparams))
                    continue
        kind = v.WhichOneof("value")
        if kind == "simple_value":
            items.append((SCALARS, tag, v.simple_value))
        elif kind == "tensor":
            plugin = plugins.get(tag)
            if plugin is None or plugin == SCALARS:
                x = _pb_tensor_scalar(v.tensor)
                if x is not None:
                    items.append((SCALARS, tag, x))
            elif plugin == TEXT:
                s = _pb_tensor_text(v.tensor)
                if s is not None:
                    items.append((TEXT, tag, s))
            elif plugin == KERAS_MODEL_PLUGIN:
                s = _pb_tensor_text(v.tensor)
                model = None if s is None else _keras_model(s)
                if model is not None:
                    items.append((TEXT, tag, model.describe()))
                    if model.hparams:
                        items.append((COMPILED, tag, model.hparams))
    return ev.wall_time, ev.step, items


def _keras_model(text: str):
    try:
        return parse_keras_model(text)
    except Exception:  # (RecursionError, ...): a model text we cannot read costs only itself
        return None
