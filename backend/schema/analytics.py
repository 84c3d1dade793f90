"""GraphQL: the sales dashboard, the datasource catalog and ad-hoc analytics (thin: calls
backend.analytics)."""

from __future__ import annotations

import base64
import datetime as dt
import enum
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

import strawberry
from strawberry.scalars import JSON

from backend.analytics.dashboard import Dashboard, SalesFilter, TopMetric
from backend.analytics.errors import BadRange
from backend.analytics.query import Aggregate, FilterKind, Granularity
from backend.ingestion.schemas import DatasourceOut
from backend.paging import MAX_OFFSET
from backend.schema.analytics_query import AnalyticsQueryInput, AnalyticsResult, run_analytics
from backend.schema.context import Info
from backend.schema.datasources import (
    Datasource,
    datasource_records,
    datasource_view,
    described,
)
from backend.schema.permissions import IsViewer
from backend.schema.scalars import Long

if TYPE_CHECKING:
    pass

strawberry.enum(Granularity, name="Granularity")
strawberry.enum(Aggregate, name="Aggregate")
strawberry.enum(FilterKind, name="FilterKind")
strawberry.enum(TopMetric, name="TopMetric")


@strawberry.enum
class ProfitabilityBy(enum.Enum):
    BRANCH = "Branch"
    PRODUCT_LINE = "Product line"
    MONTH = "month"


@strawberry.input(
    name="SalesFilter", description="Applies to every dashboard field; dates are inclusive"
)
class SalesFilterInput:
    datasource: str = "sales"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    branches: list[str] | None = None
    cities: list[str] | None = None
    product_lines: list[str] | None = None
    customer_types: list[str] | None = None
    genders: list[str] | None = None
    payments: list[str] | None = None

    def value(self) -> SalesFilter:
        return SalesFilter(
            datasource=self.datasource,
            date_from=self.date_from,
            date_to=self.date_to,
            branches=tuple(self.branches or ()),
            cities=tuple(self.cities or ()),
            product_lines=tuple(self.product_lines or ()),
            customer_types=tuple(self.customer_types or ()),
            genders=tuple(self.genders or ()),
            payments=tuple(self.payments or ()),
        )


def _sales(filter: SalesFilterInput | None) -> SalesFilter:
    return (filter or SalesFilterInput()).value()


@strawberry.type
class SalesFigures:
    total_sales: float
    gross_income: float
    transactions: Long
    units_sold: Long
    average_basket: float | None
    average_rating: float | None


@strawberry.type(
    description="Change from the previous period in percent; null when the previous figure is 0 or missing"
)
class SalesChange:
    total_sales: float | None
    gross_income: float | None
    transactions: float | None
    units_sold: float | None
    average_basket: float | None
    average_rating: float | None


@strawberry.type
class SalesSummary:
    total_sales: float
    gross_income: float
    transactions: Long
    units_sold: Long
    average_basket: float | None
    average_rating: float | None
    previous: SalesFigures
    change_percent: SalesChange
    period_start: dt.datetime | None
    period_end: dt.datetime | None = strawberry.field(description="exclusive")
    previous_start: dt.datetime | None
    previous_end: dt.datetime | None


@strawberry.type
class TrendPoint:
    period: dt.datetime
    total_sales: float
    gross_income: float
    transactions: Long
    units_sold: Long


@strawberry.type
class SalesBreakdown:
    key: str
    total_sales: float
    gross_income: float
    transactions: Long
    units_sold: Long
    share: float | None = strawberry.field(
        description="percent of the total sales of the selection"
    )


@strawberry.type
class ProfitabilityRow:
    key: str
    revenue: float
    cogs: float
    gross_income: float
    margin: float | None = strawberry.field(description="gross income / revenue, in percent")


@strawberry.type
class TopProductLine:
    product_line: str
    value: float | None
    total_sales: float
    gross_income: float
    transactions: Long
    units_sold: Long
    average_rating: float | None


@strawberry.type
class RatingBin:
    lower: float
    upper: float
    count: Long


@strawberry.type
class HeatmapCell:
    day_of_week: int = strawberry.field(description="1 = Monday ... 7 = Sunday")
    hour: int
    total_sales: float
    transactions: Long


@strawberry.type
class RowEdge:
    cursor: str
    node: JSON


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class RowConnection:
    edges: list[RowEdge]
    page_info: PageInfo
    total_count: Long


def _make(kind: type[Any], rows: list[dict[str, Any]]) -> list[Any]:
    fields = set(kind.__annotations__)
    return [kind(**{k: v for k, v in row.items() if k in fields}) for row in rows]


def _dashboard(info: Info) -> Dashboard:
    return Dashboard(info.context.runtime.analytics, info.context.cache_trace)


