"""Event files on disk: their names, TFRecord framing, and reading their bytes from an offset on.

A TFRecord is ``<length u64> <masked CRC of length u32> <data> <masked CRC of data u32>``,
all little-endian: a HEADER_LENGTH-byte header, the data, a FOOTER_LENGTH-byte footer.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from pathlib import Path

from ..safefile import NotRegularFile, open_regular, open_regular_fd, unreadable
from .crc import masked_crc32c

__all__ = [
    "CHUNK_BYTES",
    "EVENT_FILE_PREFIX",
    "FOOTER",
    "FOOTER_LENGTH",
    "FRAME",
    "HEADER",
    "HEADER_LENGTH",
    "HEAD_BYTES",
    "RECORD_OVERHEAD",
    "encode_record",
    "is_event_file",
    "read_chunks",
    "read_small",
]

EVENT_FILE_PREFIX = "events.out.tfevents."

HEADER_LENGTH = 12  # length (u64) and its masked CRC (u32)
FOOTER_LENGTH = 4  # the data's masked CRC (u32)
RECORD_OVERHEAD = HEADER_LENGTH + FOOTER_LENGTH  # a record's size beyond its data
HEADER = struct.Struct("<QI")  # length, masked CRC of length
FOOTER = struct.Struct("<I")  # masked CRC of the data
FRAME = struct.Struct("<IQI")  # one record's footer and the next record's header

CHUNK_BYTES = 4 << 20  # a file is read this much at a time (more for a bigger record)
HEAD_BYTES = 64  # a file's first bytes kept by a read from its start (EventFileReader.head)


def is_event_file(name: str) -> bool:
    """Whether a file name is a TensorBoard event file (``events.out.tfevents.*``)."""
    return name.startswith(EVENT_FILE_PREFIX)


def encode_record(data: bytes) -> bytes:
    """Frame ``data`` as one TFRecord: length, masked CRC of length, data, masked CRC of data."""
    length = struct.pack("<Q", len(data))
    return b"".join(
        (length, struct.pack("<I", masked_crc32c(length)), data, FOOTER.pack(masked_crc32c(data)))
    )


Scan = Callable[[bytes, int], tuple[int, bool, int]]


def read_chunks(
    path: str, offset: int, scan: Scan, warnings: list, head: list | None = None
) -> int:
    """Feed the bytes of ``path`` from ``offset`` on to ``scan(buf, base)`` chunk by chunk.

    ``scan`` gets file bytes starting at offset ``base`` and returns ``(consumed,
    damaged, need)``: the bytes it consumed (whole records), whether a damaged length
    header stopped it, and the total size of the incomplete record at ``consumed`` when
    its header is valid (0 when unknown). Problems are appended to ``warnings``.

    Returns:
        The offset where a later read must resume (the start of the first incomplete
        record). A read from offset 0 appends the file's first HEAD_BYTES bytes to ``head``.
    """
    try:
        f = open_regular(path)  # (a FIFO named like an event file never blocks)
    except NotRegularFile as exc:
        warnings.append(unreadable(path, exc))
        return offset
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
                chunk = f.read(max(CHUNK_BYTES, need - len(buf)))
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


def read_small(path: str | Path, offset: int, limit: int, head: list) -> bytes | None:
    """The up to ``limit`` bytes of ``path`` from ``offset`` on, in one read; None when
    there are more, the file shrank or cannot be read (its own read then judges it).
    A read from offset 0 appends the file's first HEAD_BYTES bytes to ``head``."""
    try:
        fd, st = open_regular_fd(path)  # (not a regular file: None, and its own read warns)
    except OSError:
        return None
    try:
        want = st.st_size - offset
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
