"""TensorBoard event files (TFRecord of Event protos) written and read in pure Python, without TensorFlow."""

from __future__ import annotations

import functools
import itertools
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import hooks
from ..errors import RunStoreError

if TYPE_CHECKING:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

__all__ = [
    "EventFileReader",
    "EventWriter",
    "RunEventReader",
    "RunScalars",
    "ScalarSeries",
    "encode_record",
    "is_event_file",
    "masked_crc32c",
    "read_records",
    "read_run_scalars",
    "read_runs_scalars",
    "read_together",
]

_EVENT_FILE_PREFIX = "events.out.tfevents."

# --------------------------------------------------------------------------- CRC32C


def _make_crc_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


def _py_crc32c(data: bytes, _table: list[int] | None = None) -> int:
    """Pure-Python CRC-32C (Castagnoli); slow, used only when ``crc32c`` is missing."""
    table = _table or _CRC_TABLE
    crc = 0xFFFFFFFF
    for b in bytes(data):
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


_CRC_TABLE = _make_crc_table()


# numpy, crc32c and the protobuf classes take ~0.15 s to import: they load when an event
# file is first read or written, not when the runs of a directory are shown from their
# summary cache. Files of scalars alone (Keras' epoch logs, ours) need no protobuf at
# all, and crc32c's C function loads without its package's __init__ (_crc32c_extension).


def _crc32c(data: bytes) -> int:
    """CRC-32C of ``data``. The first call replaces this function with the ``crc32c``
    package's (hardware-accelerated: SSE4.2 / ARMv8) or the pure-Python fallback."""
    global _crc32c
    try:
        fast = _crc32c_extension() or __import__("crc32c").crc32c
    except ImportError:  # pragma: no cover - exercised by a test that forces the fallback
        fast = _py_crc32c
    _crc32c = fast
    return fast(data)


def _crc32c_extension():
    """The ``crc32c`` package's C function, loaded from its extension module without the
    package's ``__init__`` (which looks up its own version through importlib.metadata and
    imports argparse for its command line: ~40 ms of the first read of a log); None
    when that cannot be done (the caller imports the package as usual)."""
    import importlib.machinery
    import importlib.util

    try:
        spec = importlib.util.find_spec("crc32c")  # (finds the package, runs nothing)
        for folder in (spec.submodule_search_locations or []) if spec else []:
            for suffix in importlib.machinery.EXTENSION_SUFFIXES:
                path = os.path.join(folder, "_crc32c" + suffix)
                if os.path.isfile(path):
                    ext = importlib.util.spec_from_file_location("crc32c._crc32c", path)
                    module = importlib.util.module_from_spec(ext)
                    ext.loader.exec_module(module)
                    fast = module.crc32c
                    return fast if fast(b"123456789") == 0xE3069283 else None
    except Exception:  # noqa: BLE001 - any surprise: the package's own import
        return None
    return None


def _crc():
    """The CRC-32C function itself, for a hot loop to hold."""
    _crc32c(b"")
    return _crc32c


@functools.cache
def _numpy():
    """numpy, or None where it is missing (the record-by-record loop does without)."""
    try:
        import numpy
    except ImportError:  # pragma: no cover
        return None
    return numpy


@functools.cache
def _protos():
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

_MASK_DELTA = 0xA282EAD8


def masked_crc32c(data: bytes) -> int:
    """The TFRecord "masked" CRC-32C of ``data``."""
    crc = _crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def encode_record(data: bytes) -> bytes:
    """Frame ``data`` as one TFRecord: length, masked CRC of length, data, masked CRC of data."""
    header = struct.pack("<Q", len(data))
    return b"".join(
        (
            header,
            struct.pack("<I", masked_crc32c(header)),
            data,
            struct.pack("<I", masked_crc32c(data)),
        )
    )


# --------------------------------------------------------------------------- writer

_DT_FLOAT = 1
_DT_STRING = 7
_SCALARS = "scalars"
_TEXT = "text"
_HPARAMS = "hparams"
_HPARAMS_START_TAG = "_hparams_/session_start_info"  # where HParams' values are written
_KERAS_MODEL = "graph_keras_model"  # model.to_json(), from Keras' TensorBoard callback (see kerasmodel)
_COMPILED = "compiled"  # (an item kind: the optimizer, learning rate and loss it tells)

_file_counter = itertools.count()
_counter_lock = threading.Lock()


