"""What the Excel reader child does with one sheet (see excel_child for the process): read it
typed with calamine (fastexcel), mend what the typed read changes, and write each cell as the
pipeline takes it (see as_loaded).

A number cell of a text column is written by fastexcel with 9 decimals (1.5E-12 as "0"), so the
sheet is read typed: a column of numbers stays numbers, every digit kept. What the typed read
changes is mended by one more read of the columns concerned, paid only by such sheets (see
_read_again); the header is read again as text when fastexcel may have altered it (_header).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from backend.digits import ascii_count
from backend.pipeline.sources.base import ReadError

DAMAGED_HINT = "Open it in Excel and save it again as .xlsx, or export the sheet as CSV."
# Excel keeps 15 significant digits of a number (what it shows, and all it keeps of one typed in).
SIGNIFICANT_DIGITS = 15
# How the reader renders a number cell in a column of texts: at most 9 decimals, trailing zeros
# dropped (so 1.5E-12 reads as "0"). Such a text with at most 15 digits is read again as a number;
# a text cell of that form reads back as itself.
_NUMBER_TEXT = r"^-?(?:0|[1-9]\d*)(?:\.\d{0,8}[1-9])?$"
# fastexcel's name for a header cell it could not read as text (empty, a date, a boolean).
_GENERATED = "generated"
# Columns the typed read may fail on, one read each, before the sheet is read as text.
_UNTYPED_COLUMNS = 3


def sheet_index(names: list[str], sheet: str | None) -> int:
    if not names:
        raise ReadError("the workbook has no sheets", "Upload a workbook with at least one sheet.")
    if sheet is None:
        return 0
    if sheet in names:
        return names.index(sheet)
    number = ascii_count(sheet, max_digits=6)
    if number is not None and 1 <= number <= len(names):
        return number - 1
    raise ReadError(
        f"the workbook has no sheet named {sheet!r}",
        f"Choose one of: {', '.join(repr(n) for n in names[:20])} (or a sheet number from 1).",
    )


def read_sheet(
    path: Path, sheet: str | None, target: Path, rare_cells: Callable[[], bool] = lambda: True
) -> dict[str, Any]:
    """The sheet's header and its rows. The rows are read typed (a number keeps every digit;
    read as text, the reader rounds it to 9 decimals), every row sampled for the types (a
    column's type from its first rows would turn a later text into an empty cell).
    `rare_cells`: whether the sheet may hold a boolean cell or an ISO date cell (asked only
    when it matters)."""
    try:
        reader = fastexcel.read_excel(path)
        names = [str(n) for n in reader.sheet_names]
        index = sheet_index(names, sheet)
        typed = _typed(reader, index)
        frame, columns = typed.to_polars(), typed.selected_columns
        del typed  # the parsed sheet: a second read must not hold two at once
        header = _header(reader, index, columns)
        frame = _read_again(reader, index, frame, rare_cells)
    except (ReadError, MemoryError):
        raise
    except Exception as exc:  # fastexcel raises its own error types for damaged files
        raise ReadError(f"the workbook cannot be read: {exc}", DAMAGED_HINT) from exc
    as_loaded(frame).write_ipc(target, compression="uncompressed")
    return {"index": index, "sheet": names[index], "header": header}


def _typed(reader: fastexcel.ExcelReader, index: int) -> fastexcel.ExcelSheet:
    """The sheet read typed, every row sampled. A column the reader cannot type (an error cell
    such as #NAME?, a duration beside a text) is named in its error: that column is read as
    text (durations as durations: a text among them is then an empty cell, which _read_again
    reads again) and the sheet read again; after a few such columns, every column as text."""
    dtypes: fastexcel.DTypeMap = {}
    while True:
        try:
            return reader.load_sheet(
                index,
                header_row=0,
                schema_sample_rows=None,
                dtype_coercion="coerce",
                dtypes=dtypes or None,
            )
        except (
            fastexcel.CalamineCellError,
            fastexcel.UnsupportedColumnTypeCombinationError,
        ) as exc:
            found = re.search(r"could not determine dtype for column (.+)$", str(exc), re.M)
            if found is None or found.group(1) in dtypes or len(dtypes) >= _UNTYPED_COLUMNS:
                return reader.load_sheet(
                    index, header_row=0, dtypes="string", dtype_coercion="coerce"
                )
            dtypes[found.group(1)] = "duration" if "Duration" in str(exc) else "string"


def _header(reader: fastexcel.ExcelReader, index: int, columns: list[Any]) -> list[str]:
    """The first row as written. fastexcel names the columns from it, but renames a repeated
    name ("a", "a_1"), names an empty or non-text cell itself and writes a number its own way:
    when a name may be one of these, the row is read again as text (the whole sheet is parsed
    again, which only such headers cost)."""
    names = [str(column.name) for column in columns]
    earlier: set[str] = set()
    as_written = True
    for column, name in zip(columns, names, strict=True):
        base, underscore, count = name.rpartition("_")
        if (
            column.column_name_from == _GENERATED
            or (underscore and count.isdigit() and base in earlier)
            or re.fullmatch(r"-?\d*\.\d+", name)
        ):
            as_written = False
            break
        earlier.add(name)
    if as_written:
        return names
    row = reader.load_sheet(index, header_row=None, n_rows=1, dtype_coercion="coerce").to_polars()
    if not row.height:
        return []
    shown = row.select(_as_text(pl.col(name), dtype) for name, dtype in row.schema.items())
    return ["" if value is None else str(value) for value in shown.row(0)]


def _read_again(
    reader: fastexcel.ExcelReader,
    index: int,
    frame: pl.DataFrame,
    rare_cells: Callable[[], bool],
) -> pl.DataFrame:
    """The typed read's two losses mended by reading the columns they may touch once more (the
    whole sheet is parsed again, which only such sheets cost):

    - a column holding texts and numbers comes as text, its numbers rounded to 9 decimals: a
      column holding a text such a number could be is read again as numbers, and those texts
      replaced by the number's digits (a text cell of that form reads back as itself);
    - the reader takes a few texts for empty cells when it chooses a column's type ("N/A",
      "null", "nan": a column of numbers and "N/A" is read as numbers and no text), a boolean
      among numbers for a number (TRUE for 1), and keeps a date written as ISO text to the
      millisecond: a typed column with an empty cell, and a column of numbers or dates when the
      sheet may hold a boolean or such a date, is read again as text. A column of dates is then
      the text (what the text read gives); in a column of numbers, if a cell holds a text (or a
      boolean), the column is text, its other cells written as the sheet shows them."""
    numbers = _numbers_among_texts(frame)
    gaps = _typed_with_gaps(frame, rare_cells)
    if not numbers and not gaps:
        return frame
    again = reader.load_sheet(
        index,
        header_row=0,
        use_columns=[*numbers, *gaps],
        dtypes={**dict.fromkeys(numbers, "float"), **dict.fromkeys(gaps, "string")},
        dtype_coercion="coerce",
    ).to_polars()
    again.columns = [_again(name) for name in again.columns]
    both = pl.concat([frame, again], how="horizontal")
    mended = [
        pl.when(_may_be_a_number_cell(pl.col(name)) & (pl.col(_again(name)) != 0))
        .then(pl.col(_again(name)).map_batches(number_texts, return_dtype=pl.String))
        .otherwise(pl.col(name))
        .alias(name)
        for name in numbers
    ]
    return both.with_columns(mended + _texts_kept(both, frame.schema, gaps)).drop(again.columns)


def _numbers_among_texts(frame: pl.DataFrame) -> list[str]:
    """The text columns holding a text the reader may have made of a number cell."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if texts:  # a cheap test first: which of them hold a text Polars reads as a number
        found = frame.select(
            pl.col(name).cast(pl.Float64, strict=False).is_not_null().any() for name in texts
        ).row(0)
        texts = [name for name, has in zip(texts, found, strict=True) if has]
    if not texts:
        return []
    found = frame.select(
        _may_be_a_number_cell(pl.col(name)).any().alias(name) for name in texts
    ).row(0)
    return [name for name, has in zip(texts, found, strict=True) if has]


