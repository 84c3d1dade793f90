"""Recognising an upload's format from its bytes (decides 415 at upload time).

Reading each format is in backend.pipeline.sources.
"""

from __future__ import annotations

import codecs
import enum

# How many leading bytes the upload must have delivered before its format is decided.
SNIFF_BYTES = 64 * 1024

_BINARY_MAGIC: dict[bytes, str] = {
    b"\x1f\x8b": "a gzip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"Rar!": "a RAR archive",
    b"\x7fELF": "an executable",
    b"\x28\xb5\x2f\xfd": "a zstd archive",
}


class FileFormat(enum.StrEnum):
    CSV = "csv"
    XLSX = "xlsx"
    XLS = "xls"
    PARQUET = "parquet"


class UnrecognisedContent(ValueError):
    """The bytes are not CSV, Excel or Parquet; the message says what they look like."""


def sniff_format(head: bytes) -> FileFormat:
    """Decide the format from the first bytes of a non-empty file (up to SNIFF_BYTES)."""
    if head.startswith(b"PAR1"):
        return FileFormat.PARQUET
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return FileFormat.XLS
    if head.startswith(b"PK\x03\x04"):
        if b"[Content_Types].xml" in head or b"xl/" in head:
            return FileFormat.XLSX
        raise UnrecognisedContent("a zip archive that is not an Excel workbook (no xl/ parts)")
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            raise UnrecognisedContent(what)
    if _looks_like_text(head):
        return FileFormat.CSV
    raise UnrecognisedContent("binary data")


def utf16_without_bom(head: bytes) -> str | None:
    """ "utf-16-le" or "utf-16-be" when the first bytes are UTF-16 text without a byte order mark
    (every character of the first 256 code points has a NUL byte: at odd positions in little
    endian, at even ones in big endian), else None."""
    sample = head[: len(head) // 2 * 2]
    pairs = len(sample) // 2
    if pairs < 2:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    for encoding, nuls, others in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if nuls >= 0.9 * pairs and others == 0:
            try:
                text = sample.decode(encoding)
            except UnicodeDecodeError:
                return None
            return encoding if _looks_like_text(text.encode("utf-8")) else None
    return None


def _looks_like_text(head: bytes) -> bool:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return True
    if utf16_without_bom(head) is not None:
        return True
    if b"\x00" in head:
        return False
    control = sum(1 for b in head if b < 0x20 and b not in (0x09, 0x0A, 0x0C, 0x0D)) + head.count(
        0x7F
    )
    return control <= len(head) // 100
