"""What every source (CSV, Excel, Parquet) gives the validation: a header and batches of raw values,
each row carrying the number the user sees in the file and any structural problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import polars as pl

ROW = "__row"  # line number (CSV, counting the header), sheet row (Excel) or row (Parquet)
PROBLEM = "__problem"  # a structural problem with the row (ragged CSV row), else null
MAX_COLUMNS = 1000
# How much of a long name or value a message quotes.
QUOTED_CHARS = 40


@dataclass(frozen=True)
class InputLimits:
    """Bounds checked on a file's bytes before a reader takes it: a reader holds several times
    a line's size in memory, and a column name is repeated in every answer that lists columns.
    Set by MAX_COLUMN_NAME_CHARS, MAX_HEADER_BYTES and MAX_LINE_BYTES (backend.config)."""

    column_name_chars: int = 256
    header_bytes: int = 64 * 1024  # the CSV header line
    line_bytes: int = 4 * 1024 * 1024  # any CSV line


DEFAULT_LIMITS = InputLimits()


class ReadError(ValueError):
    """The file cannot be read as its format; `detail` says what to change."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class SourceInfo:
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    row_label: str  # how the report names row numbers: "line" or "row"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Source(Protocol):
    info: SourceInfo
    header: list[str]

    def batches(self) -> Iterator[pl.DataFrame]:
        """Frames with one column per header name (raw values), plus ROW and PROBLEM."""
        ...


def check_header(
    names: list[str], max_name_chars: int = DEFAULT_LIMITS.column_name_chars
) -> list[str]:
    """Column names as given (trimmed); refuses unnamed, duplicated, too long or too many columns."""
    if len(names) > MAX_COLUMNS:
        raise ReadError(
            f"the file has {len(names)} columns; at most {MAX_COLUMNS} are supported",
            "Split the table, or drop the columns you do not need.",
        )
    trimmed = [str(n).strip() for n in names]
    check_name_lengths(trimmed, max_name_chars)
    unnamed = [str(i + 1) for i, n in enumerate(trimmed) if not n]
    if unnamed:
        raise ReadError(
            f"column(s) {', '.join(unnamed[:10])} have no name in the header",
            "Give every column a name in the first row (or remove the empty columns).",
        )
    seen: dict[str, int] = {}
    duplicated = []
    for position, name in enumerate(trimmed, start=1):
        key = name.casefold()
        if key in seen:
            duplicated.append(f"{name!r} (columns {seen[key]} and {position})")
        else:
            seen[key] = position
    if duplicated:
        raise ReadError(
            f"duplicated column names: {', '.join(duplicated[:10])}",
            "Rename the columns so that each name appears once.",
        )
    return trimmed


def quoted(text: str) -> str:
    """`text` for a message: at most QUOTED_CHARS characters of it."""
    if len(text) <= QUOTED_CHARS:
        return repr(text)
    return repr(text[:QUOTED_CHARS]) + "..."


def check_name_lengths(names: list[str], max_chars: int) -> None:
    """Refuses a column name longer than `max_chars` characters (names as trimmed)."""
    for position, name in enumerate(names, start=1):
        if len(name) > max_chars:
            raise ReadError(
                f"the name of column {position} ({quoted(name)}) is {len(name):,} characters "
                f"long; at most {max_chars:,} are allowed",
                f"Shorten the column names in the header (first row) to at most {max_chars:,} "
                "characters; a header that is really data means the first row is missing.",
            )