def _typed_with_gaps(frame: pl.DataFrame, rare_cells: Callable[[], bool]) -> list[str]:
    """The typed columns to read again as text: those with an empty cell, and those of numbers
    or dates when the sheet may hold rare cells."""
    typed = [name for name, dtype in frame.schema.items() if dtype not in (pl.String, pl.Null)]
    if not typed:
        return []
    found = frame.select(_empty(pl.col(name), frame.schema[name]).any() for name in typed).row(0)
    gaps = [name for name, has in zip(typed, found, strict=True) if has]
    counted = [name for name in typed if _may_change(frame.schema[name]) and name not in gaps]
    if counted and rare_cells():
        gaps += counted
    return gaps


def _texts_kept(both: pl.DataFrame, schema: pl.Schema, gaps: list[str]) -> list[pl.Expr]:
    """A column of dates read again is the text; one of numbers is text when a cell of it
    holds a text (or a boolean), its other cells written as the sheet shows them."""
    lost = {name: _lost(pl.col(name), schema[name], _again(name)) for name in gaps}
    held = both.select(lost[name].any() for name in gaps).row(0) if gaps else ()
    mended = []
    for name, has in zip(gaps, held, strict=True):
        dtype = schema[name]
        if _is_date(dtype):
            mended.append(pl.col(_again(name)).alias(name))
        elif has:
            shown = _as_text(pl.col(name), dtype)
            mended.append(
                pl.when(lost[name]).then(pl.col(_again(name))).otherwise(shown).alias(name)
            )
    return mended


def _may_change(dtype: pl.DataType) -> bool:
    """A column the typed read may have changed when the sheet holds rare cells."""
    return dtype.is_numeric() or _is_date(dtype)


def _is_date(dtype: pl.DataType) -> bool:
    """A column of dates, date-times or times of day (not durations)."""
    return dtype.is_temporal() and dtype != pl.Duration


def _again(name: str) -> str:
    """The second read's column beside the first's, under a name a sheet's column does not
    take (it starts with NUL, which no header cell of an .xlsx holds)."""
    return f"\x00{name}"


