"""Column names the service uses for itself: a file's column may not take one silently.

`__row`, `__problem` and the others are columns every batch is given while it is read and
checked; `ingest_task_id` is given to every row loaded into Druid, `__text:<column>` is a
number's text copy in Druid and `__period` names the periods of grouped results: a file's column
of such a name would be overwritten or would clash.
They are refused.

`__time` is the timestamp every row is given. A file with a `__time` column (a Druid export,
typically) means it as that timestamp, so:
- a new datasource whose schema is inferred uses it as the time column (when time_column names
  no other column, and it holds timestamps);
- everywhere else (the sales schema, whose `__time` is made from Date + Time; a datasource whose
  time column is another; time_column naming another column) the upload is refused with a
  message saying to rename the column: its values would otherwise be replaced without a word.
Names are matched ignoring case and surrounding spaces, as the schema matches columns.
"""

from __future__ import annotations

from backend.contracts.schema import PERIOD, TIME, DatasetSchema
from backend.druid.spec import TASK_COLUMN, TEXT_COPY
from backend.pipeline.sources.base import PROBLEM, ROW, ReadError
from backend.pipeline.validator import CONVERTED, FAST, IDX, REASON, VALUE

# Also taken by the engines: the column every Druid row gets (the loading task's id), the text
# copies of numbers in Druid, and the period column of grouped analytics results.
INTERNAL = (ROW, PROBLEM, IDX, REASON, TASK_COLUMN, PERIOD)
INTERNAL_PREFIXES = (FAST, CONVERTED, VALUE, TEXT_COPY)
RENAME_TIME = (
    f"Rename the column (for example to source_time) and upload again. A new datasource uses a "
    f"column named {TIME} that holds timestamps as its time column, when time_column names no "
    "other column."
)


def check_internal(header: list[str]) -> None:
    taken = [n for n in header if n in INTERNAL or n.startswith(INTERNAL_PREFIXES)]
    if taken:
        raise ReadError(
            f"column name(s) {', '.join(repr(n) for n in taken[:10])} are reserved for the "
            "service's own use",
            "Rename those columns and upload again.",
        )


def is_reserved(name: str) -> bool:
    """A name the service keeps for itself: __time, or one of its own columns."""
    key = name.strip()
    return key.casefold() == TIME or key in INTERNAL or key.startswith(INTERNAL_PREFIXES)


def time_column_of(header: list[str]) -> str | None:
    """The file's column named __time, if it has one."""
    return next((n for n in header if n.strip().casefold() == TIME), None)


def check_time(header: list[str], schema: DatasetSchema) -> None:
    """Refuse a __time column unless it is the schema's time column."""
    named = time_column_of(header)
    if named is None:
        return
    time = schema.time
    if time.column is not None and time.column.casefold() == named.casefold():
        return  # a __time column is only ever the time column by itself (no time_of_day)
    made = f"made from {time.describe()}" if time.column else "the upload time"
    raise ReadError(
        f"the file has a column named {named!r}, but {TIME} is the timestamp the service gives "
        f"every row (here {made}): the column's values would be replaced",
        RENAME_TIME,
    )


def not_timestamps(named: str) -> ReadError:
    return ReadError(
        f"the file's column {named!r} does not hold timestamps, and {TIME} is the name of the "
        "timestamp every row is given",
        RENAME_TIME,
    )
