"""Excel source (.xlsx, .xls) through calamine (fastexcel).

A workbook is a zip of XML; a small file can expand to gigabytes (huge shared strings). Before
calamine sees it, every part is decompressed once as a stream and counted, and the workbook is
refused past MAX_EXPANDED_BYTES, so memory stays bounded.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import fastexcel
import polars as pl

from backend.ingestion.sources.base import PROBLEM, ROW, ReadError, SourceInfo, check_header

MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*\br="([A-Z]+)(\d+)"[^>]*?(/?)>')


def check_expansion(path: Path, limit: int = MAX_EXPANDED_BYTES) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            total = 0
            for entry in archive.infolist():
                with archive.open(entry) as part:
                    while block := part.read(1024 * 1024):
                        total += len(block)
                        if total > limit:
                            raise ReadError(
                                f"the workbook expands to more than {limit // (1024 * 1024)} MB when "
                                "unpacked (a zip bomb, or a sheet too large to read safely)",
                                "Export the sheet as CSV, or split the workbook.",
                            )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ReadError(
            f"the workbook is damaged or not an Excel file: {exc}",
            "Open it in Excel and save it again as .xlsx, or export it as CSV.",
        ) from exc


def first_used_row(path: Path, sheet_index: int) -> int:
    """1-based sheet row of the first cell with a value (calamine drops leading empty rows)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = sorted(
                (n for n in archive.namelist() if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", n)),
                key=lambda n: int(re.findall(r"\d+", n)[-1]),
            )
            if sheet_index >= len(names):
                return 1
            with archive.open(names[sheet_index]) as part:
                head = part.read(4 * 1024 * 1024)
    except (zipfile.BadZipFile, KeyError, OSError):
        return 1
    for match in _CELL_REF.finditer(head):
        if match.group(3) != b"/":  # not an empty <c .../> element
            return int(match.group(2))
    return 1


def _sheet_index(reader: fastexcel.ExcelReader, sheet: str | None) -> int:
    names: list[str] = list(reader.sheet_names)
    if not names:
        raise ReadError("the workbook has no sheets", "Upload a workbook with at least one sheet.")
    if sheet is None:
        return 0
    if sheet in names:
        return names.index(sheet)
    if sheet.isdigit() and 1 <= int(sheet) <= len(names):
        return int(sheet) - 1
    raise ReadError(
        f"the workbook has no sheet named {sheet!r}",
        f"Choose one of: {', '.join(repr(n) for n in names[:20])} (or a sheet number from 1).",
    )


@dataclass
class ExcelSource:
    info: SourceInfo
    header: list[str]
    _frame: pl.DataFrame

    def batches(self) -> Iterator[pl.DataFrame]:
        yield self._frame


def open_excel(path: Path, file_format: str, sheet: str | None) -> ExcelSource:
    if file_format == "xlsx":
        check_expansion(path)
    try:
        reader = fastexcel.read_excel(path)
        index = _sheet_index(reader, sheet)
        grid = reader.load_sheet(index, header_row=None, dtype_coercion="coerce").to_polars()
    except ReadError:
        raise
    except Exception as exc:  # fastexcel raises its own error types for damaged files
        raise ReadError(
            f"the workbook cannot be read: {exc}",
            "Open it in Excel and save it again as .xlsx, or export the sheet as CSV.",
        ) from exc
    name = str(reader.sheet_names[index])
    if grid.height == 0:
        raise ReadError(
            f"sheet {name!r} is empty", "Put the column names in the first row and data below."
        )
    start = first_used_row(path, index) if file_format == "xlsx" else 1
    header = check_header(["" if v is None else _cell_text(v) for v in grid.row(0)])
    data = grid.slice(1)
    data.columns = header
    frame = data.with_columns(
        (pl.int_range(0, data.height, dtype=pl.Int64) + start + 1).alias(ROW),
        pl.lit(None, dtype=pl.String).alias(PROBLEM),
    )
    # Rows with no value at all are gaps in the sheet, not data.
    has_value = pl.any_horizontal(
        [
            pl.col(h).is_not_null() & (pl.col(h).cast(pl.String).str.strip_chars() != "")
            for h in header
        ]
    )
    frame = frame.filter(has_value)
    info = SourceInfo(
        format=file_format, encoding=None, delimiter=None, sheet=name, row_label="row"
    )
    return ExcelSource(info, header, frame)


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