def _lost(column: pl.Expr, dtype: pl.DataType, again: str) -> pl.Expr:
    """A cell of a typed column that holds a text (or a boolean, among numbers) read as text."""
    text = pl.col(again)
    held = _empty(column, dtype) & (text != "")
    if dtype.is_numeric():
        held = held | text.is_in(["true", "false"])
    return held.fill_null(False)


def _empty(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A cell the typed read left empty, or a number it read from a text ("nan": Excel keeps
    no such number)."""
    if dtype.is_float():
        return column.is_null() | ~column.is_finite()
    return column.is_null()


def _may_be_a_number_cell(text: pl.Expr) -> pl.Expr:
    """Whether a text is one the reader may have made of a number cell, of at most 15 digits."""
    digits = text.str.replace_all(r"[-.]", "").str.strip_chars_start("0").str.len_chars()
    return text.str.contains(_NUMBER_TEXT) & (digits <= SIGNIFICANT_DIGITS)


def as_loaded(frame: pl.DataFrame) -> pl.DataFrame:
    """A column of numbers as numbers, as a Parquet file's: integers when every one is whole
    (the type a text column of such numbers is given), else as Excel stored them. Every other
    column as text, each cell as the sheet shows it (and as the reader writes it when it reads
    the sheet as text): dates and times as "2023-03-15 02:57:46.667" (a time of day on the
    sheet's day zero, 1899-12-31); durations as hours, "36:00:00"; booleans as "true" and
    "false"; numbers among texts (see _read_again)."""
    return frame.with_columns(
        _whole_as_integers(frame[name]) if dtype == pl.Float64 else _as_text(pl.col(name), dtype)
        for name, dtype in frame.schema.items()
        if not dtype.is_integer()
    )


def _as_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A typed column's cells as the sheet shows them."""
    if dtype.is_float():
        return column.map_batches(number_texts, return_dtype=pl.String)
    if dtype == pl.Datetime:
        return column.dt.strftime("%Y-%m-%d %H:%M:%S%.f")
    if dtype == pl.Date:
        return column.dt.strftime("%Y-%m-%d")
    if dtype == pl.Duration:
        return _duration_text(column).alias(column.meta.output_name())
    return column.cast(pl.String)


def _whole_as_integers(numbers: pl.Series) -> pl.Series:
    present = numbers.drop_nulls()
    whole = present.is_empty() or bool(
        ((present == present.floor()) & (present.abs() < 2.0**63)).all()
    )
    return numbers.cast(pl.Int64) if whole else numbers


def number_texts(numbers: pl.Series) -> pl.Series:
    """Numbers with at most 15 significant digits, without an exponent or trailing zeros.

    Polars writes the shortest text that reads back as the same number: when it has at most
    15 digits (most numbers), it is the text sought ("2.0" for 2). The others are written by
    the cheapest way that is exact for them: whole numbers as integers; Polars' rounding to
    significant digits where the power of ten it scales by is exact (and it writes the result
    without an exponent); each number here beyond."""
    shortest = numbers.cast(pl.String)
    texts = shortest.str.strip_suffix(".0")
    short = (
        (shortest.str.len_bytes() <= SIGNIFICANT_DIGITS + 1)
        & ~shortest.str.contains("e", literal=True)
        & (numbers != 0)
    )
    rest = (~short).fill_null(False)
    if not rest.any():
        return texts
    others = numbers.filter(rest)
    size = others.abs()
    whole = others == others.floor()
    exact = pl.select(
        pl.when(whole & (size < 2.0**63))
        .then(others.cast(pl.Int64, strict=False).cast(pl.String))
        .when(~whole & (size >= 1e-4) & (size < 1e15))
        .then(others.round_sig_figs(SIGNIFICANT_DIGITS).cast(pl.String).str.strip_suffix(".0"))
    ).to_series()
    missing = exact.is_null()
    if missing.any():
        exact = exact.scatter(
            missing.arg_true(), [_number_digits(value) for value in others.filter(missing)]
        )
    return texts.scatter(rest.arg_true(), exact)


def _number_digits(number: float) -> str:
    if not math.isfinite(number):
        return str(number)
    if number.is_integer():
        return str(int(number))
    return format(Decimal(f"{number:.{SIGNIFICANT_DIGITS}g}"), "f")


def _duration_text(duration: pl.Expr) -> pl.Expr:
    """[h]:mm:ss, as Excel shows a duration (milliseconds when there are any)."""
    total = duration.dt.total_milliseconds()
    size = total.abs()
    seconds = (size // 1000) % 60
    fraction = size % 1000
    return pl.concat_str(
        pl.when(total < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (size // 3_600_000).cast(pl.String),
        pl.lit(":"),
        ((size // 60_000) % 60).cast(pl.String).str.zfill(2),
        pl.lit(":"),
        seconds.cast(pl.String).str.zfill(2),
        pl.when(fraction == 0)
        .then(pl.lit(""))
        .otherwise(pl.lit(".") + fraction.cast(pl.String).str.zfill(3)),
    )
