"""The fast path: scalar Events recognised by their bytes and decoded without protobuf.

Every common writer lays a scalar Event out as ``09 <wall_time f64> [10 <step varint>]
<KEY> <value> <TAIL>``, where KEY (summary, value and tag headers, the tag, the value's
header) depends on the tag and the :class:`Layout` only, and TAIL is the "scalars"
plugin metadata or nothing. The layouts (see ``LAYOUTS``): TensorFlow 2 / Keras / keraslab
(tensor_content float32), TensorBoard's pure-Python writers and PyTorch's ``new_style``
(float_val / double_val, with or without the data class in the metadata), tensorboardX
and PyTorch by default, TensorFlow 1 (simple_value). Matching KEY and TAIL byte for byte
identifies such records without a protobuf parse (importing protobuf costs the first
read of a log more than the log itself); everything else takes the protobuf path
(:mod:`.decode`).
"""

from __future__ import annotations

import functools
import struct
import sys
from typing import NamedTuple

__all__ = [
    "CLASS_TAIL",
    "FAST_TAGS",
    "KINDS",
    "LAYOUTS",
    "Layout",
    "key_kind",
    "split_scalar",
    "NUMPY_MIN_RECORDS",
    "SCALAR_MIN",
    "SCALAR_SUFFIX",
    "SCALAR_TAIL",
    "fast_columns",
    "fast_key",
    "known_tag",
    "learn_tag",
    "read_varint",
    "tag_in_key",
    "varint_bytes",
]

SCALAR_TAIL = (
    b"\x4a\x0b\x0a\x09\x0a\x07scalars"  # metadata { plugin_data { plugin_name: "scalars" } }
)
# the same with data_class: DATA_CLASS_SCALAR, as tensorboard.summary.Writer writes it
CLASS_TAIL = b"\x4a\x0d\x0a\x09\x0a\x07scalars\x20\x01"
SCALAR_SUFFIX = 4 + len(SCALAR_TAIL)  # value + tail (TensorFlow 2's layout)
SCALAR_MIN = 1 + 8 + 8 + 4 - 1  # shorter records (e.g. an empty Event) are no fast-path scalar
_TENSOR_HEAD = b"\x42\x0a\x08\x01\x12\x00\x22\x04"  # tensor{dtype=FLOAT, shape{}, content(4)}


class Layout(NamedTuple):
    """How one writer encodes a scalar: the bytes between the tag and the value, the
    value's width (4: float32, 8: float64) and the bytes after it."""

    head: bytes
    width: int
    tail: bytes

    @property
    def suffix(self) -> int:
        """Bytes from the value to the record's end (its data CRC excluded)."""
        return self.width + len(self.tail)


_HEADS = (
    (_TENSOR_HEAD, 4),  # tensor_content float32: TensorFlow 2, Keras, keraslab
    (b"\x42\x0a\x08\x01\x12\x00\x2a\x04", 4),  # float_val: TensorBoard's writers, PyTorch new_style
    (b"\x42\x0e\x08\x02\x12\x00\x32\x08", 8),  # double_val: PyTorch new_style, double_precision
    (b"\x42\x0e\x08\x02\x12\x00\x22\x08", 8),  # tensor_content float64
)
TF2 = Layout(_TENSOR_HEAD, 4, SCALAR_TAIL)
SIMPLE = Layout(b"\x15", 4, b"")  # simple_value: tensorboardX, PyTorch, TensorFlow 1
LAYOUTS = (*(Layout(h, w, t) for t in (SCALAR_TAIL, CLASS_TAIL) for h, w in _HEADS), SIMPLE)
# a record's kind: what its bytes say of its layout (tail and width), before its key is read
KINDS = ((SCALAR_TAIL, 4), (SCALAR_TAIL, 8), (CLASS_TAIL, 4), (CLASS_TAIL, 8), (b"", 4))
TF2_KIND, SIMPLE_KIND = 0, 4
NUMPY_MIN_RECORDS = (
    96  # fast_columns decodes this many records of a tag with numpy, fewer in a loop
)
_MAX_TAGS = 100_000
_IMPORT_NUMPY_RECORDS = 50_000  # fewer are decoded in a loop while numpy is not loaded yet