class EventWriter:
    """Append-only writer of one TensorBoard event file in ``logdir``.

    The file is named like TensorFlow 2 names its own
    (``events.out.tfevents.<time>.<host>.<pid>.<counter>.v2``); scalars and texts are
    encoded exactly as ``tf.summary.scalar`` / ``tf.summary.text`` encode them, so
    TensorBoard and :class:`EventFileReader` both read them.
    """

    def __init__(self, logdir: str | Path, *, filename_suffix: str = ".v2"):
        self.logdir = Path(logdir)
        try:
            self.logdir.mkdir(parents=True, exist_ok=True)
            host = socket.gethostname() or "localhost"
            while True:
                with _counter_lock:
                    counter = next(_file_counter)
                name = (
                    f"{_EVENT_FILE_PREFIX}{int(time.time())}.{host}.{os.getpid()}"
                    f".{counter}{filename_suffix}"
                )
                try:
                    self._file = open(self.logdir / name, "xb")  # noqa: SIM115
                    break
                except FileExistsError:
                    continue
        except OSError as exc:
            raise RunStoreError(f"cannot create an event file in {self.logdir}: {exc}") from exc
        self.path = self.logdir / name
        self._lock = threading.Lock()
        first = _protos()[0].Event(wall_time=time.time(), file_version="brain.Event:2")
        first.source_metadata.writer = "keraslab"
        self.add_event(first)
        self.flush()

    # -- raw API
    def write_record(self, data: bytes) -> None:
        """Append one raw TFRecord holding ``data`` (a serialized Event)."""
        rec = encode_record(bytes(data))
        with self._lock:
            if self._file.closed:
                raise RunStoreError(f"event file {self.path} is closed")
            try:
                self._file.write(rec)
            except OSError as exc:
                raise RunStoreError(f"cannot write event file {self.path}: {exc}") from exc

    def add_event(self, event: event_pb2.Event) -> None:
        """Append one Event proto as it is."""
        self.write_record(event.SerializeToString())

    def add_summary(
        self, summary: summary_pb2.Summary, step: int, wall_time: float | None = None
    ) -> None:
        """Append an Event holding ``summary`` (any Summary, e.g. legacy ``simple_value``)."""
        event = _protos()[0].Event(
            wall_time=time.time() if wall_time is None else float(wall_time), step=int(step)
        )
        event.summary.CopyFrom(summary)
        self.add_event(event)

    # -- high-level API
    def add_scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        """Write a scalar exactly as TF2 ``tf.summary.scalar`` does (DT_FLOAT tensor, plugin "scalars")."""
        _, _, tensor_pb2, tensor_shape_pb2 = _protos()
        tensor = tensor_pb2.TensorProto(
            dtype=_DT_FLOAT,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
            tensor_content=struct.pack("<f", float(value)),
        )
        self.add_summary(_tensor_summary(tag, tensor, _SCALARS), step, wall_time)

    def add_text(self, tag: str, text: str, step: int = 0, wall_time: float | None = None) -> None:
        """Write a text exactly as TF2 ``tf.summary.text`` does (DT_STRING tensor, plugin "text")."""
        _, _, tensor_pb2, tensor_shape_pb2 = _protos()
        tensor = tensor_pb2.TensorProto(
            dtype=_DT_STRING,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
            string_val=[str(text).encode("utf-8")],
        )
        self.add_summary(_tensor_summary(tag, tensor, _TEXT), step, wall_time)

    def flush(self) -> None:
        """Hand buffered records to the OS so that readers following the file see them."""
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.flush()
                except OSError as exc:
                    raise RunStoreError(f"cannot write event file {self.path}: {exc}") from exc

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.close()  # flushes
                except OSError as exc:
                    raise RunStoreError(f"cannot write event file {self.path}: {exc}") from exc

    @property
    def closed(self) -> bool:
        return self._file.closed

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EventWriter({str(self.path)!r})"


def _tensor_summary(tag: str, tensor: tensor_pb2.TensorProto, plugin: str) -> summary_pb2.Summary:
    summary_pb2 = _protos()[1]
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    value.metadata.plugin_data.plugin_name = plugin
    return summary_pb2.Summary(value=[value])


# --------------------------------------------------------------------------- records

_CHUNK = 4 << 20
_BULK_MIN = 1 << 20  # chunks this big are decoded in bulk with numpy (see event_bulk)
_HEADER = 12
_U64_CRC = struct.Struct("<QI")
_U32 = struct.Struct("<I")
_FRAME = struct.Struct("<IQI")  # data CRC of one record + header of the next


def _scan(buf, base: int, path, out: list, warnings: list) -> tuple[int, bool, int]:
    """Collect the complete records of ``buf`` (file bytes starting at offset ``base``).

    Returns ``(consumed, damaged, need)``: bytes consumed, whether a damaged length
    header stopped the scan, and the total size of the incomplete record at
    ``consumed`` when its header is valid (0 when unknown).
    """
    pos = 0
    n = len(buf)
    unpack_header = _U64_CRC.unpack_from
    unpack_u32 = _U32.unpack_from
    crc = _crc()
    mask = _MASK_DELTA
    append = out.append
    while pos + _HEADER <= n:
        length, hcrc = unpack_header(buf, pos)
        c = crc(buf[pos : pos + 8])
        if (((c >> 15) | (c << 17)) + mask) & 0xFFFFFFFF != hcrc:
            warnings.append(
                f"{path}: damaged record header at byte {base + pos}; the rest of the file is ignored"
            )
            return pos, True, 0
        end = pos + _HEADER + length + 4
        if end > n:
            return pos, False, end - pos
        data = buf[pos + _HEADER : end - 4]
        c = crc(data)
        if (((c >> 15) | (c << 17)) + mask) & 0xFFFFFFFF != unpack_u32(buf, end - 4)[0]:
            warnings.append(
                f"{path}: corrupt record at byte {base + pos} (data checksum mismatch); skipped"
            )
        else:
            append(data)
        pos = end
    return pos, False, 0


HEAD_BYTES = 64  # a file's first bytes kept by a read from its start (EventFileReader.head)


