"""Generates the bad-input corpus in tests/data/bad/ and its manifest (what each file must end in).

    python tests/data/make_bad_files.py

Deterministic: the same files every time. Each file is a way real uploads go wrong; the manifest
says whether the upload must be refused (HTTP status) or end as a failed task (error code), and a
phrase the user-facing message must contain.
"""

from __future__ import annotations

import io
import json
import random
import struct
import sys
import zipfile
import zlib
from pathlib import Path
from typing import Any

import polars as pl

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.generate_sales import HEADER, sales_rows  # noqa: E402
from tests.factories import xlsx_bytes  # noqa: E402

OUT = Path(__file__).resolve().parent / "bad"


def rows(count: int = 40, seed: int = 7) -> list[list[str]]:
    return list(sales_rows(count, seed))


def csv_text(data: list[list[str]], header: list[str] = HEADER, delimiter: str = ",") -> str:
    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n")):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(delimiter.join(cell(v) for v in row) + "\n" for row in [header, *data])


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer)
    return buffer.getvalue()


def sales_frame() -> pl.DataFrame:
    return pl.DataFrame(rows(), schema=HEADER, orient="row")


def bomb_xlsx(expanded_mb: int) -> bytes:
    """A workbook whose sharedStrings.xml inflates to `expanded_mb` MB from about a thousandth of it."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows=[["a"], ["1"]])))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in base.namelist():
            archive.writestr(name, base.read(name))
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0"?><sst><si><t>')
            block = b"A" * (1024 * 1024)
            for _ in range(expanded_mb):
                part.write(block)
            part.write(b"</t></si></sst>")
    return buffer.getvalue()


def _deflated(head: bytes, filler: bytes, copies: int, tail: bytes) -> bytes:
    """A raw deflate stream of head + filler * copies + tail, made in milliseconds: the filler is
    compressed once, after a full flush, so its blocks can simply be repeated."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    start = packer.compress(head) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(filler) + packer.flush(zlib.Z_FULL_FLUSH)
    return start + block * copies + packer.compress(tail) + packer.flush()


def crafted_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written byte by byte: (name, raw deflate stream, declared CRC-32, declared size) per
    entry, in local file headers and a central directory that both say what they are told."""
    out, directory = io.BytesIO(), io.BytesIO()
    for name, stream, crc, size in entries:
        offset, encoded = out.tell(), name.encode()
        sizes = (crc, len(stream), size, len(encoded))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, *sizes, 0))
        out.write(encoded + stream)
        directory.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                *sizes,
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + encoded
        )
    listing = directory.getvalue()
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(listing), out.tell(), 0
    )
    return out.getvalue() + listing + end


def huge_cell_xlsx(cell_mb: int, *, declared_size: int | None = None) -> bytes:
    """A workbook with the header "a" and one cell of `cell_mb` MB of "A"s. With `declared_size`,
    the sheet's headers lie: they declare that many bytes, with the CRC of that prefix only (what
    Python's zipfile checks), over a deflate stream that inflates to the whole sheet."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows=[["a"]])))
    sheet_name = "xl/worksheets/sheet1.xml"
    entries = []
    for name in base.namelist():
        if name != sheet_name:
            data = base.read(name)
            entries.append((name, _deflated(data, b"", 0, b""), zlib.crc32(data), len(data)))
    sheet = base.read(sheet_name)
    cut = sheet.index(b"</sheetData>")
    head = sheet[:cut] + b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
    tail = b"</t></is></c></row>" + sheet[cut:]
    filler = b"A" * (1024 * 1024)
    size = len(head) + cell_mb * len(filler) + len(tail)
    crc = zlib.crc32(head)
    for _ in range(cell_mb):
        crc = zlib.crc32(filler, crc)
    crc = zlib.crc32(tail, crc)
    if declared_size is not None:
        prefix = (head + filler)[:declared_size]
        size, crc = len(prefix), zlib.crc32(prefix)
    entries.append((sheet_name, _deflated(head, filler, cell_mb, tail), crc, size))
    return crafted_zip(entries)