FAST_TAGS: dict[bytes, str] = {}  # fast_key(tag) -> tag, for every tag met so far (bounded)


def varint_bytes(n: int) -> bytes:
    """``n`` (>= 0) as a protobuf varint."""
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``buf[pos]`` and the position after it (ValueError past 10 bytes,
    IndexError past the end)."""
    result = shift = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fast_key(tag: str, layout: Layout = TF2) -> bytes:
    """The bytes between step and value of a scalar Event for ``tag`` in ``layout``."""
    tagb = tag.encode("utf-8")
    value_len = 1 + len(varint_bytes(len(tagb))) + len(tagb) + len(layout.head) + layout.suffix
    summary_len = 1 + len(varint_bytes(value_len)) + value_len
    return b"".join(
        (
            b"\x2a",
            varint_bytes(summary_len),
            b"\x0a",
            varint_bytes(value_len),
            b"\x0a",
            varint_bytes(len(tagb)),
            tagb,
            layout.head,
        )
    )


def split_scalar(data: bytes) -> tuple[bytes, int] | None:
    """``(key, kind)`` of a record shaped like a fast-path scalar (see :data:`KINDS`; the
    key is between step and value), else None. Whether the key is one :func:`fast_key`
    makes, of a layout of that kind, is for :func:`key_kind` to say."""
    n = len(data)
    if n <= SCALAR_MIN or data[0] != 0x09:
        return None
    if data.endswith(SCALAR_TAIL):
        kind, t = 0, len(SCALAR_TAIL)
    elif data.endswith(CLASS_TAIL):
        kind, t = 2, len(CLASS_TAIL)
    elif data[-5] == 0x15:
        return _key_of(data, n - 4), SIMPLE_KIND
    else:
        return None
    if data[n - t - 9] == 0x08:  # (a float64's header, where a float32's is 0x01: dtype)
        return _key_of(data, n - t - 8), kind + 1
    return _key_of(data, n - t - 4), kind


def _key_of(data: bytes, end: int) -> bytes:
    """``data[start:end]``, the key starting after the step field (if any)."""
    if data[9] != 0x10:
        return data[9:end]  # no step field: step 0
    try:
        return data[read_varint(data, 10)[1] : end]
    except (ValueError, IndexError):  # garbage: let protobuf judge it
        return b""


@functools.lru_cache(maxsize=4096)
def key_kind(key: bytes) -> int | None:
    """The kind (see :data:`KINDS`) of the layout whose :func:`fast_key` ``key`` is, or
    None when it is no such key."""
    tag = tag_in_key(key)
    if tag is None:
        return None
    for layout in LAYOUTS:
        if key.endswith(layout.head) and fast_key(tag, layout) == key:
            return KINDS.index((layout.tail, layout.width))
    return None


def learn_tag(key: bytes, tag: str) -> None:
    """Remember that TF2 scalar records carrying ``key`` belong to ``tag`` (bounded)."""
    if len(FAST_TAGS) < _MAX_TAGS:
        FAST_TAGS[key] = tag


_D = struct.Struct("<d").unpack_from
_F = struct.Struct("<f").unpack_from


@functools.lru_cache(maxsize=256)
def _record_dtype(size: int, suffix: int, width: int):
    """The numpy dtype of a fast-path record of ``size`` bytes: its wall time and value."""
    import numpy as np

    return np.dtype(
        {
            "names": ["w", "v"],
            "formats": ["<f8", f"<f{width}"],
            "offsets": [1, size - suffix],
            "itemsize": size,
        }
    )


def _fast_step(d: bytes, base_len: int) -> int:
    """The step of a fast-path record ``d`` (``base_len`` long without a step field)."""
    if len(d) == base_len:
        return 0  # no step field
    v = read_varint(d, 10)[0] & 0xFFFFFFFFFFFFFFFF  # (a 10th byte > 1 overflows; as protobuf)
    return v - (1 << 64) if v >= 1 << 63 else v


def fast_columns(datas: list[bytes], key_len: int, kind: int = TF2_KIND) -> tuple[list, list, list]:
    """Steps, wall times and values of fast-path records (all of one tag and one key of
    layout ``kind``, see fast_key)."""
    n = len(datas)
    tail, width = KINDS[kind]
    suffix = width + len(tail)
    base_len = 9 + key_len + suffix  # the size of a record without a step field
    if n >= NUMPY_MIN_RECORDS and (n >= _IMPORT_NUMPY_RECORDS or "numpy" in sys.modules):
        import numpy as np

        lens = np.fromiter(map(len, datas), dtype=np.int64, count=n)
        cuts = np.flatnonzero(lens[1:] != lens[:-1]) + 1
        if len(cuts) <= n // 32:  # a few runs of equal-length records (steps grow)
            steps: list = []
            walls: list = []
            values: list = []
            bounds = [0, *cuts.tolist(), n]
            for a, b in zip(bounds[:-1], bounds[1:], strict=True):
                size = int(lens[a])
                blob = b"".join(datas[a:b])
                rec = np.frombuffer(blob, dtype=_record_dtype(size, suffix, width))
                walls += rec["w"].tolist()
                with np.errstate(invalid="ignore"):  # a signalling NaN stays a NaN
                    values += rec["v"].astype(np.float64).tolist()
                nvar = size - base_len - 1  # varint bytes of the step
                if nvar < 0:
                    steps += [0] * (b - a)
                    continue
                rows = np.frombuffer(blob, dtype=np.uint8).reshape(b - a, size)
                st = rows[:, 10].astype(np.uint64) & np.uint64(0x7F)
                for j in range(1, nvar):
                    st |= (rows[:, 10 + j].astype(np.uint64) & np.uint64(0x7F)) << np.uint64(7 * j)
                steps += st.view(np.int64).tolist()
            return steps, walls, values
    one_byte = base_len + 2  # steps 1..127
    value = _F if width == 4 else _D
    return (
        [d[10] if len(d) == one_byte else _fast_step(d, base_len) for d in datas],
        [_D(d, 1)[0] for d in datas],
        [value(d, -suffix)[0] for d in datas],
    )


def known_tag(key: bytes, data: bytes | None) -> str | None:
    """The tag whose scalar records carry ``key`` (see fast_key), learnt from the
    record ``data`` on first sight; None when ``data`` is None (a record that failed its
    checksum) and the key is new, or when ``data`` is no such record."""
    tag = FAST_TAGS.get(key)
    if tag is None and data is not None and split_scalar(data) is not None:
        tag = tag_in_key(key)
        if tag is not None:
            learn_tag(key, tag)
    return tag


def tag_in_key(key: bytes) -> str | None:
    """The tag named in a scalar record's ``key``, when the key is exactly the one
    :func:`fast_key` makes of it for some layout (else None). Such a record (``09 wall
    [10 step] key value tail``, of that layout's kind) is then the Event protobuf would
    parse to that tag and a float: no protobuf needed (importing protobuf costs the first
    read of a log more than the log)."""
    try:
        if key[0] != 0x2A:
            return None
        pos = read_varint(key, 1)[1]
        if key[pos] != 0x0A:
            return None
        pos = read_varint(key, pos + 1)[1]
        if key[pos] != 0x0A:
            return None
        n, pos = read_varint(key, pos + 1)
        tag = key[pos : pos + n].decode("utf-8")  # (as protobuf: a tag is valid UTF-8)
    except (IndexError, ValueError):
        return None
    canonical = any(fast_key(tag, lay) == key for lay in LAYOUTS if key.endswith(lay.head))
    return tag if canonical else None