def _read_from(path, offset: int, scan, warnings: list, head: list | None = None) -> int:
    """Feed the bytes of ``path`` from ``offset`` on to ``scan(buf, base)`` chunk by chunk.

    ``scan`` returns ``(consumed, damaged, need)`` like :func:`_scan`. Returns the
    offset where a later read must resume (the start of the first incomplete record).
    A read from offset 0 appends the file's first HEAD_BYTES bytes to ``head``.
    """
    try:
        f = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        warnings.append(f"{path}: cannot open: {exc}")
        return offset
    pos = offset  # file offset of buf[0]
    with f:
        try:
            size = os.fstat(f.fileno()).st_size
            if size < offset:
                warnings.append(
                    f"{path}: file shrank below the last read position ({size} < {offset} bytes)"
                )
                return offset
            if size == offset:
                return offset
            f.seek(offset)
            buf = b""
            need = 0
            while True:
                # Read at least the whole next record: its length was CRC-checked and is
                # bounded by the file size below, so this never allocates from garbage.
                chunk = f.read(max(_CHUNK, need - len(buf)))
                if not chunk:
                    break
                if head is not None and pos == 0 and not buf:
                    head.append(chunk[:HEAD_BYTES])
                buf = buf + chunk if buf else chunk
                consumed, damaged, need = scan(buf, pos)
                pos += consumed
                if damaged:
                    break
                buf = buf[consumed:]
                if need > len(buf) and pos + need > os.fstat(f.fileno()).st_size:
                    break  # truncated tail (a record still being written)
        except OSError as exc:
            warnings.append(f"{path}: read error: {exc}")
    return pos


def _read_small(path: str, offset: int, limit: int, head: list) -> bytes | None:
    """The up to ``limit`` bytes of ``path`` from ``offset`` on, in one read; None when
    there are more, the file shrank or cannot be read (its own read then judges it).
    A read from offset 0 appends the file's first HEAD_BYTES bytes to ``head``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    try:
        want = os.fstat(fd).st_size - offset
        if not 0 < want <= limit:
            return b"" if want == 0 else None
        if offset:
            os.lseek(fd, offset, os.SEEK_SET)
        data = os.read(fd, want)
        while len(data) < want:  # (a short read of a regular file is rare)
            more = os.read(fd, want - len(data))
            if not more:
                break
            data += more
    except OSError:
        return None
    finally:
        os.close(fd)
    if offset == 0 and data:
        head.append(data[:HEAD_BYTES])
    return data


def read_records(path: str | Path, offset: int = 0) -> tuple[list[bytes], int, list[str]]:
    """Read the complete TFRecords of ``path`` from byte ``offset``.

    Returns ``(records, new_offset, warnings)``. A partially written last record is not
    an error: ``new_offset`` is where it starts, so a later call resumes there. A
    damaged length header stops the scan (with a warning naming file and offset); a
    record whose data checksum fails is skipped with a warning.
    """
    warnings: list[str] = []
    records: list[bytes] = []
    new_offset = _read_from(
        path, offset, lambda buf, base: _scan(buf, base, path, records, warnings), warnings
    )
    return records, new_offset, warnings


# --------------------------------------------------------------------------- events


@dataclass(slots=True)
class ScalarSeries:
    """One scalar tag's points in file order: parallel lists of steps, wall times and values."""

    steps: list[int] = field(default_factory=list)
    wall_times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    def append(self, step: int, wall_time: float, value: float) -> None:
        self.steps.append(step)
        self.wall_times.append(wall_time)
        self.values.append(value)

    def extend(self, other: ScalarSeries) -> None:
        self.steps.extend(other.steps)
        self.wall_times.extend(other.wall_times)
        self.values.extend(other.values)

    def copy(self) -> ScalarSeries:
        return ScalarSeries(list(self.steps), list(self.wall_times), list(self.values))

    def last(self) -> tuple[int, float] | None:
        """``(step, value)`` of the last point, or None when empty."""
        return (self.steps[-1], self.values[-1]) if self.steps else None

    def to_numpy(self):
        """``(steps int64, wall_times float64, values float64)`` numpy arrays."""
        import numpy as np

        return (
            np.asarray(self.steps, dtype=np.int64),
            np.asarray(self.wall_times, dtype=np.float64),
            np.asarray(self.values, dtype=np.float64),
        )


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
    if t.dtype != _DT_STRING or not t.string_val:
        return None
    return "\n".join(s.decode("utf-8", "replace") for s in t.string_val)


def _pb_hparams(content: bytes) -> dict[str, Any] | None:
    """The hyperparameter values of an HParams plugin ``session_start_info`` record
    (``hp.hparams``, tensorboardX's ``add_hparams``): numbers (whole ones as int),
    strings and booleans."""
    try:
        data = _hparams_pb().HParamsPluginData.FromString(content)
    except Exception:  # DecodeError: garbage in the plugin's content; the event's other values stand
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


def _file_version_only(data: bytes) -> bool:
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


def _version_record(buf: bytes, a: int, b: int) -> bool:
    """Whether ``buf[a:b]`` is exactly one record, its header already checked, whose data
    passes its CRC and holds only a file version (see :func:`_file_version_only`)."""
    if a + 16 + _U64_CRC.unpack_from(buf, a)[0] != b:
        return False
    data = buf[a + 12 : b - 4]
    return _file_version_only(data) and masked_crc32c(data) == _U32.unpack_from(buf, b - 4)[0]


