"""The Druid engine: the analytics query model answered by Druid SQL over HTTP.

Values only ever travel as typed `parameters`; identifiers (the datasource and its columns) are
quoted, and only after they were found in the datasource's own column list. Results come back
typed as the embedded engine's (timestamps as aware UTC datetimes, counts as ints), so every
dashboard field gives the same answer on either engine.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from backend.analytics import druid_native, druid_rollup
from backend.analytics.catalog import DatasourceVersion
from backend.analytics.druid_native import PERIODS
from backend.analytics.embedded import check_columns
from backend.analytics.errors import BadRange, EngineUnavailable, UnsupportedQuery
from backend.analytics.query import (
    TIME,
    Aggregate,
    Filter,
    FilterKind,
    Measure,
    Query,
    Result,
    empty_result,
)
from backend.contracts.schema import PERIOD
from backend.druid.client import (
    DruidClient,
    DruidRequestError,
    DruidUnavailable,
    SqlResult,
    parse_timestamp,
)
from backend.druid.spec import hidden
from backend.druid.sql import quote

# Druid SQL types in the vocabulary the embedded engine uses for column types.
TYPE_NAMES = {
    "TIMESTAMP": "Datetime(time_unit='ms', time_zone='UTC')",
    "BIGINT": "Int64",
    "DOUBLE": "Float64",
    "FLOAT": "Float64",
    "REAL": "Float64",
    "VARCHAR": "String",
    "BOOLEAN": "Boolean",
}
# Exact answers, as the embedded engine gives: no approximate distinct counts.
CONTEXT = {"useApproximateCountDistinct": False, "useApproximateTopN": False}
# Druid orders raw rows by time with an in-memory queue of this many rows at most.
MAX_ORDERED_ROWS = 100_000


class DruidEngine:
    name = "druid"

    def __init__(
        self, client: DruidClient, datasource_prefix: str = "", native_queries: bool = True
    ) -> None:
        """`native_queries`: simple shapes as native queries, on the rollup and on raw rows
        (False: all SQL, the reference the parity suite compares them with)."""
        self.client = client
        self.prefix = datasource_prefix
        self.native_queries = native_queries
        self._schemas: dict[str, dict[str, str]] = {}

    def table(self, source: DatasourceVersion) -> str:
        return quote(f"{self.prefix}{source.name}")

    async def _sql(self, text: str, parameters: list[dict[str, Any]]) -> SqlResult:
        try:
            return await self.client.sql(text, parameters, CONTEXT)
        except DruidUnavailable as exc:
            raise EngineUnavailable(exc.message) from None
        except DruidRequestError as exc:
            raise EngineUnavailable(f"Druid could not answer: {exc.message}") from None

    async def _native(self, body: dict[str, Any]) -> list[Any]:
        try:
            return await self.client.native(body)
        except DruidUnavailable as exc:
            raise EngineUnavailable(exc.message) from None
        except DruidRequestError as exc:
            raise EngineUnavailable(f"Druid could not answer: {exc.message}") from None

    async def schema(self, source: DatasourceVersion) -> dict[str, str]:
        if not source.dataset_keys:
            return {}
        key = f"{source.name}:{source.version}"
        if key not in self._schemas:
            result = await self._sql(
                "SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS "
                "WHERE TABLE_SCHEMA = 'druid' AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                [_param(f"{self.prefix}{source.name}")],
            )
            if len(self._schemas) > 256:
                self._schemas.clear()
            self._schemas[key] = {
                str(name): TYPE_NAMES.get(str(kind), str(kind))
                for name, kind in result.rows
                if not hidden(str(name))
            }
        return self._schemas[key]

    async def time_range(
        self, source: DatasourceVersion
    ) -> tuple[dt.datetime | None, dt.datetime | None]:
        if not source.dataset_keys:
            return None, None
        result = await self._sql(
            f"SELECT MIN({quote(TIME)}), MAX({quote(TIME)}), COUNT(*) FROM {self.table(source)}",
            [],
        )
        low, high, count = result.rows[0]
        if not count:
            return None, None
        return parse_timestamp(low), parse_timestamp(high)

    async def run(self, query: Query, source: DatasourceVersion) -> Result:
        if not source.dataset_keys:
            return empty_result(query)
        schema = await self.schema(source)
        check_columns(query, schema)
        rolled = druid_rollup.plan(query, source, self.prefix)
        if rolled is not None:  # answered exactly from the rolled-up datasource
            native = (
                druid_native.build(rolled.query, rolled.datasource, rolled.choice, schema)
                if self.native_queries
                else None
            )
            if native is not None:
                return rolled.finish(native.result(await self._native(native.body)))
            table = quote(rolled.datasource)
            return rolled.finish(_result(await self._sql(*build_sql(rolled.query, table))))
        if self.native_queries and query.measures:  # raw rows: simple shapes natively too
            texts = source.druid_rollup.texts if source.druid_rollup else ()
            raw = druid_native.build(query, f"{self.prefix}{source.name}", None, schema, texts)
            if raw is not None:
                return raw.result(await self._native(raw.body))
        text, parameters = build_sql(query, self.table(source))
        return _result(await self._sql(text, parameters))


def _param(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"type": "VARCHAR", "value": "true" if value else "false"}
    if isinstance(value, int):
        return {"type": "BIGINT", "value": value}
    if isinstance(value, float):
        return {"type": "DOUBLE", "value": value}
    if isinstance(value, dt.datetime):
        # Epoch milliseconds (Druid's resolution): a text value with a fraction of a second
        # makes Druid 33 fail with a ClassCastException.
        moment = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return {"type": "TIMESTAMP", "value": int(moment.timestamp() * 1000)}
    return {"type": "VARCHAR", "value": str(value)}


def _measure(measure: Measure) -> str:
    column = quote(measure.column) if measure.column else None
    if measure.aggregate is Aggregate.COUNT:
        expression = f"COUNT({column or '*'})"
    elif measure.aggregate is Aggregate.SUM:
        expression = f"COALESCE(SUM({column}), 0)"  # the sum of nothing is 0, as in Polars
    elif measure.aggregate is Aggregate.AVG:
        expression = f"AVG(CAST({column} AS DOUBLE))"  # not Druid's integer average of longs
    elif measure.aggregate is Aggregate.COUNT_DISTINCT:
        expression = f"COUNT(DISTINCT {column})"
    else:
        expression = f"{measure.aggregate.value.upper()}({column})"
    return f"{expression} AS {quote(measure.name)}"


def _condition(item: Filter, parameters: list[dict[str, Any]]) -> str:
    column = quote(item.column)
    if item.kind in (FilterKind.EQUALS, FilterKind.IN):
        values = [v for v in item.values if v is not None]
        parts = []
        if values:
            parameters.extend(_param(v) for v in values)
            parts.append(f"{column} IN ({', '.join('?' for _ in values)})")
        if len(values) < len(item.values):
            parts.append(f"{column} IS NULL")
        return "(" + " OR ".join(parts) + ")" if parts else "FALSE"
    low, high = (item.values + (None, None))[:2]
    if low is not None and high is not None and low > high:  # type: ignore[operator]
        raise BadRange(f"the range on {item.column} starts after it ends", "Swap the bounds.")
    if item.kind is FilterKind.DATE_RANGE and item.column != TIME:
        column = f"TIME_PARSE({column})"
    upper = "<=" if item.kind is FilterKind.RANGE else "<"
    parts = []
    for value, operator in ((low, ">="), (high, upper)):
        if value is not None:
            parameters.append(_param(value))
            parts.append(f"{column} {operator} ?")
    return " AND ".join(parts) if parts else "TRUE"


def build_sql(query: Query, table: str) -> tuple[str, list[dict[str, Any]]]:
    """The Druid SQL text (identifiers quoted, no values in it) and its typed parameters."""
    parameters: list[dict[str, Any]] = []
    where = [_condition(f, parameters) for f in query.filters]
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    if not query.measures:
        return _rows_sql(query, table, where_sql), parameters
    keys: list[str] = []
    select: list[str] = []
    if query.granularity is not None:
        period = f"TIME_FLOOR({quote(TIME)}, '{PERIODS[query.granularity]}')"
        keys.append(period)
        select.append(f"{period} AS {quote(PERIOD)}")
    for dimension in query.dimensions:
        keys.append(quote(dimension))
        select.append(f"{quote(dimension)} AS {quote(dimension)}")
    select += [_measure(m) for m in query.measures]
    sql = f"SELECT {', '.join(select)} FROM {table}{where_sql}"
    if keys:
        sql += f" GROUP BY {', '.join(keys)}"
    order = [f"{quote(o.name)} {'DESC' if o.descending else 'ASC'}" for o in query.order]
    if not order and keys:
        names = ([PERIOD] if query.granularity else []) + list(query.dimensions)
        order = [f"{quote(n)} ASC" for n in names]
    if order:
        sql += f" ORDER BY {', '.join(order)}"
    return sql + _page(query), parameters


def _rows_sql(query: Query, table: str, where_sql: str) -> str:
    if any(o.name != TIME for o in query.order):
        raise UnsupportedQuery(
            "Druid orders raw rows by __time only",
            "Order by __time, or aggregate (add a measure) to order by other columns.",
        )
    if query.limit is None or query.limit + query.offset > MAX_ORDERED_ROWS:
        raise BadRange(
            f"Druid pages raw rows {MAX_ORDERED_ROWS} at a time",
            f"Give a limit so that offset + limit <= {MAX_ORDERED_ROWS}.",
        )
    columns = ", ".join(quote(d) for d in query.dimensions) if query.dimensions else "*"
    descending = bool(query.order) and query.order[0].descending
    return (
        f"SELECT {columns} FROM {table}{where_sql} "
        f"ORDER BY {quote(TIME)} {'DESC' if descending else 'ASC'}" + _page(query)
    )


def _page(query: Query) -> str:
    sql = f" LIMIT {int(query.limit)}" if query.limit is not None else ""
    return sql + (f" OFFSET {int(query.offset)}" if query.offset else "")


def _value(value: Any, sql_type: str) -> Any:
    if value is None:
        return None
    if sql_type == "TIMESTAMP":
        return parse_timestamp(str(value)) if isinstance(value, str) else _epoch(value)
    if sql_type == "BIGINT":
        return int(value)
    if sql_type in ("DOUBLE", "FLOAT", "REAL"):
        return float(value)
    return value


def _epoch(millis: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(millis) / 1000, dt.UTC)


def _result(found: SqlResult) -> Result:
    keep = [i for i, name in enumerate(found.columns) if not hidden(name)]
    types = found.sql_types
    rows = [tuple(_value(row[i], types[i]) for i in keep) for row in found.rows]
    return Result([found.columns[i] for i in keep], rows)
