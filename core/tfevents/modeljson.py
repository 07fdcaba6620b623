"""The raw ``model.to_json()`` text Keras' TensorBoard callback wrote into a run, read back as data.

The browser keeps only a description of that model (kerasgraph); editing a plain Keras run
as a new run needs the config itself, read here on demand from the start of the run's event
files (the callback writes the graph once, at its first step).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..safefile import is_regular, read_bytes
from .crc import header_crc
from .decode import _pb_tensor_text, protos
from .framing import EVENT_FILE_PREFIX, FOOTER_LENGTH, HEADER, HEADER_LENGTH
from .kerasgraph import KERAS_MODEL_PLUGIN

SCAN_BYTES = 16 << 20  # the graph is among a file's first records: read no further than this


def _records(data: bytes):
    """The data of each whole record with a valid length header, up to the first bad one."""
    pos = 0
    while pos + HEADER_LENGTH <= len(data):
        length, hcrc = HEADER.unpack_from(data, pos)
        end = pos + HEADER_LENGTH + length
        if header_crc(length) != hcrc or end + FOOTER_LENGTH > len(data):
            return
        yield data[pos + HEADER_LENGTH:end]
        pos = end + FOOTER_LENGTH


def read_keras_model_json(run_dir: str | os.PathLike) -> str | None:
    """The last model JSON found in the run's event files (None when there is none)."""
    event_pb2 = protos()[0]
    found = None
    files = sorted(p for p in Path(run_dir).rglob(EVENT_FILE_PREFIX + "*") if is_regular(p))
    for path in files:
        try:
            data = read_bytes(path, 0, SCAN_BYTES)
        except OSError:  # (unreadable: the browser already warns of it)
            continue
        for record in _records(data):
            try:
                event = event_pb2.Event.FromString(record)
            except Exception:  # (DecodeError): a damaged record costs only itself
                continue
            for v in event.summary.value:
                if v.metadata.plugin_data.plugin_name == KERAS_MODEL_PLUGIN:
                    found = _pb_tensor_text(v.tensor) or found
    return found
