"""EventWriter: appends scalars, texts and Keras model graphs to a TensorBoard event file, encoded as TensorFlow 2 encodes them."""

from __future__ import annotations

import itertools
import os
import socket
import struct
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import RunStoreError
from .decode import DT_FLOAT, DT_STRING, SCALARS, TEXT, protos
from .framing import EVENT_FILE_PREFIX, encode_record
from .kerasgraph import KERAS_MODEL_PLUGIN

if TYPE_CHECKING:
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

__all__ = ["EventWriter"]

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
                    f"{EVENT_FILE_PREFIX}{int(time.time())}.{host}.{os.getpid()}"
                    f".{counter}{filename_suffix}"
                )
                try:
                    self._file = open(self.logdir / name, "xb")  # noqa: SIM115
                    break
                except FileExistsError:
                    continue
        except OSError as exc:
            raise RunStoreError(f"cannot create an event file in {self.logdir}: {exc.strerror or exc}") from exc
        self.path = self.logdir / name
        self._lock = threading.Lock()
        first = protos()[0].Event(wall_time=time.time(), file_version="brain.Event:2")
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
                raise RunStoreError(f"cannot write event file {self.path}: {exc.strerror or exc}") from exc

    def add_event(self, event: event_pb2.Event) -> None:
        """Append one Event proto as it is."""
        self.write_record(event.SerializeToString())

    def add_summary(
        self, summary: summary_pb2.Summary, step: int, wall_time: float | None = None
    ) -> None:
        """Append an Event holding ``summary`` (any Summary, e.g. legacy ``simple_value``)."""
        event = protos()[0].Event(
            wall_time=time.time() if wall_time is None else float(wall_time), step=int(step)
        )
        event.summary.CopyFrom(summary)
        self.add_event(event)

    # -- high-level API
    def add_scalar(self, tag: str, value: float, step: int, wall_time: float | None = None) -> None:
        """Write a scalar exactly as TF2 ``tf.summary.scalar`` does (DT_FLOAT tensor, plugin "scalars")."""
        _, _, tensor_pb2, tensor_shape_pb2 = protos()
        tensor = tensor_pb2.TensorProto(
            dtype=DT_FLOAT,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
            tensor_content=struct.pack("<f", float(value)),
        )
        self.add_summary(_tensor_summary(tag, tensor, SCALARS), step, wall_time)

    def add_text(self, tag: str, text: str, step: int = 0, wall_time: float | None = None) -> None:
        """Write a text exactly as TF2 ``tf.summary.text`` does (DT_STRING tensor, plugin "text")."""
        _, _, tensor_pb2, tensor_shape_pb2 = protos()
        tensor = tensor_pb2.TensorProto(
            dtype=DT_STRING,
            tensor_shape=tensor_shape_pb2.TensorShapeProto(),
            string_val=[str(text).encode("utf-8")],
        )
        self.add_summary(_tensor_summary(tag, tensor, TEXT), step, wall_time)

    def add_keras_model(self, model_json: str, step: int = 0) -> None:
        """Write a model's ``to_json()`` as Keras' TensorBoard callback does (tag ``keras``,
        plugin ``graph_keras_model``): TensorBoard's graph dashboard draws it."""
        _, _, tensor_pb2, tensor_shape_pb2 = protos()
        tensor = tensor_pb2.TensorProto(
            dtype=DT_STRING, tensor_shape=tensor_shape_pb2.TensorShapeProto(), string_val=[model_json.encode("utf-8")]
        )
        summary = _tensor_summary("keras", tensor, KERAS_MODEL_PLUGIN)
        summary.value[0].metadata.plugin_data.content = b"1"
        self.add_summary(summary, step)

    def flush(self) -> None:
        """Hand buffered records to the OS so that readers following the file see them."""
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.flush()
                except OSError as exc:
                    raise RunStoreError(f"cannot write event file {self.path}: {exc.strerror or exc}") from exc

    def close(self) -> None:
        """Flush and close the file (idempotent)."""
        with self._lock:
            if not self._file.closed:
                try:
                    self._file.close()  # flushes
                except OSError as exc:
                    raise RunStoreError(f"cannot write event file {self.path}: {exc.strerror or exc}") from exc

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
    summary_pb2 = protos()[1]
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    value.metadata.plugin_data.plugin_name = plugin
    return summary_pb2.Summary(value=[value])
