"""Excel source (.xlsx, .xls) through calamine (fastexcel).

Two bounds keep a workbook from taking a worker's memory. A workbook is a zip of XML, and a small
file can expand to gigabytes: before calamine sees an .xlsx, every part is inflated here as a
stream, the bytes that come out are counted, and the workbook is refused past MAX_EXPANDED_BYTES.
The sizes the zip declares are not trusted: a crafted archive can declare a few KB (with the CRC
of that prefix) over a deflate stream of gigabytes; Python's zipfile, read in blocks, stops at
the declared size, calamine does not. Then calamine reads the sheet in a child process with a
bounded address space (excel_child), which covers what no count of bytes can see: a cell at
XFD1048576 makes calamine allocate a grid of 17 billion cells from a 1.5 KB file, an .xls is not
a zip, and a zip can be read differently by another parser.
"""

from __future__ import annotations

import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import polars as pl

from backend.pipeline.sources.base import (
    DEFAULT_LIMITS,
    PROBLEM,
    ROW,
    InputLimits,
    ReadError,
    SourceInfo,
    check_header,
)
from backend.pipeline.sources.excel_child import MAX_EXPANDED_BYTES, Grid, read_grid

MAX_PARTS = 10_000  # a workbook has tens of parts; many more is a crafted archive
GRID_FILE = "excel-grid.arrow"
_DAY_ZERO = "1899-12-3"
_DAY_ZERO_TIME = r"^1899-12-3[01][ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)$"
_STORED, _DEFLATED = 0, 8
_METHODS = {9: "deflate64", 12: "bzip2", 14: "LZMA", 93: "Zstandard", 95: "xz", 99: "AES"}
_LOCAL_HEADER = struct.Struct("<IHHHHHIIIHH")
_LOCAL_SIGNATURE = 0x04034B50
_READ_CHUNK = 64 * 1024
_INFLATE_CHUNK = 1024 * 1024
_SAVE_AGAIN = "Open it in Excel and save it again as .xlsx, or export it as CSV."
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_ENTRY = "EncryptedPackage\0".encode("utf-16-le")
_CELL_REF = re.compile(rb'<(?:\w+:)?c\b[^>]*\br="([A-Z]+)(\d+)"[^>]*?(/?)>')
_SHARED_STRINGS = "xl/sharedStrings.xml"
# A cell's type attribute saying boolean or ISO date, however the writer quotes and spaces it;
# any such text counts (one that is not an attribute only costs the child one more read).
_RARE_CELL = re.compile(rb"""\bt\s*=\s*["'][bd]["']""")
_RARE_REACH = 64  # bytes kept from one block to the next, so a match across them is found


def check_expansion(path: Path, limit: int = MAX_EXPANDED_BYTES) -> bool:
    """Refuse a workbook whose parts inflate to more than `limit` bytes in all, counting what
    each part's compressed data really inflates to. Whether the workbook may hold a boolean cell
    or a date written as ISO text (an attribute t="b" or t="d", looked for in the same bytes of
    every part but the shared strings: the reader takes a boolean among numbers for a number, and
    keeps such a date to the millisecond; see excel_cells._read_again)."""
    try:
        with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
            parts = archive.infolist()
            if len(parts) > MAX_PARTS:
                raise ReadError(
                    f"the workbook has {len(parts)} parts; at most {MAX_PARTS} are read",
                    _SAVE_AGAIN,
                )
            size = path.stat().st_size
            total = 0
            rare_cells = False
            for part in parts:
                found = _Found(part.filename != _SHARED_STRINGS)
                total += _inflated_size(raw, part, size, limit - total, found)
                rare_cells = rare_cells or found.rare_cells
                if total > limit:
                    raise _too_large(limit)
            return rare_cells
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, zlib.error) as exc:
        raise _damaged(str(exc)) from exc


def _too_large(limit: int) -> ReadError:
    return ReadError(
        f"the workbook expands to more than {limit // (1024 * 1024)} MB when "
        "unpacked (a zip bomb, or a sheet too large to read safely)",
        "Export the sheet as CSV, or split the workbook.",
    )


