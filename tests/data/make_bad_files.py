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
    add("utf16_without_bom.csv", text.encode("utf-16-le"), "415", "binary")
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
    add("one_10mb_line.csv", long_line, "failed:invalid_rows", "1 of 40 rows are invalid")
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