def far_cell_xlsx(reference: str) -> bytes:
    """A workbook of two cells, A1 and `reference`: calamine makes a dense grid of everything
    between them (at XFD1048576, 17 billion cells), from a file of about 1.5 KB."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_bytes(rows=[["a"]])))
    row = "".join(c for c in reference if c.isdigit())
    far = f'<row r="{row}"><c r="{reference}"><v>1</v></c></row></sheetData>'.encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in base.namelist():
            archive.writestr(name, base.read(name).replace(b"</sheetData>", far))
    return buffer.getvalue()


def _biff(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def xls_bytes(strings: list[str], *, far_cell: bool = False) -> bytes:
    """A minimal .xls (BIFF8 in an OLE2 compound file): one sheet, one column of `strings`; with
    `far_cell`, one more cell at row and column 65535, which BIFF8 records allow."""
    bof = struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0x0006)
    sst = _biff(
        0x00FC,
        struct.pack("<II", len(strings), len(strings))
        + b"".join(struct.pack("<HB", len(s), 0) + s.encode("latin-1") for s in strings),
    )
    name = b"Sheet1"
    sheet_offset = 4 + len(bof) + 4 + 8 + len(name) + len(sst) + 4
    globals_ = (
        _biff(0x0809, bof)
        + _biff(0x0085, struct.pack("<IBBBB", sheet_offset, 0, 0, len(name), 0) + name)
        + sst
        + _biff(0x000A, b"")
    )
    cells = [(r, 0, r) for r in range(len(strings))] + ([(65535, 65535, 0)] if far_cell else [])
    sheet = (
        _biff(0x0809, bof[:2] + struct.pack("<H", 0x0010) + bof[4:])
        + _biff(0x0200, struct.pack("<IIHHH", 0, len(strings), 0, 1, 0))
        + b"".join(_biff(0x00FD, struct.pack("<HHHI", r, c, 0, s)) for r, c, s in cells)
        + _biff(0x000A, b"")
    )
    return _compound_file(globals_ + sheet)


def _compound_file(workbook: bytes) -> bytes:
    """An OLE2 compound file (version 3, 512-byte sectors) holding one stream, "Workbook":
    sector 0 is the FAT, sector 1 the directory, the stream follows (at least 4096 bytes, so it
    lives in regular sectors)."""
    stream = workbook.ljust(4096, b"\0")
    count = -(-len(stream) // 512)
    free, end = 0xFFFFFFFF, 0xFFFFFFFE
    fat = [0xFFFFFFFD, end, *range(3, 2 + count), end]
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        bytes(6),
        0,
        1,
        1,
        0,
        4096,
        end,
        0,
        end,
        0,
    ) + struct.pack("<109I", 0, *[free] * 108)

    def entry(name: str, kind: int, child: int, start: int, size: int) -> bytes:
        encoded = (name + "\0").encode("utf-16-le")
        return struct.pack(
            "<64sHBBIII16sIQQIQ",
            encoded,
            len(encoded),
            kind,
            1,
            free,
            free,
            child,
            bytes(16),
            0,
            0,
            0,
            start,
            size,
        )

    directory = entry("Root Entry", 5, 1, end, 0) + entry("Workbook", 2, free, 2, len(stream))
    return (
        header
        + struct.pack("<128I", *fat, *[free] * (128 - len(fat)))
        + directory.ljust(512, b"\0")
        + stream.ljust(count * 512, b"\0")
    )


def build() -> list[dict[str, Any]]:
    rnd = random.Random(20261123)
    good = rows()
    text = csv_text(good)
    parquet = parquet_bytes(sales_frame())
    manifest: list[dict[str, Any]] = []

    def add(
        name: str, content: bytes | str, expect: str, says: str, datasource: str = "sales"
    ) -> None:
        data = content.encode() if isinstance(content, str) else content
        (OUT / name).write_bytes(data)
        manifest.append({"file": name, "datasource": datasource, "expect": expect, "says": says})

    def edited(index: int, column: str, value: str) -> str:
        data = [list(r) for r in good]
        data[index][HEADER.index(column)] = value
        return csv_text(data)

    # Refused at upload (the bytes say so).
    add("empty.csv", b"", "422", "empty")
    add("binary_junk.csv", bytes(rnd.randrange(256) for _ in range(70_000)), "415", "binary")
    add("wrong_magic.parquet", b"PAR0" + parquet[4:], "415", "binary")
    add("renamed_zip.xlsx", _zip({"readme.txt": "not a workbook"}), "415", "zip archive")
    add(
        "pdf_named.csv",
        b"%PDF-1.7\n" + bytes(rnd.randrange(256) for _ in range(5000)),
        "415",
        "PDF",
    )
    add("gzip_named.csv", zlib.compress(text.encode())[:2] + b"\x08\x00" + text.encode(), "415", "")
    add("nul_bytes_at_start.csv", text.encode().replace(b",", b"\x00", 5), "415", "binary")
    add("utf16_without_bom.csv", text.encode("utf-16-le"), "succeeded", "")  # read as UTF-16
    add("control_characters.csv", b"\x01\x02\x03\x04" * 2000, "415", "binary")
    add(
        "random_bytes.xls",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rnd.randrange(256) for _ in range(4000)),
        "failed:read_error",
        "workbook",
    )
    # Read, but not as the format they claim.
    add("truncated.parquet", parquet[: len(parquet) // 2], "failed:read_error", "Parquet")
    add(
        "nested_columns.parquet",
        parquet_bytes(pl.DataFrame({"id": [1], "tags": [["a", "b"]]})),
        "failed:read_error",
        "nested",
        "events",
    )
    add("zero_rows.parquet", parquet_bytes(sales_frame().head(0)), "failed:no_rows", "no data rows")
    add("truncated.xlsx", xlsx_bytes(rows=[HEADER, *good])[:600], "failed:read_error", "workbook")
    add("shared_strings_bomb.xlsx", bomb_xlsx(1536), "failed:read_error", "expands to more than")
    # Tiny files whose one far cell makes calamine allocate billions of cells.
    add("far_cell.xlsx", far_cell_xlsx("XFD1048576"), "failed:read_error", "needs more memory")
    add(
        "far_cell.xls",
        xls_bytes(["a", "1"], far_cell=True),
        "failed:read_error",
        "needs more memory",
    )
    # What Excel saves with a password: the workbook encrypted, in an OLE2 file. Made once with
    # msoffcrypto-tool (OOXMLFile(xlsx_bytes(...)).encrypt("secret", out)), kept as it came.
    add(
        "password_protected.xlsx",
        (Path(__file__).resolve().parent / "encrypted_workbook.bin").read_bytes(),
        "failed:read_error",
        "password-protected",
        "sheets",
    )
    # CSV structure.
    add("header_only.csv", ",".join(HEADER) + "\n", "failed:no_rows", "no data rows")
    add("bom_only.csv", b"\xef\xbb\xbf", "failed:read_error", "header")
    add("blank_lines_only.csv", "\n\n\n\n", "failed:read_error", "header")
    add(
        "duplicated_headers.csv",
        text.replace("Branch", "City", 1),
        "failed:read_error",
        "duplicated column names",
    )
    add(
        "unnamed_column.csv",
        text.replace("Rating\n", "Rating,\n", 1),
        "failed:read_error",
        "no name",
    )
    add(
        "columns_5000.csv",
        ",".join(f"c{i}" for i in range(5000)) + "\n" + ",".join("1" * 5000) + "\n",
        "failed:read_error",
        "5000 columns",
        "wide",
    )
    ragged = text.splitlines(keepends=True)
    ragged[3] = ragged[3].rstrip("\n") + ",extra\n"
    ragged[7] = ragged[7].rsplit(",", 2)[0] + "\n"
    add("ragged_rows.csv", "".join(ragged), "failed:invalid_rows", "2 of 40 rows are invalid")
    mixed = text.splitlines(keepends=True)
    for i in (5, 9, 13):
        mixed[i] = mixed[i].replace(",", ";")
    add("mixed_delimiters.csv", "".join(mixed), "failed:invalid_rows", "3 of 40 rows are invalid")
    add(
        "unterminated_quote.csv",
        text + '"' + ",".join(good[0]) + "\n",
        "failed:read_error",
        "line 42 is never closed",
    )
    long_line = edited(10, "Product line", "x" * (10 * 1024 * 1024))
    add("one_10mb_line.csv", long_line, "failed:read_error", "line 12 is longer than 4 MB")
    # Column names that every answer listing columns would repeat.
    long_name = "Product line " + "x" * 300
    add(
        "long_column_name.csv",
        text.replace("Product line", long_name, 1),
        "failed:read_error",
        "is 313 characters long; at most 256",
        "names",
    )
    add(
        "huge_header.csv",
        "when," + "A" * 100_000 + "," + "B" * 100_000 + "\n2024-01-01,1,2\n",
        "failed:read_error",
        "the header (the first line) is longer than 64 KB",
        "names",
    )
    add(
        "long_column_name.parquet",
        parquet_bytes(sales_frame().rename({"Product line": long_name})),
        "failed:read_error",
        "is 313 characters long; at most 256",
        "names",
    )
    add(
        "long_column_name.xlsx",
        xlsx_bytes(rows=[["when", long_name], ["2024-01-01", "1"]]),
        "failed:read_error",
        "is 313 characters long; at most 256",
        "names",
    )
    # Encodings and bytes inside the text.
    add(
        "invalid_utf8.csv",
        text.encode().replace(b"Yangon", b"Yang\xffn", 1),
        "failed:invalid_rows",
        "1 of 40 rows are invalid",
    )
    nul_later = bytearray(csv_text(rows(2000)).encode())
    nul_later[200_000] = 0
    add("nul_byte_after_the_start.csv", bytes(nul_later), "failed:read_error", "NUL byte on line")
    # Values.
    add(
        "formula_cells.csv",
        "name,formula,when\nfirst,=SUM(A1:A3),2024-01-01\nsecond,=1+1,2024-01-02\n",
        "succeeded",
        "",
        "formulas",
    )
    add(
        "thousands_separators.csv",
        edited(2, "Unit price", "1,234.50"),
        "failed:invalid_rows",
        "1 of 40 rows are invalid",
    )
    add("mixed_date_formats.csv", _dates(good), "failed:invalid_rows", "2 of 40 rows are invalid")
    add(
        "nan_and_infinity.csv",
        edited(4, "Rating", "NaN").replace(good[5][6], "inf", 1),
        "failed:invalid_rows",
        "invalid",
    )
    add(
        "wrong_type_column.csv",
        csv_text([[*r[:7], "many", *r[8:]] for r in good]),
        "failed:schema_mismatch",
        "Quantity",
    )
    add(
        "missing_columns.csv",
        csv_text([r[:5] for r in good], HEADER[:5]),
        "failed:schema_mismatch",
        "missing column(s): Product line",
    )
    add(
        "negative_and_zero_values.csv",
        edited(6, "Quantity", "0").replace(good[8][6], "-3.00", 1),
        "failed:invalid_rows",
        "invalid",
    )
    add(
        "duplicate_invoice_ids.csv",
        csv_text([*good, good[0], good[1]]),
        "failed:invalid_rows",
        "2 of 42 rows are invalid",
    )
    return manifest


def _zip(parts: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in parts.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _dates(good: list[list[str]]) -> str:
    data = [list(r) for r in good]
    column = HEADER.index("Date")
    data[1][column] = "2019-01-05"  # ISO: accepted
    data[2][column] = "05.01.2019"  # dotted day-first: rejected
    data[3][column] = "Jan 5 2019"  # words: rejected
    return csv_text(data)


def write_corpus(out: Path) -> list[dict[str, Any]]:
    global OUT
    OUT = out
    out.mkdir(parents=True, exist_ok=True)
    for old in out.iterdir():
        old.unlink()
    manifest = build()
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> None:
    manifest = write_corpus(OUT)
    print(
        f"wrote {len(manifest)} files to {OUT} (files over 1 MB are not committed; tests make them)"
    )


if __name__ == "__main__":
    main()
