"""Recognising formats from bytes."""

from __future__ import annotations

import codecs

import pytest

from backend.pipeline.sniff import FileFormat, UnrecognisedContent, sniff_format
from tests.factories import sales_csv, xlsx_bytes


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (sales_csv(rows=3), FileFormat.CSV),
        (codecs.BOM_UTF8 + b"a;b\n1;2\n", FileFormat.CSV),
        (codecs.BOM_UTF16_LE + "a\tb\n1\t2\n".encode("utf-16-le"), FileFormat.CSV),
        ("Ville,Montant\nMontréal,12\n".encode("cp1252"), FileFormat.CSV),
        (b"PAR1\x15\x04", FileFormat.PARQUET),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, FileFormat.XLS),
        (xlsx_bytes(rows=[["a"], ["1"]]), FileFormat.XLSX),
    ],
)
def test_supported_formats_are_recognised_from_their_bytes(
    head: bytes, expected: FileFormat
) -> None:
    assert sniff_format(head) is expected


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (b"\x00\x01\x02garbage" * 50, "binary"),
        (b"a,b\n1,\x002\n", "binary"),
        (b"\x89PNG\r\n\x1a\n", "PNG"),
        (b"PK\x03\x04" + b"\x00" * 26 + b"doc/readme.txt", "not an Excel workbook"),
    ],
)
def test_other_content_is_refused_with_what_it_looks_like(head: bytes, says: str) -> None:
    with pytest.raises(UnrecognisedContent, match=says):
        sniff_format(head)