def _parse_event_pb(data: bytes, plugins: dict) -> tuple[float, int, list]:
    """Parse one Event with the protobuf classes.

    Returns ``(wall_time, step, items)`` where items are ``(_SCALARS, tag, float)``,
    ``(_TEXT, tag, str)``, ``(_HPARAMS, tag, {name: value})`` and, from a Keras model graph
    (shown as a text), ``(_COMPILED, tag, {name: value})``. ``plugins`` maps tag ->
    plugin name seen in the tag's metadata (TF1 writers store metadata only on a tag's
    first occurrence).
    """
    ev = _protos()[0].Event.FromString(data)
    items: list = []
    if ev.WhichOneof("what") != "summary":
        return ev.wall_time, ev.step, items
    for v in ev.summary.value:
        tag = v.tag
        if v.HasField("metadata"):
            name = v.metadata.plugin_data.plugin_name
            if name:
                plugins[tag] = name
                if name == _HPARAMS and tag == _HPARAMS_START_TAG:
                    hparams = _pb_hparams(v.metadata.plugin_data.content)
                    if hparams is not None:
                        items.append((_HPARAMS, tag, hparams))
                    continue
        kind = v.WhichOneof("value")
        if kind == "simple_value":
            items.append((_SCALARS, tag, v.simple_value))
        elif kind == "tensor":
            plugin = plugins.get(tag)
            if plugin is None or plugin == _SCALARS:
                x = _pb_tensor_scalar(v.tensor)
                if x is not None:
                    items.append((_SCALARS, tag, x))
            elif plugin == _TEXT:
                s = _pb_tensor_text(v.tensor)
                if s is not None:
                    items.append((_TEXT, tag, s))
            elif plugin == _KERAS_MODEL:
                s = _pb_tensor_text(v.tensor)
                model = None if s is None else _keras_model(s)
                if model is not None:
                    items.append((_TEXT, tag, model.describe()))
                    if model.hparams:
                        items.append((_COMPILED, tag, model.hparams))
    return ev.wall_time, ev.step, items


def _keras_model(text: str):
    from ..tfevents.kerasgraph import parse_keras_model

    try:
        return parse_keras_model(text)
    except Exception:  # (RecursionError, ...): a model text we cannot read costs only itself
        return None


def _varint_bytes(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
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


# Fast path. TF2 / Keras 3 write every scalar as one Event laid out as
#   09 <wall_time f64> [10 <step varint>] <KEY> <value f32> <TAIL>
# where KEY (summary, value, tag, tensor header) depends on the tag only and TAIL is
# the "scalars" plugin metadata. Matching KEY and TAIL byte for byte identifies such
# records without a protobuf parse; everything else takes the protobuf path.
_FAST_TAIL = b"\x4a\x0b\x0a\x09\x0a\x07scalars"
_FAST_SUFFIX = 4 + len(_FAST_TAIL)  # value + tail
_FAST_MIN = 1 + 8 + 15 + _FAST_SUFFIX - 1  # shorter records (e.g. an empty Event) are not one
_TENSOR_HEAD = b"\x42\x0a\x08\x01\x12\x00\x22\x04"  # tensor{dtype=FLOAT, shape{}, content(4)}


def _fast_key(tag: str) -> bytes:
    """The bytes between step and value of a TF2 scalar Event for ``tag``."""
    tagb = tag.encode("utf-8")
    value_len = 1 + len(_varint_bytes(len(tagb))) + len(tagb) + len(_TENSOR_HEAD) + _FAST_SUFFIX
    summary_len = 1 + len(_varint_bytes(value_len)) + value_len
    return b"".join(
        (
            b"\x2a",
            _varint_bytes(summary_len),
            b"\x0a",
            _varint_bytes(value_len),
            b"\x0a",
            _varint_bytes(len(tagb)),
            tagb,
            _TENSOR_HEAD,
        )
    )


_GOOD_HEADERS: dict[int, int] = {}  # record length -> its verified masked CRC
_FAST_TAGS: dict[bytes, str] = {}  # _fast_key(tag) -> tag, for every tag met so far


def _header_crc(length: int) -> int:
    """The masked CRC a record of ``length`` bytes has in its header (cached)."""
    c = _GOOD_HEADERS.get(length)
    if c is None:
        c = masked_crc32c(struct.pack("<Q", length))
        if len(_GOOD_HEADERS) < 4096:
            _GOOD_HEADERS[length] = c
    return c


def _learn_fast_tag(key: bytes, tag: str) -> None:
    """Remember that TF2 scalar records carrying ``key`` belong to ``tag`` (bounded)."""
    if len(_FAST_TAGS) < 100_000:
        _FAST_TAGS[key] = tag
_D = struct.Struct("<d").unpack_from
_F = struct.Struct("<f").unpack_from


_FAST_DTYPES: dict = {}  # record size -> numpy dtype of (wall_time, value)


def _fast_step(d: bytes, base_len: int) -> int:
    if len(d) == base_len:
        return 0  # no step field
    v = _read_varint(d, 10)[0] & 0xFFFFFFFFFFFFFFFF  # (a 10th byte > 1 overflows; as protobuf)
    return v - (1 << 64) if v >= 1 << 63 else v


def _fast_columns(datas: list[bytes], key_len: int) -> tuple[list, list, list]:
    """Steps, wall times and values of fast-path records (all of one tag, see _fast_key)."""
    n = len(datas)
    base_len = 9 + key_len + _FAST_SUFFIX  # the size of a record without a step field
    np = _numpy() if n >= 96 else None
    if np is not None:
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
                dtype = _FAST_DTYPES.get(size)
                if dtype is None:
                    dtype = _FAST_DTYPES[size] = np.dtype(
                        {
                            "names": ["w", "v"],
                            "formats": ["<f8", "<f4"],
                            "offsets": [1, size - _FAST_SUFFIX],
                            "itemsize": size,
                        }
                    )
                rec = np.frombuffer(blob, dtype=dtype)
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
        [_F(d, -_FAST_SUFFIX)[0] for d in datas],
    )


