"""Reading one sheet with calamine (fastexcel) in a child process whose address space is bounded.

calamine holds a whole sheet in memory, and how much a workbook needs is only known once it is
read (a zip whose headers lie about its sizes, a huge shared-strings table in an .xls). Read in a
child with RLIMIT_AS set, a workbook that needs too much memory ends the child, never the worker.
The sheet comes back as an Arrow IPC file in the task's workdir (its rows below the header:
numbers as numbers, every other cell as the text the sheet shows, see as_loaded); the answer is
one JSON line with the header.

    python -m backend.pipeline.sources.excel_child      # then one line on its standard input:
    {"path": ..., "sheet": ..., "target": ..., "memory_bytes": ...}
    {"rare_cells": true}                                 # and a second one, when known

The second line tells what the parent learnt while the child read: whether the sheet may hold a
boolean cell or a date written as ISO text (see _read_again; without it, or without a line, the
child assumes it may).

A fresh interpreter (not a fork: the worker runs threads and an event loop) spends a few tenths
of a second starting and importing Polars. So the process keeps one child started ahead of need
(`SPARES`): its imports done, it waits for its one request, then sets its memory bound, reads
exactly one workbook and exits; the next one is started as soon as that read is over. A spare
that has died is replaced; one that hangs is stopped by the read's timeout like any other; the
spare left at exit is ended, and one whose parent is gone sees its standard input close and exits.
"""

from __future__ import annotations

import atexit
import json
import logging
import math
import os
import re
import resource
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl

from backend.digits import ascii_count
from backend.pipeline.sources.base import ReadError
from backend.units import format_bytes

log = logging.getLogger(__name__)

# The most an .xlsx may unpack to (counted in excel.py before the read).
MAX_EXPANDED_BYTES = 1024 * 1024 * 1024
# What the read may map on top of the interpreter and its libraries, derived from that bound so
# that a workbook within it can be read. calamine maps about 3 times the sheet's unpacked XML at
# peak (measured: a 1M-row, 17-column sales sheet of 750 MiB failed at 2 GiB and was read at
# 2.5 GiB, peak RSS 1.5 GB; one of 150k rows, 111 MiB, failed at 2x and was read at 4x).
MEMORY_PER_EXPANDED_BYTE = 4
READ_MEMORY_BYTES = MEMORY_PER_EXPANDED_BYTE * MAX_EXPANDED_BYTES
MEMORY_EXIT = 3  # the child's exit status when the read ran out of memory
READ_SECONDS: float = 600  # far more than a sheet within the limits takes (a 150 MB sheet: 4 s)
# The child parses untrusted bytes with native code: it gets no credentials, only these.
_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONPATH")
_MODULE = "backend.pipeline.sources.excel_child"
_DAMAGED_HINT = "Open it in Excel and save it again as .xlsx, or export the sheet as CSV."
_SPLIT_HINT = (
    "Export the sheet as CSV (read in batches, with no such limit), or split the workbook "
    "into smaller ones."
)


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


@dataclass(frozen=True)
class Grid:
    header: list[str]  # the sheet's first row as written (empty cells as "")
    frame: pl.DataFrame  # the rows below it: see as_loaded
    index: int  # of the sheet, from 0
    sheet: str


def read_grid(
    path: Path,
    sheet: str | None,
    target: Path,
    meanwhile: Callable[[], bool] | None = None,
    replenish: bool = True,
) -> Grid:
    """Read the sheet in a child process (blocking); ReadError for anything it cannot read.
    `meanwhile` runs here while the child reads (the child is ended if it raises) and says
    whether the sheet may hold a boolean cell (without it, it may). `replenish` False: the
    caller starts the next spare (SPARES.replenish) once its own work on the sheet is done, so
    that the spare's start does not take CPU from that work."""
    request = {
        "path": str(path),
        "sheet": sheet,
        "target": str(target),
        "memory_bytes": READ_MEMORY_BYTES,
    }
    child = SPARES.take()
    try:
        _while_reading(child, request, meanwhile or (lambda: True))
        stdout, stderr = child.communicate(None, timeout=READ_SECONDS)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ReadError(
            f"the workbook took more than {READ_SECONDS:g} seconds to read", _SPLIT_HINT
        ) from None
    finally:
        if replenish:
            SPARES.replenish()
    answer = stdout.decode().strip().splitlines()
    if child.returncode != 0 or not answer:
        raise _reader_failed(child.returncode, stderr)
    result: dict[str, Any] = json.loads(answer[-1])
    if "error" in result:
        raise ReadError(result["error"], result["detail"])
    header = [str(name) for name in result["header"]]
    return Grid(header, pl.read_ipc(target), int(result["index"]), str(result["sheet"]))