def _breakdown_by(column: str) -> Callable[..., Awaitable[list[SalesBreakdown]]]:
    async def resolve(info: Info, filter: SalesFilterInput | None = None) -> list[SalesBreakdown]:
        return _make(SalesBreakdown, await _dashboard(info).breakdown(_sales(filter), column))

    resolve.__doc__ = f"Sales by {column}: totals, transactions, share of the total"
    return resolve


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _offset(cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor.encode()[:64]).decode()
        offset = int(text.removeprefix("offset:")) + 1
        if not 1 <= offset <= MAX_OFFSET:
            raise ValueError(offset)
        return offset
    except ValueError as exc:
        raise BadRange(
            f"invalid cursor {cursor[:40]!r}", "Pass an endCursor returned by rows."
        ) from exc


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(permission_classes=[IsViewer])
    async def sales_summary(
        self, info: Info, filter: SalesFilterInput | None = None
    ) -> SalesSummary:
        summary = await _dashboard(info).summary(_sales(filter))
        now, before = summary.current, summary.previous
        return SalesSummary(
            total_sales=now.total_sales,
            gross_income=now.gross_income,
            transactions=Long(now.transactions),
            units_sold=Long(now.units_sold),
            average_basket=now.average_basket,
            average_rating=now.average_rating,
            previous=SalesFigures(**vars(before)),
            change_percent=SalesChange(**summary.change_percent),
            period_start=summary.period_start,
            period_end=summary.period_end,
            previous_start=summary.previous_start,
            previous_end=summary.previous_end,
        )

    @strawberry.field(
        permission_classes=[IsViewer],
        description="One point per period; periods without sales are included as zero",
    )
    async def sales_trend(
        self,
        info: Info,
        filter: SalesFilterInput | None = None,
        granularity: Granularity = Granularity.DAY,
    ) -> list[TrendPoint]:
        rows = await _dashboard(info).trend(_sales(filter), granularity)
        return [
            TrendPoint(
                period=r["__period"],
                total_sales=r["total_sales"] or 0.0,
                gross_income=r["gross_income"] or 0.0,
                transactions=Long(r["transactions"]),
                units_sold=Long(r["units_sold"] or 0),
            )
            for r in rows
        ]

    sales_by_branch: list[SalesBreakdown] = strawberry.field(
        permission_classes=[IsViewer], resolver=_breakdown_by("Branch")
    )
    sales_by_city: list[SalesBreakdown] = strawberry.field(
        permission_classes=[IsViewer], resolver=_breakdown_by("City")
    )
    sales_by_product_line: list[SalesBreakdown] = strawberry.field(
        permission_classes=[IsViewer], resolver=_breakdown_by("Product line")
    )
    sales_by_payment: list[SalesBreakdown] = strawberry.field(
        permission_classes=[IsViewer], resolver=_breakdown_by("Payment")
    )
    sales_by_customer_type: list[SalesBreakdown] = strawberry.field(
        permission_classes=[IsViewer], resolver=_breakdown_by("Customer type")
    )
    sales_by_gender: list[SalesBreakdown] = strawberry.field(
        permission_classes=[IsViewer], resolver=_breakdown_by("Gender")
    )

    @strawberry.field(permission_classes=[IsViewer])
    async def profitability(
        self, info: Info, by: ProfitabilityBy, filter: SalesFilterInput | None = None
    ) -> list[ProfitabilityRow]:
        return _make(
            ProfitabilityRow, await _dashboard(info).profitability(_sales(filter), by.value)
        )

    @strawberry.field(permission_classes=[IsViewer])
    async def top_product_lines(
        self,
        info: Info,
        filter: SalesFilterInput | None = None,
        limit: int = 5,
        metric: TopMetric = TopMetric.REVENUE,
    ) -> list[TopProductLine]:
        if not 1 <= limit <= 100:
            raise BadRange(
                f"limit must be between 1 and 100 (got {limit})", "Ask for 5, for example."
            )
        return _make(
            TopProductLine, await _dashboard(info).top_product_lines(_sales(filter), metric, limit)
        )

    @strawberry.field(permission_classes=[IsViewer])
    async def rating_distribution(
        self, info: Info, filter: SalesFilterInput | None = None, bins: int = 10
    ) -> list[RatingBin]:
        return _make(RatingBin, await _dashboard(info).rating_distribution(_sales(filter), bins))

    @strawberry.field(
        permission_classes=[IsViewer],
        description="Sales by day of week and hour of day (168 cells)",
    )
    async def sales_heatmap(
        self, info: Info, filter: SalesFilterInput | None = None
    ) -> list[HeatmapCell]:
        return _make(HeatmapCell, await _dashboard(info).heatmap(_sales(filter)))

    @strawberry.field(
        permission_classes=[IsViewer], description="Raw rows in time order, with cursor pagination"
    )
    async def rows(
        self,
        info: Info,
        filter: SalesFilterInput | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> RowConnection:
        if not 1 <= first <= 1000:
            raise BadRange(
                f"first must be between 1 and 1000 (got {first})",
                "Ask for pages of 50, for example.",
            )
        offset = _offset(after)
        page, total = await _dashboard(info).rows(_sales(filter), first, offset)
        edges = [
            RowEdge(cursor=_cursor(offset + i), node=cast(JSON, _json_row(record)))
            for i, record in enumerate(page.records())
        ]
        end = offset + len(edges) - 1
        return RowConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=end + 1 < total, end_cursor=_cursor(end) if edges else None
            ),
            total_count=Long(total),
        )

    @strawberry.field(permission_classes=[IsViewer])
    async def row_count(self, info: Info, filter: SalesFilterInput | None = None) -> Long:
        return Long(await _dashboard(info).row_count(_sales(filter)))

    @strawberry.field(permission_classes=[IsViewer])
    async def datasources(self, info: Info) -> list[Datasource]:
        runtime = info.context.runtime
        records = await datasource_records(runtime)
        return [
            datasource_view(DatasourceOut.of(d, records, runtime.settings, info.context.principal))
            for d in await runtime.analytics.datasources()
        ]

    @strawberry.field(permission_classes=[IsViewer])
    async def datasource(self, info: Info, name: str) -> Datasource:
        return await described(info.context.runtime, name, info.context.principal)

    @strawberry.field(
        permission_classes=[IsViewer],
        description="Ad-hoc measures and dimensions over any datasource",
    )
    async def analytics(self, info: Info, query: AnalyticsQueryInput) -> AnalyticsResult:
        return await run_analytics(info.context.runtime.analytics, query, info.context.cache_trace)


def _json_row(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, dt.date | dt.datetime | dt.time) else v
        for k, v in record.items()
    }