def _damaged(why: str) -> ReadError:
    return ReadError(f"the workbook is damaged or not an Excel file: {why}", _SAVE_AGAIN)


@dataclass
class _Found:
    """What a part's bytes hold, looked for as they pass (a cell may be in any part that is not
    the shared strings: a sheet is found through the workbook's relations, wherever it is)."""

    looked_at: bool
    rare_cells: bool = False
    _tail: bytes = b""
    _values: tuple[bytes, ...] = ()

    def see(self, data: bytes) -> None:
        if not self.looked_at or self.rare_cells:
            return
        if not self._values:  # a writer quotes alike: "b", and 'b' if its first bytes do
            single = b"='" in data or b"= '" in data
            self._values = (b'"b"', b'"d"') + ((b"'b'", b"'d'") if single else ())
        seen = self._tail + data
        # The values first, a fast search for bytes; the pattern only where one is.
        if any(value in seen for value in self._values):
            self.rare_cells = _RARE_CELL.search(seen) is not None
        self._tail = seen[-_RARE_REACH:]


def _inflated_size(
    raw: BinaryIO, part: zipfile.ZipInfo, size: int, budget: int, found: _Found
) -> int:
    """What the part's data inflates to (counting stops just past `budget`)."""
    if part.flag_bits & 0x1:
        raise ReadError(
            f"part {part.filename!r} of the workbook is encrypted",
            "Remove the password in Excel and save the workbook again, or export it as CSV.",
        )
    raw.seek(part.header_offset)
    header = raw.read(_LOCAL_HEADER.size)
    if len(header) < _LOCAL_HEADER.size:
        raise _damaged(f"part {part.filename!r} starts past the end of the file")
    signature, _, _, method, *_, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _LOCAL_SIGNATURE or method != part.compress_type:
        raise _damaged(f"the headers of part {part.filename!r} disagree")
    data: int = part.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    if method == _STORED:  # stored bytes are read as they are: no more than the file holds
        stored = max(0, min(part.compress_size, size - data))
        raw.seek(data)
        left = stored if found.looked_at else 0
        while left > 0:
            block = raw.read(min(_INFLATE_CHUNK, left))
            found.see(block)
            left -= len(block) or left
        return stored
    if method != _DEFLATED:
        raise ReadError(
            f"part {part.filename!r} of the workbook is compressed with "
            f"{_METHODS.get(method, f'zip method {method}')}, which is not supported",
            "Open it in Excel and save it again as .xlsx (Excel compresses with deflate), "
            "or export the sheet as CSV.",
        )
    raw.seek(data)
    return _inflate(raw, part.filename, budget, found)