def _while_reading(
    child: subprocess.Popen[bytes], request: dict[str, Any], meanwhile: Callable[[], bool]
) -> None:
    """Send the request (one line: the child reads it at once), run `meanwhile`, send what it
    found (the child reads it once it needs it)."""
    _send(child, request)
    try:
        rare_cells = meanwhile()
    except BaseException:
        child.kill()
        child.communicate()
        raise
    _send(child, {"rare_cells": rare_cells})


def _send(child: subprocess.Popen[bytes], line: dict[str, Any]) -> None:
    assert child.stdin is not None
    try:
        child.stdin.write(json.dumps(line).encode() + b"\n")
        child.stdin.flush()
    except BrokenPipeError:
        pass  # the child has ended: communicate() reports how


def _start_child() -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-P", "-m", _MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_child_environment(),
    )


class Spares:
    """At most one reader process started ahead of need, each used for one workbook."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spare: subprocess.Popen[bytes] | None = None
        self._closed = False

    def take(self) -> subprocess.Popen[bytes]:
        """The waiting spare if it is alive, else a child started now."""
        with self._lock:
            spare, self._spare = self._spare, None
        if spare is not None and spare.poll() is None:
            return spare
        if spare is not None:
            _reap(spare)
            log.warning("the waiting Excel reader had ended (status %s)", spare.returncode)
        return _start_child()

    def replenish(self) -> None:
        """Start the next spare unless one is waiting (or the process is exiting)."""
        with self._lock:
            if self._closed or (self._spare is not None and self._spare.poll() is None):
                return
            if self._spare is not None:
                _reap(self._spare)
            self._spare = _start_child()

    def close(self) -> None:
        """End the waiting spare (at exit; a later read starts a child of its own)."""
        with self._lock:
            spare, self._spare = self._spare, None
            self._closed = True
        if spare is not None:
            spare.kill()
            _reap(spare)

    def waiting(self) -> int | None:
        """The process id of the spare waiting now, if any."""
        with self._lock:
            return None if self._spare is None else self._spare.pid


def _reap(child: subprocess.Popen[bytes]) -> None:
    child.communicate()


SPARES = Spares()
atexit.register(SPARES.close)


def _child_environment() -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if k in _INHERITED}
    root = str(Path(__file__).resolve().parents[3])  # where the backend package is
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, environment.get("PYTHONPATH")) if p
    )
    # Every thread reserves address space (its stack, a malloc arena): with one Polars thread
    # and two arenas the child maps about 300 MB before reading, whatever the machine's cores.
    environment["POLARS_MAX_THREADS"] = "1"
    environment["MALLOC_ARENA_MAX"] = "2"
    environment["RUST_BACKTRACE"] = "0"  # an allocation failure says enough in one line
    return environment


def _reader_failed(status: int, stderr: bytes) -> ReadError:
    detail = stderr.decode("utf-8", "replace").strip()[:2000]
    log.warning("the Excel reader process ended with status %s: %s", status, detail)
    if status < 0 or status == MEMORY_EXIT or "MemoryError" in detail:
        return ReadError(
            "the workbook needs more memory to read than allowed "
            f"({format_bytes(READ_MEMORY_BYTES)})",
            _SPLIT_HINT,
        )
    return ReadError(
        f"the workbook cannot be read (the reader stopped with status {status})", _DAMAGED_HINT
    )


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


def _read(
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
        raise ReadError(f"the workbook cannot be read: {exc}", _DAMAGED_HINT) from exc
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
    shown = row.select(
        pl.col(name).map_batches(number_texts, return_dtype=pl.String)
        if dtype.is_float()
        else _as_text(pl.col(name), dtype)
        for name, dtype in row.schema.items()
    )
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
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    if texts:  # a cheap test first: which of them hold a text Polars reads as a number
        found = frame.select(
            pl.col(name).cast(pl.Float64, strict=False).is_not_null().any() for name in texts
        ).row(0)
        texts = [name for name, has in zip(texts, found, strict=True) if has]
    looks = {name: _number_text(pl.col(name)) for name in texts}
    found = frame.select(looks[name].any().alias(name) for name in texts).row(0) if texts else ()
    numbers = [name for name, has in zip(texts, found, strict=True) if has]
    typed = [name for name, dtype in frame.schema.items() if dtype not in (pl.String, pl.Null)]
    found = (
        frame.select(_empty(pl.col(name), frame.schema[name]).any() for name in typed).row(0)
        if typed
        else ()
    )
    gaps = [name for name, has in zip(typed, found, strict=True) if has]
    counted = [name for name in typed if _may_change(frame.schema[name]) and name not in gaps]
    if counted and rare_cells():
        gaps += counted
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
        pl.when(looks[name] & (pl.col(_again(name)) != 0))
        .then(pl.col(_again(name)).map_batches(number_texts, return_dtype=pl.String))
        .otherwise(pl.col(name))
        .alias(name)
        for name in numbers
    ]
    lost = {name: _lost(pl.col(name), frame.schema[name], _again(name)) for name in gaps}
    held = both.select(lost[name].any() for name in gaps).row(0) if gaps else ()
    for name, has in zip(gaps, held, strict=True):
        dtype = frame.schema[name]
        if dtype.is_temporal() and dtype != pl.Duration:
            mended.append(pl.col(_again(name)).alias(name))
        elif has:
            shown = (
                pl.col(name).map_batches(number_texts, return_dtype=pl.String)
                if dtype.is_float()
                else _as_text(pl.col(name), dtype)
            )
            mended.append(
                pl.when(lost[name]).then(pl.col(_again(name))).otherwise(shown).alias(name)
            )
    return both.with_columns(mended).drop(again.columns)


def _may_change(dtype: pl.DataType) -> bool:
    """A column the typed read may have changed when the sheet holds rare cells."""
    return dtype.is_numeric() or (dtype.is_temporal() and dtype != pl.Duration)


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


def _number_text(text: pl.Expr) -> pl.Expr:
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


def _mapped_bytes() -> int | None:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmSize:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) * 1024 if found else None


def limit_address_space(extra: int) -> None:
    """Let the process map at most `extra` bytes more than it maps now (Linux; elsewhere the
    read is not bounded)."""
    mapped = _mapped_bytes()
    if mapped is None:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = mapped + extra if hard == resource.RLIM_INFINITY else min(mapped + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def main(argv: list[str]) -> int:
    line = argv[1] if len(argv) > 1 else sys.stdin.readline()
    if not line.strip():  # the parent ended before sending a request
        return 0
    request = json.loads(line)
    limit_address_space(int(request["memory_bytes"]))
    try:
        # The parent's facts follow a request read from standard input.
        facts = _rare_cells if len(argv) <= 1 else lambda: True
        answer = _read(Path(request["path"]), request["sheet"], Path(request["target"]), facts)
    except MemoryError:
        return MEMORY_EXIT
    except ReadError as exc:
        answer = {"error": exc.message, "detail": exc.detail}
    print(json.dumps(answer))
    return 0


def _rare_cells() -> bool:
    """The parent's second line: whether the sheet may hold a boolean or an ISO date cell (yes
    if unknown)."""
    try:
        return bool(json.loads(sys.stdin.readline()).get("rare_cells", True))
    except (ValueError, AttributeError):
        return True


if __name__ == "__main__":
    sys.exit(main(sys.argv))
