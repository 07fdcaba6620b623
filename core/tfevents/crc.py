"""CRC-32C as TFRecord uses it: the checksum, its masked form, a record header's CRC and the byte table."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable

__all__ = [
    "MASK_DELTA",
    "byte_table",
    "crc32c",
    "crc32c_function",
    "header_crc",
    "mask",
    "masked_crc32c",
]

MASK_DELTA = 0xA282EAD8  # added to the rotated CRC by TFRecord's "masking"
_POLYNOMIAL = 0x82F63B78  # CRC-32C (Castagnoli), reflected


@functools.cache
def crc32c_function() -> Callable[[bytes], int]:
    """The ``crc32c`` package's CRC-32C (hardware-accelerated), for a hot loop to hold.

    Imported on first use, not with this module: a runs table shown from its summary
    cache reads no event file and should not pay for loading it.
    """
    from crc32c import crc32c as fast

    return fast


def crc32c(data: bytes) -> int:
    """The CRC-32C of ``data``."""
    return crc32c_function()(data)


def mask(crc: int) -> int:
    """TFRecord's "masked" form of a CRC-32C (rotated right by 15 bits, plus a constant)."""
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """The masked CRC-32C of ``data``, as a TFRecord stores it."""
    return mask(crc32c_function()(data))


@functools.lru_cache(maxsize=4096)
def header_crc(length: int) -> int:
    """The masked CRC a record's header holds for a record of ``length`` data bytes (the
    CRC of the little-endian u64 length). Cached: a log has few distinct lengths."""
    return masked_crc32c(struct.pack("<Q", length))


@functools.cache
def byte_table() -> tuple[int, ...]:
    """The CRC-32C table: what one byte does to the CRC register (``c -> (c >> 8) ^
    table[(c ^ byte) & 0xFF]``), from which the bulk decoder composes CRCs."""
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ _POLYNOMIAL if c & 1 else c >> 1
        table.append(c)
    return tuple(table)