def _inflate(raw: BinaryIO, name: str, budget: int, found: _Found) -> int:
    """Inflate a raw deflate stream to its end, whatever the headers say, in bounded chunks."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    total = 0
    while not inflater.eof and total <= budget:
        compressed = inflater.unconsumed_tail or raw.read(_READ_CHUNK)
        inflated = inflater.decompress(compressed, _INFLATE_CHUNK)
        if not compressed and not inflated:
            raise _damaged(f"part {name!r} ends before its compressed data does")
        found.see(inflated)
        total += len(inflated)
    return total


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


@dataclass
class ExcelSource:
    info: SourceInfo
    header: list[str]
    frame: pl.DataFrame  # the whole sheet: read whole, its only batch

    def batches(self) -> Iterator[pl.DataFrame]:
        yield self.frame


def open_excel(
    path: Path,
    file_format: str,
    sheet: str | None,
    workdir: Path,
    limits: InputLimits = DEFAULT_LIMITS,
    replenish: bool = True,
) -> ExcelSource:
    """Blocking: the sheet is read in a child process, its grid kept in `workdir`. An .xlsx's
    true unpacked size is counted meanwhile (the child's own memory bound holds until then).
    `replenish`: see excel_child.read_grid."""
    check = (lambda: check_expansion(path)) if file_format == "xlsx" else None
    loaded = _read_grid(path, file_format, sheet, workdir, check, replenish)
    index, name = loaded.index, loaded.sheet
    if not loaded.header:
        raise ReadError(
            f"sheet {name!r} is empty", "Put the column names in the first row and data below."
        )
    start = first_used_row(path, index) if file_format == "xlsx" else 1
    header = check_header(loaded.header, limits.column_name_chars)
    data = loaded.frame
    data.columns = header
    # A time-of-day cell is a fraction of a day, which the reader places on the sheet's day
    # zero: keep the time ("12:24:00"), not "1899-12-31 12:24:00". The pattern is only run on
    # the columns that hold such a value (a cheap prefix test finds them).
    texts = [h for h in header if data.schema[h] == pl.String]
    if texts:
        found = data.select(pl.col(h).str.starts_with(_DAY_ZERO).any() for h in texts).row(0)
        data = data.with_columns(
            pl.col(h).str.replace(_DAY_ZERO_TIME, "$1")
            for h, has in zip(texts, found, strict=True)
            if has
        )
    frame = data.with_columns(
        (pl.int_range(0, data.height, dtype=pl.Int64) + start + 1).alias(ROW),
        pl.lit(None, dtype=pl.String).alias(PROBLEM),
    )
    # Rows with no value at all are gaps in the sheet, not data. A text holds a value when it
    # has a character that is not white space (what strip_chars keeps, without copying text).
    # When every row holds a number (or a date), no text need be looked at.
    typed = [pl.col(h).is_not_null() for h in header if frame.schema[h] != pl.String]
    if not typed or not frame.select(pl.any_horizontal(typed).all()).item():
        has_value = pl.any_horizontal(
            [pl.col(h).str.contains(r"\S") for h in header if frame.schema[h] == pl.String] + typed
        )
        frame = frame.filter(has_value)
    info = SourceInfo(
        format=file_format, encoding=None, delimiter=None, sheet=name, row_label="row"
    )
    return ExcelSource(info, header, frame)


def _read_grid(
    path: Path,
    file_format: str,
    sheet: str | None,
    workdir: Path,
    meanwhile: Callable[[], bool] | None,
    replenish: bool,
) -> Grid:
    # calamine picks its reader by the file's extension; the stored upload has none (without,
    # it says "Cannot detect file format" for anything it cannot read).
    named = workdir / f"workbook.{file_format}"
    named.unlink(missing_ok=True)
    try:
        named.symlink_to(path.resolve())
    except OSError:  # a file system without links: a copy (the task's own folder)
        shutil.copyfile(path, named)
    try:
        return read_grid(named, sheet, workdir / GRID_FILE, meanwhile, replenish)
    except ReadError as exc:
        if "password" in exc.message.casefold() or is_encrypted(path):
            raise ReadError(
                "the workbook is password-protected (encrypted), so it cannot be read",
                "Remove the password in Excel (File > Info > Protect Workbook > Encrypt with "
                "Password: clear it), save and upload again; or export the sheet as CSV.",
            ) from exc
        raise
    finally:
        named.unlink(missing_ok=True)


def is_encrypted(path: Path) -> bool:
    """Whether an OLE2 compound file holds an EncryptedPackage stream: how Excel stores a
    workbook saved with a password (the .xlsx inside is encrypted). A directory entry starts on
    a 128-byte boundary with its UTF-16 name."""
    with path.open("rb") as handle:
        if handle.read(len(_OLE2)) != _OLE2:
            return False
        handle.seek(0)
        offset, tail = 0, b""
        while block := handle.read(_INFLATE_CHUNK):
            data = tail + block
            start = offset - len(tail)
            found = data.find(_ENCRYPTED_ENTRY)
            while found >= 0:
                if (start + found) % 128 == 0:
                    return True
                found = data.find(_ENCRYPTED_ENTRY, found + 1)
            tail = data[-len(_ENCRYPTED_ENTRY) :]
            offset += len(block)
    return False
