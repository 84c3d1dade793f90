"""Apache Druid native batch (`index_parallel`) ingestion specs for a normalized dataset.

Plain values in, a plain dict out: the same input always gives the same spec. Secrets never go
into a stored spec (it is kept on the task and shown to users): Druid reads S3 with its own
configured credentials, and the signatures of `http` URLs are redacted before a spec is stored.
"""

from __future__ import annotations

import copy
import datetime as dt
import enum
from dataclasses import dataclass
from typing import Any

TIME = "__time"


class Mode(enum.StrEnum):
    APPEND = "append"  # add the rows to what the datasource already holds
    REPLACE = "replace"  # the rows replace everything in the dataset's time intervals


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str
    endpoint_url: str | None  # an S3-compatible server; None for AWS
    region: str


@dataclass(frozen=True)
class LocalLocation:
    path: str  # absolute path readable by the Druid tasks


@dataclass(frozen=True)
class HttpLocation:
    uris: tuple[str, ...]  # short-lived signed URLs (S3 presigned, or served by this service)


Location = S3Location | LocalLocation | HttpLocation


class InputFormat(enum.StrEnum):
    JSON = "json"  # JSON lines: numbers stay numbers; read by a core Druid
    CSV = "csv"  # with a header row; read by a core Druid
    PARQUET = "parquet"  # needs druid-parquet-extensions


# Every row carries the id of the ingestion task that loaded it (a constant added by Druid's
# transformSpec), so a task's rows can be counted to know they are queryable.
TASK_COLUMN = "ingest_task_id"
# A numeric column taking few values (ratings) is also loaded as text, a dictionary-coded column
# Druid groups by in about half the time of the number (bench/RESULTS.md, issue 28).
TEXT_COPY = "__text:"


def text_copy(column: str) -> str:
    return f"{TEXT_COPY}{column}"


def hidden(column: str) -> bool:
    """A column the service adds to a raw datasource, never shown as the user's."""
    return column == TASK_COLUMN or column.startswith(TEXT_COPY)


def copyable(column: str) -> bool:
    """Whether Druid's expression can name `column` as written (in double quotes, no escapes)."""
    return '"' not in column and "\\" not in column