def _known_tag(key: bytes, data: bytes | None) -> str | None:
    """The tag whose TF2 scalar records carry ``key`` (see _fast_key), learnt from the
    record ``data`` on first sight; None when ``data`` is None (a record that failed its
    checksum) and the key is new, or when ``data`` is no such record."""
    tag = _FAST_TAGS.get(key)
    if tag is None and data is not None and data.endswith(_FAST_TAIL):
        tag = _tag_in_key(key)
        if tag is not None:
            _learn_fast_tag(key, tag)
    return tag


def _tag_in_key(key: bytes) -> str | None:
    """The tag named in a TF2 scalar record's ``key``, when the key is exactly the one
    :func:`_fast_key` makes of it (else None). Such a record (``09 wall [10 step] key value
    tail``) is then the Event protobuf would parse to that tag and a float: no protobuf
    needed (importing it costs ~20 ms, the first time a process reads a log)."""
    try:
        if key[0] != 0x2A:
            return None
        pos = _read_varint(key, 1)[1]
        if key[pos] != 0x0A:
            return None
        pos = _read_varint(key, pos + 1)[1]
        if key[pos] != 0x0A:
            return None
        n, pos = _read_varint(key, pos + 1)
        tag = key[pos : pos + n].decode("utf-8")  # (as protobuf: a tag is valid UTF-8)
    except (IndexError, ValueError):
        return None
    return tag if _fast_key(tag) == key else None


