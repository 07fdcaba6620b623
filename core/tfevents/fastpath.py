"""The fast path: TF2 scalar Events recognised by their bytes and decoded without protobuf.

TF2 / Keras 3 write every scalar as one Event laid out as
``09 <wall_time f64> [10 <step varint>] <KEY> <value f32> <TAIL>``, where KEY (summary,
value, tag, tensor header) depends on the tag only and TAIL is the "scalars" plugin
metadata. Matching KEY and TAIL byte for byte identifies such records without a protobuf
parse (importing protobuf costs the first read of a log more than the log itself);
everything else takes the protobuf path (:mod:`.decode`).
"""

from __future__ import annotations

import functools
import struct

__all__ = [
    "FAST_TAGS",
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
SCALAR_SUFFIX = 4 + len(SCALAR_TAIL)  # value + tail
SCALAR_MIN = 1 + 8 + 15 + SCALAR_SUFFIX - 1  # shorter records (e.g. an empty Event) are not one
_TENSOR_HEAD = b"\x42\x0a\x08\x01\x12\x00\x22\x04"  # tensor{dtype=FLOAT, shape{}, content(4)}
NUMPY_MIN_RECORDS = (
    96  # fast_columns decodes this many records of a tag with numpy, fewer in a loop
)
_MAX_TAGS = 100_000

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


def fast_key(tag: str) -> bytes:
    """The bytes between step and value of a TF2 scalar Event for ``tag``."""
    tagb = tag.encode("utf-8")
    value_len = 1 + len(varint_bytes(len(tagb))) + len(tagb) + len(_TENSOR_HEAD) + SCALAR_SUFFIX
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
            _TENSOR_HEAD,
        )
    )


def learn_tag(key: bytes, tag: str) -> None:
    """Remember that TF2 scalar records carrying ``key`` belong to ``tag`` (bounded)."""
    if len(FAST_TAGS) < _MAX_TAGS:
        FAST_TAGS[key] = tag


_D = struct.Struct("<d").unpack_from
_F = struct.Struct("<f").unpack_from


@functools.lru_cache(maxsize=256)
def _record_dtype(size: int):
    """The numpy dtype of a fast-path record of ``size`` bytes: its wall time and value."""
    import numpy as np

    return np.dtype(
        {
            "names": ["w", "v"],
            "formats": ["<f8", "<f4"],
            "offsets": [1, size - SCALAR_SUFFIX],
            "itemsize": size,
        }
    )


def _fast_step(d: bytes, base_len: int) -> int:
    """The step of a fast-path record ``d`` (``base_len`` long without a step field)."""
    if len(d) == base_len:
        return 0  # no step field
    v = read_varint(d, 10)[0] & 0xFFFFFFFFFFFFFFFF  # (a 10th byte > 1 overflows; as protobuf)
    return v - (1 << 64) if v >= 1 << 63 else v


def fast_columns(datas: list[bytes], key_len: int) -> tuple[list, list, list]:
    """Steps, wall times and values of fast-path records (all of one tag, see fast_key)."""
    n = len(datas)
    base_len = 9 + key_len + SCALAR_SUFFIX  # the size of a record without a step field
    if n >= NUMPY_MIN_RECORDS:
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
                rec = np.frombuffer(blob, dtype=_record_dtype(size))
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
    return (
        [d[10] if len(d) == one_byte else _fast_step(d, base_len) for d in datas],
        [_D(d, 1)[0] for d in datas],
        [_F(d, -SCALAR_SUFFIX)[0] for d in datas],
    )


def known_tag(key: bytes, data: bytes | None) -> str | None:
    """The tag whose TF2 scalar records carry ``key`` (see fast_key), learnt from the
    record ``data`` on first sight; None when ``data`` is None (a record that failed its
    checksum) and the key is new, or when ``data`` is no such record."""
    tag = FAST_TAGS.get(key)
    if tag is None and data is not None and data.endswith(SCALAR_TAIL):
        tag = tag_in_key(key)
        if tag is not None:
            learn_tag(key, tag)
    return tag


def tag_in_key(key: bytes) -> str | None:
    """The tag named in a TF2 scalar record's ``key``, when the key is exactly the one
    :func:`fast_key` makes of it (else None). Such a record (``09 wall [10 step] key value
    tail``) is then the Event protobuf would parse to that tag and a float: no protobuf
    needed (importing protobuf costs the first read of a log more than the log)."""
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
    return tag if fast_key(tag) == key else None
