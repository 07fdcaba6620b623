"""An independent TFRecord reader for tests: what the production readers' framing must agree with.

Written apart from keraslab.core.tfevents (the whole file in one read, the masked CRC
spelt out here) so that a mistake shared by the writer and the readers cannot pass.
"""

from __future__ import annotations

import struct
from pathlib import Path

from crc32c import crc32c


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC-32C, as TensorFlow's record writer computes it."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_records(path: str | Path, offset: int = 0) -> tuple[list[bytes], int, list[str]]:
    """The complete TFRecords of ``path`` from byte ``offset`` on.

    Returns ``(records, new_offset, warnings)``: a partially written last record is left
    for later (``new_offset`` is where it starts); a damaged length header stops the scan
    there, and a record whose data fails its CRC is skipped, each with a warning worded
    as the production reader words it.
    """
    data = Path(path).read_bytes()[offset:]
    records: list[bytes] = []
    warnings: list[str] = []
    pos = 0
    while pos + 12 <= len(data):
        length, length_crc = struct.unpack_from("<QI", data, pos)
        if masked_crc(data[pos : pos + 8]) != length_crc:
            warnings.append(
                f"{path}: damaged record header at byte {offset + pos}; the rest of the file is ignored"
            )
            break
        end = pos + 12 + length + 4
        if end > len(data):
            break
        payload = data[pos + 12 : end - 4]
        if masked_crc(payload) != struct.unpack_from("<I", data, end - 4)[0]:
            warnings.append(
                f"{path}: corrupt record at byte {offset + pos} (data checksum mismatch); skipped"
            )
        else:
            records.append(payload)
        pos = end
    return records, offset + pos, warnings