class EventFileReader:
    """Incremental reader of one event file: scalars per tag, texts per tag, hparams.

    ``read_new()`` parses only the bytes appended since the previous call and returns
    the new scalar points; ``.scalars``, ``.texts``, ``.hparams`` and ``.warnings`` accumulate;
    ``.offset`` is the byte offset where the next call resumes.
    """

    def __init__(self, path: str | Path, *, plugins: dict[str, str] | None = None):
        self._spath = str(path)
        self.offset = 0
        self.last_read_bytes = 0
        self.head: bytes | None = None  # the file's first bytes, when a read started there
        self.scalars: dict[str, ScalarSeries] = {}
        self.texts: dict[str, list[tuple[int, str]]] = {}
        self.hparams: dict[str, Any] = {}  # HParams plugin values (the last record's win)
        self.compiled: dict[str, Any] = {}  # optimizer, learning_rate, loss of a Keras model graph
        self.warnings: list[str] = []
        self._plugins: dict[str, str] = {} if plugins is None else plugins
        self._warned: set[str] = set()
        # state of one read_new() call
        self._new: dict[str, ScalarSeries] = {}
        self._sinks: dict[bytes, object] = {}  # fast-path key -> pending[tag].append
        self._pending: dict[str, list[bytes]] = {}  # tag -> fast-path records not decoded yet
        self._key_len: dict[str, int] = {}
        self._call_warnings: list[str] = []

    @property
    def path(self) -> Path:
        return Path(self._spath)

    def read_new(self) -> dict[str, ScalarSeries]:
        """Read what was appended since the last call; return only the new scalar points."""
        return self._read(True)

    def _read(self, return_new: bool) -> dict[str, ScalarSeries]:
        self._begin()
        start = self.offset
        head: list[bytes] = []
        self.offset = _read_from(self._spath, start, self._scan_events, self._call_warnings, head)
        if head:
            self.head = head[0]
        return self._end(start, return_new)

    def _begin(self) -> None:
        """Fresh state for one read (see :meth:`_end`)."""
        self._new = {}
        self._sinks = {}
        self._pending = {}
        self._call_warnings = []

    def _end(self, start: int, return_new: bool) -> dict[str, ScalarSeries]:
        """Merge what the read from ``start`` to ``self.offset`` found; return the new points."""
        new = self._new
        self.last_read_bytes = self.offset - start
        scalars = self.scalars
        for tag, s in new.items():
            acc = scalars.get(tag)
            if acc is None:
                scalars[tag] = s.copy() if return_new else s
            else:
                acc.extend(s)
        for w in self._call_warnings:
            # A damaged header is met again by every later call: report it once.
            if w not in self._warned:
                self._warned.add(w)
                self.warnings.append(w)
        self._new = {}
        self._sinks = {}
        self._pending = {}
        return new if return_new else {}

    def _scan_events(self, buf, base) -> tuple[int, bool, int]:
        """Decode the records of ``buf``: ``(consumed, damaged, need)`` as :func:`_scan` returns."""
        if len(buf) >= _BULK_MIN and _numpy() is not None:
            return self._scan_bulk(buf, base)
        return self._scan_loop(buf, base)

    def _scan_bulk(self, buf, base) -> tuple[int, bool, int]:
        """Big chunks: runs of TF2 scalar records decoded with numpy (see event_bulk)."""
        from ..tfevents import bulk as bulk

        views = bulk.Views(buf)
        return self._scan_segments(views, bulk.runs_and_gaps(views), 0, len(buf), base)

    def _scan_segments(self, views, segments, lo, hi, base, run=None) -> tuple[int, bool, int]:
        """Read ``views.buf[lo:hi]`` (file offset ``base`` at ``lo``), split into runs and
        gaps by ``event_bulk.runs_and_gaps``. A run is decoded here, or comes decoded in
        ``run`` (several files decoded at once) with its first record's index there."""
        buf = views.buf
        for kind, a, b, *first in segments:
            if kind == "run":
                if run is None:
                    from ..tfevents import bulk as bulk

                    decoded = bulk.decode_run(views, a, b, _known_tag)
                    self._take_run(views, decoded, 0, a, b, base - lo)
                else:
                    self._take_run(views, run, first[0], a, b, base - lo)
            elif b is None:  # the rest of the region: the loop judges its end
                consumed, damaged, need = self._scan_loop(buf[a:hi], base + a - lo)
                return a - lo + consumed, damaged, need
            elif not _version_record(buf, a, b):  # (every file starts with one)
                self._scan_loop(buf[a:b], base + a - lo)
        return hi - lo, False, 0

    def _take_run(self, views, run, i0: int, starts, ends, shift: int) -> None:
        """Add the points of a decoded run (records ``i0...`` of ``run``) in file order;
        the records it left alone go through the loop, between them. ``shift`` turns
        positions in ``views.buf`` into file offsets."""
        m = len(starts)
        slow = run.odd("slow", i0, m)
        if len(slow) > m // 4:  # not worth it: one pass of the loop
            a, b = int(starts[0]), int(ends[-1])
            self._scan_loop(views.buf[a:b], shift + a)
            return
        corrupt = run.odd("corrupt", i0, m)
        lo = 0
        for i in sorted([*slow, *corrupt, m]) if slow or corrupt else (m,):
            for _, tag, steps, walls, values in run.points(i0 + lo, i0 + i):
                s = self._new.get(tag)
                if s is not None and s.steps:
                    s.extend(ScalarSeries(steps, walls, values))
                else:  # (points() made these lists for us: no copy; a key keeps its place)
                    self._new[tag] = ScalarSeries(steps, walls, values)
                self._plugins[tag] = _SCALARS  # (the loop finds later records' tag by key itself)
            lo = i + 1
            if i == m:
                break
            a, b = int(starts[i]), int(ends[i])
            if run.slow[i0 + i]:
                self._scan_loop(views.buf[a:b], shift + a)
            else:
                self._call_warnings.append(
                    f"{self._spath}: corrupt record at byte {shift + a} "
                    "(data checksum mismatch); skipped"
                )

    def _scan_loop(self, buf, base) -> tuple[int, bool, int]:
        """:func:`_scan` fused with event decoding (the hot loop: keep it flat)."""
        pos = 0
        n = len(buf)
        unpack_header = _U64_CRC.unpack_from
        unpack_u32 = _U32.unpack_from
        unpack_frame = _FRAME.unpack_from
        crc = _crc()
        mask = _MASK_DELTA
        good_headers = _GOOD_HEADERS
        tail = _FAST_TAIL
        suffix = _FAST_SUFFIX
        fast_tags = _FAST_TAGS
        sinks = self._sinks
        warnings = self._call_warnings
        if n < 12:
            return 0, False, 0
        length, hcrc = unpack_header(buf, 0)
        try:
            while length >= 0:
                if good_headers.get(length) != hcrc:
                    c = crc(buf[pos : pos + 8])
                    if (((c >> 15) | (c << 17)) + mask) & 0xFFFFFFFF != hcrc:
                        warnings.append(
                            f"{self._spath}: damaged record header at byte {base + pos}; "
                            "the rest of the file is ignored"
                        )
                        return pos, True, 0
                    if len(good_headers) < 4096:
                        good_headers[length] = hcrc
                end = pos + 16 + length
                if end > n:
                    return pos, False, end - pos
                data = buf[pos + 12 : end - 4]
                pos = end
                # this record's data CRC and the next record's header in one unpack
                if end + 12 <= n:
                    dcrc, length, hcrc = unpack_frame(buf, end - 4)
                else:
                    dcrc = unpack_u32(buf, end - 4)[0]
                    length = -1
                c = crc(data)
                if (((c >> 15) | (c << 17)) + mask) & 0xFFFFFFFF != dcrc:
                    warnings.append(
                        f"{self._spath}: corrupt record at byte {base + pos - len(data) - 16} "
                        "(data checksum mismatch); skipped"
                    )
                    continue
                # ---- fast path: a TF2 scalar Event (see _fast_key), decoded later in bulk
                if len(data) > _FAST_MIN and data[0] == 0x09 and data.endswith(tail):
                    if data[9] != 0x10:
                        key = data[9:-suffix]  # no step field: step 0
                    elif data[10] < 0x80:
                        key = data[11:-suffix]
                    elif data[11] < 0x80:
                        key = data[12:-suffix]
                    elif data[12] < 0x80:  # steps up to 2**21: long runs and batch logs
                        key = data[13:-suffix]
                    elif data[13] < 0x80:
                        key = data[14:-suffix]
                    else:
                        try:
                            key = data[_read_varint(data, 10)[1] : -suffix]
                        except (ValueError, IndexError):  # garbage: let protobuf judge it
                            key = b""
                    sink = sinks.get(key)
                    if sink is None:
                        tag = fast_tags.get(key)
                        if tag is None:  # first sight of a tag: from the key itself
                            tag = _tag_in_key(key)
                            if tag is not None:
                                _learn_fast_tag(key, tag)
                        if tag is not None:
                            sink = self._new_sink(tag, key)
                    if sink is not None:
                        sink(data)
                        continue
                # ---- general path (and first sight of a tag)
                self._slow(data, base + pos - len(data) - 16)
            return pos, False, 0
        finally:
            self._flush_pending()

    def _new_sink(self, tag: str, key: bytes):
        """Where this read's fast-path records of ``tag`` wait to be decoded in bulk."""
        self._plugins[tag] = _SCALARS
        self._key_len[tag] = len(key)
        self._new_series(tag)  # the tag takes its place in file order now, not when decoded
        pending = self._pending.get(tag)
        if pending is None:
            pending = self._pending[tag] = []
        sink = self._sinks[key] = pending.append
        return sink

    def _flush_pending(self, only: str | None = None) -> None:
        """Decode the fast-path records kept aside into this call's new series."""
        for tag, datas in self._pending.items():
            if not datas or (only is not None and tag != only):
                continue
            steps, walls, values = _fast_columns(datas, self._key_len[tag])
            datas.clear()  # in place: the sink (its bound append) stays valid
            self._new_series(tag).extend(ScalarSeries(steps, walls, values))

    def _new_series(self, tag: str) -> ScalarSeries:
        """This call's series of new points of ``tag``."""
        s = self._new.get(tag)
        if s is None:
            s = self._new[tag] = ScalarSeries()
        return s

    def _slow(self, data: bytes, offset: int) -> None:
        if _file_version_only(data):
            return
        try:
            wall, step, items = _parse_event_pb(data, self._plugins)
        except Exception as exc:  # DecodeError, or garbage in a valid record
            self._call_warnings.append(
                f"{self._spath}: undecodable event at byte {offset} "
                f"({exc.__class__.__name__}); skipped"
            )
            return
        for kind, tag, val in items:
            if kind == _SCALARS:
                if self._pending.get(tag):
                    self._flush_pending(tag)  # keep the file order within a tag
                s = self._new_series(tag)
                s.steps.append(step)
                s.wall_times.append(wall)
                s.values.append(val)
                if len(items) == 1 and data.endswith(_FAST_TAIL):
                    # Later records of this tag laid out like this one take the fast path.
                    key = _fast_key(tag)
                    _learn_fast_tag(key, tag)
                    self._new_sink(tag, key)
            elif kind == _TEXT:
                self.texts.setdefault(tag, []).append((step, val))
            elif kind == _HPARAMS:
                self.hparams.update(val)
            else:
                self.compiled.update(val)

    def __repr__(self) -> str:
        return f"EventFileReader({self._spath!r}, offset={self.offset})"


