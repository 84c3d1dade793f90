"""The input files of bench/upload_formats.py, beside the CSVs under var/bench/ (gitignored),
generated once and reused while the generator and the CSV they come from are unchanged:

- ``sales_<rows>.csv``: bench/generate_sales.py (bench/harness.py ``ensure_csv``);
- ``sales_<rows>.strings.parquet``: that CSV with every column a string, as a CSV export gives;
- ``sales_<rows>.typed.parquet``: that CSV with the types Polars infers (numbers as numbers);
- ``sales_<rows>.xlsx``: that CSV as an Excel workbook of one sheet, written here with the
  standard library (zipfile + XML; no Excel writer is installed): numbers are number cells, every
  other value an inline string, as a spreadsheet program saves a sheet typed in by hand.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from bench.harness import DATA_DIR, ensure_csv

HERE = Path(__file__).resolve()


@dataclass(frozen=True)
class Generated:
    path: Path
    rows: int
    size_bytes: int
    generated_seconds: float | None  # None: reused from an earlier run


def _digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _ensure(
    target: Path, rows: int, source: Path, write: Callable[[Path, Path], None]
) -> Generated:
    """`target`, made from the CSV `source` by `write` unless its sidecar says it is complete
    and made by this module from the same CSV (size and modification time)."""
    meta_path = target.with_name(target.name + ".meta.json")
    stat = source.stat()
    wanted = {
        "rows": rows,
        "generator": _digest(HERE),
        "source": [source.name, stat.st_size, int(stat.st_mtime)],
    }
    if target.is_file() and meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text())
        except ValueError:
            meta = {}
        size = target.stat().st_size
        if all(meta.get(k) == v for k, v in wanted.items()) and meta.get("size_bytes") == size:
            return Generated(target, rows, size, None)
    print(f"generating {target} from {source.name} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    partial = target.with_name(target.name + ".part")
    write(source, partial)
    partial.replace(target)
    seconds = time.perf_counter() - started
    size = target.stat().st_size
    meta_path.write_text(json.dumps({**wanted, "size_bytes": size}) + "\n")
    return Generated(target, rows, size, seconds)


def ensure_csv_file(rows: int, data_dir: Path = DATA_DIR) -> Generated:
    found = ensure_csv(rows, data_dir)
    return Generated(found.path, rows, found.size_bytes, found.generated_seconds)


def ensure_parquet(rows: int, typed: bool, data_dir: Path = DATA_DIR) -> Generated:
    source = ensure_csv(rows, data_dir).path
    kind = "typed" if typed else "strings"

    def write(csv_path: Path, target: Path) -> None:
        frame = (
            pl.scan_csv(csv_path, infer_schema_length=10000)
            if typed
            else pl.scan_csv(csv_path, infer_schema=False)
        )
        frame.sink_parquet(target, compression="zstd")

    return _ensure(data_dir / f"sales_{rows}.{kind}.parquet", rows, source, write)


def ensure_xlsx(rows: int, data_dir: Path = DATA_DIR) -> Generated:
    source = ensure_csv(rows, data_dir).path
    return _ensure(data_dir / f"sales_{rows}.xlsx", rows, source, write_xlsx)


# --- a workbook with the standard library --------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="xl/workbook.xml" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/worksheet"/></Relationships>'
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
)
_SHEET_TAIL = "</sheetData></worksheet>"


def _column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def _cell(ref: str, value: str) -> str:
    if _NUMBER.fullmatch(value):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>'


def write_xlsx(source: Path, target: Path) -> None:
    """The CSV `source` as a one-sheet workbook at `target` (the header is the first row)."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _ROOT_RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        with (
            source.open(newline="", encoding="utf-8") as text,
            book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet,
        ):
            sheet.write(_SHEET_HEAD.encode())
            letters: list[str] = []
            for number, values in enumerate(csv.reader(text), start=1):
                letters += [_column_letters(i) for i in range(len(letters), len(values))]
                if number == 1:  # the header: always text
                    cells = "".join(
                        f'<c r="{letters[i]}1" t="inlineStr"><is><t>{escape(v)}</t></is></c>'
                        for i, v in enumerate(values)
                    )
                else:
                    cells = "".join(_cell(f"{letters[i]}{number}", v) for i, v in enumerate(values))
                sheet.write(f'<row r="{number}">{cells}</row>'.encode())
            sheet.write(_SHEET_TAIL.encode())