def with_text_copies(spec: dict[str, Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """The raw spec loading each of `columns` a second time, as text: the texts `rollup.fit`
    keeps (numbers the raw spec loads, `copyable` names), which are the ones recorded."""
    if not columns:
        return spec
    built = copy.deepcopy(spec)
    schema = built["spec"]["dataSchema"]
    transforms = schema.setdefault("transformSpec", {}).setdefault("transforms", [])
    for column in columns:
        expression = f"cast(\"{column}\", 'STRING')"
        transforms.append(
            {"type": "expression", "name": text_copy(column), "expression": expression}
        )
        schema["dimensionsSpec"]["dimensions"].append({"type": "string", "name": text_copy(column)})
    return built


@dataclass(frozen=True)
class SpecInput:
    datasource: str
    columns: tuple[tuple[str, str], ...]  # (name, type) with types from the dataset schema
    time_min: dt.datetime
    time_max: dt.datetime
    location: Location
    mode: Mode = Mode.APPEND
    max_concurrent_subtasks: int = 1
    input_format: InputFormat = InputFormat.PARQUET
    task_id: str | None = None  # the Druid task id (submitting it twice cannot load twice)
    ingest_task: str | None = None  # our task id, stored in TASK_COLUMN


# Druid dimension types for the dataset's column types; dates and times stay text.
DIMENSION_TYPES = {"integer": "long", "float": "double"}
MAX_SAVED_PARSE_EXCEPTIONS = 20


def segment_granularity(start: dt.datetime, end: dt.datetime) -> str:
    """Segments of a size that suits the data's span: many small ones hurt small clusters."""
    span = end - start
    if span <= dt.timedelta(days=92):
        return "DAY"
    if span <= dt.timedelta(days=5 * 366):
        return "MONTH"
    return "YEAR"


def _floor(moment: dt.datetime, granularity: str) -> dt.datetime:
    day = moment.astimezone(dt.UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "DAY":
        return day
    if granularity == "MONTH":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _after(moment: dt.datetime, granularity: str) -> dt.datetime:
    """The end of the segment period that holds `moment` (exclusive)."""
    start = _floor(moment, granularity)
    if granularity == "DAY":
        return start + dt.timedelta(days=1)
    if granularity == "MONTH":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start.replace(year=start.year + 1)


# One period up: the segments of a rolled-up datasource (hour grain holds a day of rows in a few
# thousand), so a query reads a few segments rather than one a day.
COARSER = {"DAY": "MONTH", "MONTH": "YEAR", "YEAR": "YEAR"}


def widened(span: str, granularity: str) -> str:
    """An interval ("start/end", end exclusive) widened to whole periods of `granularity`."""
    start_text, end_text = span.split("/")
    start = dt.datetime.fromisoformat(start_text)
    last = dt.datetime.fromisoformat(end_text) - dt.timedelta(milliseconds=1)
    return f"{_iso(_floor(start, granularity))}/{_iso(_after(last, granularity))}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def replaced(time_min: dt.datetime, time_max: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The interval [start, end) whose earlier rows an upload spanning these times replaces
    (mode=replace): whole segment periods, as Druid replaces them."""
    granularity = segment_granularity(time_min, time_max)
    return _floor(time_min, granularity), _after(time_max, granularity)


def interval(spec: SpecInput) -> str:
    start, end = replaced(spec.time_min, spec.time_max)
    return f"{_iso(start)}/{_iso(end)}"


def input_source(location: Location) -> dict[str, Any]:
    if isinstance(location, HttpLocation):
        return {"type": "http", "uris": list(location.uris)}
    if isinstance(location, LocalLocation):
        directory, _, name = location.path.rpartition("/")
        return {"type": "local", "baseDir": directory or "/", "filter": name}
    source: dict[str, Any] = {"type": "s3", "uris": [f"s3://{location.bucket}/{location.key}"]}
    if location.endpoint_url:
        scheme = (
            location.endpoint_url.split("://", 1)[0] if "://" in location.endpoint_url else "https"
        )
        source["endpointConfig"] = {"url": location.endpoint_url, "signingRegion": location.region}
        source["clientConfig"] = {
            "protocol": scheme,
            "enablePathStyleAccess": True,
            "disableChunkedEncoding": True,
        }
    return source


def _dimensions(columns: tuple[tuple[str, str], ...]) -> list[dict[str, str]]:
    return [
        {"type": DIMENSION_TYPES.get(kind, "string"), "name": name}
        for name, kind in columns
        if name != TIME
    ]


def _input_format(kind: InputFormat) -> dict[str, Any]:
    if kind is InputFormat.PARQUET:
        return {"type": "parquet", "binaryAsString": False}
    if kind is InputFormat.CSV:
        return {"type": "csv", "findColumnsFromHeader": True}
    return {"type": "json"}


def _data_schema(spec: SpecInput) -> dict[str, Any]:
    dimensions = _dimensions(spec.columns)
    schema: dict[str, Any] = {
        "dataSource": spec.datasource,
        "timestampSpec": {"column": TIME, "format": "auto"},
        "dimensionsSpec": {"dimensions": dimensions},
    }
    if spec.ingest_task is not None:
        if not spec.ingest_task.isalnum():
            raise ValueError(f"task ids are alphanumeric: {spec.ingest_task!r}")
        dimensions.append({"type": "string", "name": TASK_COLUMN})
        schema["transformSpec"] = {
            "transforms": [
                {"type": "expression", "name": TASK_COLUMN, "expression": f"'{spec.ingest_task}'"}
            ]
        }
    return schema


def build_spec(spec: SpecInput) -> dict[str, Any]:
    granularity = segment_granularity(spec.time_min, spec.time_max)
    replace = spec.mode is Mode.REPLACE
    built: dict[str, Any] = {
        "type": "index_parallel",
        "spec": {
            "dataSchema": {
                **_data_schema(spec),
                "granularitySpec": {
                    "type": "uniform",
                    "segmentGranularity": granularity,
                    "queryGranularity": "NONE",
                    "rollup": False,
                    "intervals": [interval(spec)],
                },
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": input_source(spec.location),
                "inputFormat": _input_format(spec.input_format),
                "appendToExisting": not replace,
                "dropExisting": replace,
            },
            "tuningConfig": {
                "type": "index_parallel",
                "partitionsSpec": {"type": "dynamic"},
                "maxNumConcurrentSubTasks": spec.max_concurrent_subtasks,
                "maxParseExceptions": 0,
                "maxSavedParseExceptions": MAX_SAVED_PARSE_EXCEPTIONS,
                "logParseExceptions": True,
            },
        },
    }
    if spec.task_id is not None:
        built["id"] = spec.task_id
    return built