# --------------------------------------------------------------------------- runs


def is_event_file(name: str) -> bool:
    """Whether a file name is a TensorBoard event file (``events.out.tfevents.*``)."""
    return name.startswith(_EVENT_FILE_PREFIX)


@dataclass(slots=True)
class RunScalars:
    """Everything read from one run directory."""

    scalars: dict[str, ScalarSeries]
    texts: dict[str, list[tuple[int, str]]]
    warnings: list[str]
    file_names: list[str]  # the event files read, in the order they were merged

    @property
    def files(self) -> list[Path]:
        return [Path(p) for p in self.file_names]


class RunEventReader:
    """Incremental reader of every event file under a run directory.

    Tags are prefixed with the event file's directory relative to the run
    ("train/epoch_loss"; a file directly in the run gives the bare tag); files of one
    directory are merged in file-name order. Call ``refresh()`` again to pick up
    appended data and new files, then ``result()``.
    """

    def __init__(self, run_dir: str | Path):
        self._dir = os.path.normpath(run_dir)  # (as Path() would show it in warnings)
        self._readers: dict[str, EventFileReader] = {}  # "train/events.out..." -> reader
        self._plugins: dict[str, dict[str, str]] = {}  # per sub-directory prefix
        self._cache: RunScalars | None = None
        self._warnings: list[str] = []

    @property
    def run_dir(self) -> Path:
        return Path(self._dir)

    def _find_files(self) -> list[str]:
        """Relative paths ("train/events.out.tfevents...") of the run's event files."""
        found: list[str] = []
        stack = [("", self._dir)]
        while stack:
            rel, path = stack.pop()
            try:
                with os.scandir(path) as it:
                    for entry in it:
                        name = entry.name
                        if name.startswith(_EVENT_FILE_PREFIX):
                            if entry.is_file():
                                found.append(rel + name)
                        elif entry.is_dir(follow_symlinks=False):
                            stack.append((rel + name + "/", entry.path))
            except OSError as exc:
                if not rel:
                    raise RunStoreError(f"cannot read run directory {self.run_dir}: {exc}") from exc
                msg = f"{path}: cannot list: {exc}"
                if msg not in self._warnings:
                    self._warnings.append(msg)
        return found

    def refresh(self) -> bool:
        """Read new files and appended bytes; return True when anything new was read."""
        changed = self._add_files()
        for reader in self._readers.values():
            nwarn = len(reader.warnings)
            reader._read(False)
            if reader.last_read_bytes or len(reader.warnings) != nwarn:
                changed = True
        if changed:
            self._cache = None
        return changed

    def _add_files(self) -> bool:
        """Start a reader for each event file not seen before; True if there were any."""
        changed = False
        # in the order result() merges them: files of one directory share what they tell
        # of each tag (TF1 logs give a tag's metadata only once), so reading order matters
        for rel in sorted(self._find_files(), key=merge_order):
            if rel not in self._readers:
                prefix = rel[: rel.rfind("/") + 1]
                self._readers[rel] = EventFileReader(
                    os.path.join(self._dir, rel), plugins=self._plugins.setdefault(prefix, {})
                )
                changed = True
        return changed

    def result(self, *, share: bool = False) -> RunScalars:
        """The merged scalars/texts/warnings of everything read so far.

        The series are copies, unaffected by later refreshes; ``share=True`` skips
        copying a tag's series when a single file holds it (for a reader about to be
        dropped, like :func:`read_run_scalars`'s).
        """
        if self._cache is not None and not share:
            return self._cache
        scalars: dict[str, ScalarSeries] = {}
        texts: dict[str, list[tuple[int, str]]] = {}
        warnings: list[str] = list(self._warnings)

        rels = sorted(self._readers, key=merge_order)
        shared: set[str] = set()  # keys whose series is still a reader's own object
        for rel in rels:
            reader = self._readers[rel]
            prefix = rel[: rel.rfind("/") + 1]
            for tag, s in reader.scalars.items():
                key = prefix + tag
                acc = scalars.get(key)
                if acc is None:
                    if share:
                        scalars[key] = s
                        shared.add(key)
                    else:
                        scalars[key] = s.copy()
                else:
                    if key in shared:  # a second file holds this tag: never extend a reader's
                        acc = scalars[key] = acc.copy()
                        shared.discard(key)
                    acc.extend(s)
            for tag, t in reader.texts.items():
                texts.setdefault(prefix + tag, []).extend(t)
            warnings.extend(reader.warnings)
        result = RunScalars(scalars, texts, warnings, [self._readers[r]._spath for r in rels])
        if not share:
            self._cache = result
        return result


