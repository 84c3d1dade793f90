"""The sales dashboard's figures, built on the query model (so every engine serves them)."""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from backend.analytics.errors import BadRange, MissingColumns
from backend.analytics.periods import periods
from backend.analytics.query import (
    Aggregate,
    Granularity,
    Measure,
    Order,
    Query,
    Result,
)
from backend.analytics.sales_filter import FILTER_COLUMNS, SalesFilter, midnight
from backend.analytics.service import Analytics, CacheTrace
from backend.contracts.schema import PERIOD

TOTAL, GROSS_INCOME, QUANTITY, RATING, COGS = "Total", "gross income", "Quantity", "Rating", "cogs"
TOTALS = (TOTAL, GROSS_INCOME, QUANTITY)
# Known values of a column are looked up (to match filter values ignoring case) up to this many.
MAX_KNOWN_VALUES = 10_000


@dataclass
class Figures:
    total_sales: float
    gross_income: float
    transactions: int
    units_sold: int
    average_basket: float | None
    average_rating: float | None


@dataclass
class Summary:
    current: Figures
    previous: Figures
    change_percent: dict[str, float | None]
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    previous_start: dt.datetime | None
    previous_end: dt.datetime | None


@dataclass
class Dashboard:
    analytics: Analytics
    trace: CacheTrace = field(default_factory=CacheTrace)
    asked_by: str = "analytics"  # the GraphQL field being answered (one Dashboard per field)

    async def _run(self, query: Query) -> Result:
        return await self.analytics.run(query, self.trace, self.asked_by)

    async def _prepare(self, sales: SalesFilter, field: str, needs: tuple[str, ...]) -> SalesFilter:
        """Check the datasource has the columns this field and the filter need, and match the
        filter's values to the column's known values ignoring case (unknown ones: a warning)."""
        self.asked_by = field
        columns = await self.analytics.columns(sales.datasource)
        if not columns:
            return sales  # no data yet: every figure is zero or empty
        wanted = [*needs, *sales.dimension_values()]
        missing = [c for c in dict.fromkeys(wanted) if c not in columns]
        if missing:
            raise MissingColumns(field, sales.datasource, wanted, missing)
        asked = {a: c for a, c in FILTER_COLUMNS.items() if getattr(sales, a)}
        # Each filtered column's known values at once (one engine query each).
        matched = await asyncio.gather(
            *(self._match(sales.datasource, c, getattr(sales, a)) for a, c in asked.items())
        )
        changes: dict[str, tuple[str, ...]] = {}
        for attribute, (values, warning) in zip(asked, matched, strict=True):
            changes[attribute] = values
            if warning:
                self.trace.warnings.append(warning)
        return replace(sales, **changes) if changes else sales  # type: ignore[arg-type]

    async def _match(
        self, datasource: str, column: str, values: tuple[str, ...]
    ) -> tuple[tuple[str, ...], str | None]:
        """The values matched to the column's known ones, and a warning naming unknown ones."""
        query = Query(
            datasource,
            (Measure(Aggregate.COUNT, None, "n"),),
            dimensions=(column,),
            limit=MAX_KNOWN_VALUES + 1,
        )
        known = [row[0] for row in (await self._run(query)).rows if isinstance(row[0], str)]
        if len(known) > MAX_KNOWN_VALUES:
            return values, None  # too many to list: taken as given
        by_lower: dict[str, list[str]] = {}
        for value in known:
            by_lower.setdefault(value.casefold(), []).append(value)
        matched: list[str] = []
        unknown: list[str] = []
        for value in values:
            if value in known:
                matched.append(value)
            elif candidates := by_lower.get(value.casefold()):
                matched.extend(candidates)
            else:
                matched.append(value)
                unknown.append(value)
        warning = None
        if unknown:
            listed = ", ".join(repr(v) for v in sorted(known)[:20])
            warning = (
                f"{column}: no row has {', '.join(repr(v[:40]) for v in unknown)}; "
                f"known values: {listed}"
            )
        return tuple(dict.fromkeys(matched)), warning

    async def _bounds(self, sales: SalesFilter) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The period asked for; a bound left out is taken from the data's first or last day.
        When the data lie wholly on the far side of the one bound given, the period is empty
        (that bound to itself): the figures are zero, as with an explicit far bound."""
        start, end = midnight(sales.date_from), midnight(sales.date_to, days=1)
        if start and end:
            return start, end
        info = await self.analytics.describe(sales.datasource)
        if info.time_start is None or info.time_end is None:
            return start, end
        first = midnight(info.time_start.date())
        last = midnight(info.time_end.date(), days=1)
        assert first is not None and last is not None
        if start is not None:
            return start, max(start, last)
        if end is not None:
            return min(first, end), end
        return first, last

    def _figures_query(
        self, sales: SalesFilter, start: dt.datetime | None, end: dt.datetime | None
    ) -> Query:
        return Query(
            datasource=sales.datasource,
            measures=(
                Measure(Aggregate.SUM, TOTAL, "total_sales"),
                Measure(Aggregate.SUM, GROSS_INCOME, "gross_income"),
                Measure(Aggregate.COUNT, None, "transactions"),
                Measure(Aggregate.SUM, QUANTITY, "units_sold"),
                Measure(Aggregate.AVG, RATING, "average_rating"),
            ),
            filters=sales.filters(start, end),
        )

    async def figures(
        self, sales: SalesFilter, start: dt.datetime | None, end: dt.datetime | None
    ) -> Figures:
        return _figures((await self._run(self._figures_query(sales, start, end))).records()[0])

    async def summary(self, sales: SalesFilter) -> Summary:
        sales = await self._prepare(sales, "salesSummary", (*TOTALS, RATING))
        start, end = await self._bounds(sales)
        # Without chosen dates the figures cover all the data: nothing comes before it to compare with.
        chosen = sales.date_from is not None or sales.date_to is not None
        if start is None or end is None or not chosen:
            current = await self.figures(sales, start, end)
            previous = Figures(0.0, 0.0, 0, 0, None, None)
            return Summary(current, previous, _changes(current, previous), start, end, None, None)
        previous_start = start - (end - start)
        # Both periods at once (on Druid: one SQL of filtered aggregates).
        now, before = await self.analytics.run_many(
            [
                self._figures_query(sales, start, end),
                self._figures_query(sales, previous_start, start),
            ],
            self.trace,
            self.asked_by,
        )
        current, previous = _figures(now.records()[0]), _figures(before.records()[0])
        return Summary(
            current, previous, _changes(current, previous), start, end, previous_start, start
        )

    async def trend(self, sales: SalesFilter, granularity: Granularity) -> list[dict[str, Any]]:
        sales = await self._prepare(sales, "salesTrend", TOTALS)
        start, end = await self._bounds(sales)
        query = Query(
            datasource=sales.datasource,
            measures=_totals(),
            granularity=granularity,
            filters=sales.filters(start, end),
        )
        found = {r[PERIOD]: r for r in (await self._run(query)).records()}
        if start is None or end is None:
            return list(found.values())
        empty = {"total_sales": 0.0, "gross_income": 0.0, "transactions": 0, "units_sold": 0}
        every = periods(start, end, granularity)
        if self.trace.budget is not None:  # empty periods are answered too: count them
            self.trace.budget.spend((len(every) - len(found)) * (len(empty) + 1))
        return [found.get(p, {PERIOD: p, **empty}) for p in every]

    async def breakdown(
        self, sales: SalesFilter, column: str, asked: Collection[str] | None = None
    ) -> list[dict[str, Any]]:
        """Totals per value of `column`, largest first. `asked`: the figures to compute (None:
        all); total_sales always, which orders the rows and gives the shares; the others are
        None when not asked (each sum left out is a column the engine does not read)."""
        measures = _totals(None if asked is None else {"total_sales", *asked})
        needs = [m.column for m in measures if m.column is not None]
        sales = await self._prepare(sales, f"sales by {column}", (column, *needs))
        query = Query(
            datasource=sales.datasource,
            measures=measures,
            dimensions=(column,),
            filters=sales.filters(),
            order=(Order("total_sales", descending=True), Order(column)),
        )
        rows = (await self._run(query)).records()
        grand = sum(r["total_sales"] or 0.0 for r in rows)
        for row in rows:
            row["key"] = row.pop(column)
            row["share"] = (row["total_sales"] / grand * 100) if grand else None
            row.update({m.name: None for m in _totals() if m not in measures})
        return rows

    async def profitability(self, sales: SalesFilter, by: str) -> list[dict[str, Any]]:
        needs = (TOTAL, COGS, GROSS_INCOME) + (() if by == "month" else (by,))
        sales = await self._prepare(sales, "profitability", needs)
        measures = (
            Measure(Aggregate.SUM, TOTAL, "revenue"),
            Measure(Aggregate.SUM, COGS, "cogs"),
            Measure(Aggregate.SUM, GROSS_INCOME, "gross_income"),
        )
        if by == "month":
            query = Query(
                sales.datasource, measures, granularity=Granularity.MONTH, filters=sales.filters()
            )
        else:
            query = Query(
                sales.datasource,
                measures,
                dimensions=(by,),
                filters=sales.filters(),
                order=(Order(by),),
            )
        rows = (await self._run(query)).records()
        for row in rows:
            key = row.pop(PERIOD if by == "month" else by)
            row["key"] = key.strftime("%Y-%m") if isinstance(key, dt.datetime) else key
            row["margin"] = row["gross_income"] / row["revenue"] * 100 if row["revenue"] else None
        return rows

    async def top_product_lines(
        self, sales: SalesFilter, metric: TopMetric, limit: int
    ) -> list[dict[str, Any]]:
        sales = await self._prepare(sales, "topProductLines", ("Product line", *TOTALS, RATING))
        query = Query(
            datasource=sales.datasource,
            measures=(*_totals(), Measure(Aggregate.AVG, RATING, "average_rating")),
            dimensions=("Product line",),
            filters=sales.filters(),
            order=(Order(metric.value, descending=True), Order("Product line")),
            limit=limit,
        )
        rows = (await self._run(query)).records()
        for row in rows:
            row["product_line"] = row.pop("Product line")
            row["value"] = row[metric.value]
        return rows

    async def rating_distribution(self, sales: SalesFilter, bins: int) -> list[dict[str, Any]]:
        sales = await self._prepare(sales, "ratingDistribution", (RATING,))
        if not 1 <= bins <= 100:
            raise BadRange(
                f"bins must be between 1 and 100 (got {bins})", "Ask for 10 bins, for example."
            )
        query = Query(
            sales.datasource,
            (Measure(Aggregate.COUNT, None, "count"),),
            dimensions=(RATING,),
            filters=sales.filters(),
        )
        width = 10 / bins
        counts = [0] * bins
        for rating, count in (await self._run(query)).rows:
            if rating is not None:
                counts[min(int(math.floor(rating / width + 1e-9)), bins - 1)] += count
        return [
            {"lower": round(i * width, 6), "upper": round((i + 1) * width, 6), "count": c}
            for i, c in enumerate(counts)
        ]

    async def heatmap(self, sales: SalesFilter) -> list[dict[str, Any]]:
        sales = await self._prepare(sales, "salesHeatmap", (TOTAL,))
        # Only what a cell shows: each further sum is read for every hour (on Druid's rollup at
        # 5M rows, two more sums took the hourly query from 30 to 40 ms, bench/RESULTS.md).
        query = Query(
            sales.datasource,
            _totals({"total_sales", "transactions"}),
            granularity=Granularity.HOUR,
            filters=sales.filters(),
        )
        cells: dict[tuple[int, int], dict[str, Any]] = {
            (d, h): {"day_of_week": d, "hour": h, "total_sales": 0.0, "transactions": 0}
            for d in range(1, 8)
            for h in range(24)
        }
        for row in (await self._run(query)).records():
            moment: dt.datetime = row[PERIOD]
            cell = cells[(moment.isoweekday(), moment.hour)]
            cell["total_sales"] += row["total_sales"] or 0.0
            cell["transactions"] += row["transactions"]
        return list(cells.values())

    async def rows(self, sales: SalesFilter, first: int, offset: int) -> tuple[Result, int]:
        sales = await self._prepare(sales, "rows", ())
        page = Query(sales.datasource, (), filters=sales.filters(), limit=first, offset=offset)
        total = Query(
            sales.datasource, (Measure(Aggregate.COUNT, None, "rows"),), filters=sales.filters()
        )
        found, counted = await self.analytics.run_many([page, total], self.trace, self.asked_by)
        return found, int(counted.rows[0][0])

    async def row_count(self, sales: SalesFilter) -> int:
        sales = await self._prepare(sales, "rowCount", ())
        query = Query(
            sales.datasource, (Measure(Aggregate.COUNT, None, "rows"),), filters=sales.filters()
        )
        return int((await self._run(query)).rows[0][0])


class TopMetric(enum.StrEnum):
    REVENUE = "total_sales"
    GROSS_INCOME = "gross_income"
    TRANSACTIONS = "transactions"
    UNITS_SOLD = "units_sold"
    RATING = "average_rating"


def _totals(names: Collection[str] | None = None) -> tuple[Measure, ...]:
    """The four totals, or those of them in `names`."""
    every = (
        Measure(Aggregate.SUM, TOTAL, "total_sales"),
        Measure(Aggregate.SUM, GROSS_INCOME, "gross_income"),
        Measure(Aggregate.COUNT, None, "transactions"),
        Measure(Aggregate.SUM, QUANTITY, "units_sold"),
    )
    return every if names is None else tuple(m for m in every if m.name in names)


def _figures(row: dict[str, Any]) -> Figures:
    transactions = int(row["transactions"] or 0)
    total = float(row["total_sales"] or 0.0)
    return Figures(
        total_sales=total,
        gross_income=float(row["gross_income"] or 0.0),
        transactions=transactions,
        units_sold=int(row["units_sold"] or 0),
        average_basket=total / transactions if transactions else None,
        average_rating=row["average_rating"],
    )


def _changes(current: Figures, previous: Figures) -> dict[str, float | None]:
    def change(now: float | None, before: float | None) -> float | None:
        if now is None or not before:
            return None  # no previous figure to compare with
        return (now - before) / before * 100

    names: Sequence[str] = (
        "total_sales",
        "gross_income",
        "transactions",
        "units_sold",
        "average_basket",
        "average_rating",
    )
    return {n: change(getattr(current, n), getattr(previous, n)) for n in names}