def merge_order(rel: str) -> tuple[str, str]:
    """Files of a run: by directory, then by name within one."""
    i = rel.rfind("/") + 1
    return rel[:i], rel[i:]


def read_run_scalars(run_dir: str | Path) -> RunScalars:
    """Read every scalar (and text) of a run directory; see :class:`RunEventReader`."""
    reader = RunEventReader(run_dir)
    reader.refresh()
    return reader.result(share=True)


_BATCH_MAX = 4 << 20  # files with more new bytes than this are read on their own
_BLOCK = 1 << 20  # read_together decodes files a block of about this many bytes at a time


def read_runs_scalars(run_dirs) -> list[RunScalars]:
    """:func:`read_run_scalars` of many runs at once, the same results in the same order.

    Runs hold small files (a few hundred records each): numpy passes over a block of
    them at a time beat a record-by-record loop per file (see event_bulk). A run
    directory that cannot be read raises RunStoreError, as read_run_scalars does.
    """
    with hooks.bulk_read():
        readers = [RunEventReader(d) for d in run_dirs]
        for r in readers:
            r._add_files()
        read_together([f for r in readers for f in r._readers.values()])
        return [r.result(share=True) for r in readers]


def read_together(files: list[EventFileReader], return_new: bool = False) -> list[dict[str, ScalarSeries]]:
    """:meth:`EventFileReader.read_new` of each of ``files``, in order, their small new
    parts decoded together, a block of files at a time; the new points of each file
    when ``return_new``."""
    news: list[dict[str, ScalarSeries]] = []
    if not files:
        return news
    block: list[tuple[EventFileReader, bytes]] = []
    size = 0
    np = _numpy()
    for f in files:
        data = None
        if np is not None:
            head: list[bytes] = []
            data = _read_small(f._spath, f.offset, _BATCH_MAX, head)
            if head:
                f.head = head[0]
        if data is None or size + len(data) > _BLOCK:
            news += _read_block(block, return_new)
            block, size = [], 0
        if data is None:  # big, unchanged or unreadable: on its own (and its warnings)
            news.append(f._read(return_new))
        else:
            block.append((f, data))
            size += len(data)
    news += _read_block(block, return_new)
    return news


def _read_block(
    block: list[tuple[EventFileReader, bytes]], return_new: bool
) -> list[dict[str, ScalarSeries]]:
    """Read ``(reader, its new bytes)`` of a few files at once: their bytes joined in one
    buffer (small enough to stay in a core's cache), its runs of scalar records decoded
    in one pass, and each file then takes its part, in order."""
    if not block:
        return []
    from ..tfevents import bulk as bulk

    views = bulk.Views(b"".join(data for _, data in block))
    index = bulk.TailIndex(views)
    his = list(itertools.accumulate(len(data) for _, data in block))
    los = [0, *his[:-1]]
    plans = []
    starts, ends = [], []
    bounds: list[int] = []  # the first record of each file's runs, in the joined run
    count = 0
    for found in bulk.file_segments(views, los, his, index):
        segments = []
        for kind, a, b in found:
            if kind == "run":
                segments.append((kind, a, b, count))
                bounds.append(count)
                starts.append(a)
                ends.append(b)
                count += len(a)
            else:
                segments.append((kind, a, b))
        plans.append(segments)
    run = None
    if starts:
        np = _numpy()
        run = bulk.decode_run(views, np.concatenate(starts), np.concatenate(ends), _known_tag)
        run.split(bounds + [count])
    news = []
    for (f, _), lo, hi, segments in zip(block, los, his, plans, strict=True):
        f._begin()
        start = f.offset
        consumed, _, _ = f._scan_segments(views, segments, lo, hi, start, run)
        f.offset = start + consumed
        news.append(f._end(start, return_new))
    return news
