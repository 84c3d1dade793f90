"""GraphQL: the sales dashboard, the datasource catalog and ad-hoc analytics (thin: calls
backend.analytics)."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types.nodes import SelectedField
from strawberry.utils.str_converters import to_snake_case

from backend.analytics.dashboard import Dashboard, TopMetric
from backend.analytics.errors import BadRange
from backend.analytics.query import Granularity
from backend.analytics.sales_filter import SalesFilter
from backend.ingestion import views
from backend.paging import MAX_OFFSET
from backend.schema.analytics_query import AnalyticsQueryInput, AnalyticsResult, run_analytics
from backend.schema.context import Info
from backend.schema.dashboard_types import (
    HeatmapCell,
    PageInfo,
    ProfitabilityBy,
    ProfitabilityRow,
    RatingBin,
    RowConnection,
    RowEdge,
    SalesBreakdown,
    SalesChange,
    SalesFigures,
    SalesFilterInput,
    SalesSummary,
    TopProductLine,
    TrendPoint,
)
from backend.schema.datasources import (
    Datasource,
    datasource_view,
    described,
)
from backend.schema.permissions import IsViewer
from backend.schema.scalars import Long


def _sales(filter: SalesFilterInput | None) -> SalesFilter:
    return (filter or SalesFilterInput()).value()


def _make(kind: type[Any], rows: list[dict[str, Any]]) -> list[Any]:
    fields = set(kind.__annotations__)
    return [kind(**{k: v for k, v in row.items() if k in fields}) for row in rows]


def _dashboard(info: Info) -> Dashboard:
    return Dashboard(info.context.runtime.analytics, info.context.cache_trace)


def _asked(info: Info) -> frozenset[str]:
    """The sub-fields a query selects of this field (through fragments too), as Python names:
    what the resolver has to compute."""
    names: set[str] = set()
    pending = [item for found in info.selected_fields for item in found.selections]
    while pending:
        item = pending.pop()
        if isinstance(item, SelectedField):
            names.add(to_snake_case(item.name))
        else:
            pending.extend(item.selections)
    return frozenset(names)


def _breakdown_by(column: str) -> Callable[..., Awaitable[list[SalesBreakdown]]]:
    async def resolve(info: Info, filter: SalesFilterInput | None = None) -> list[SalesBreakdown]:
        rows = await _dashboard(info).breakdown(_sales(filter), column, _asked(info))
        return _make(SalesBreakdown, rows)

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
        found = await views.views(info.context.runtime, info.context.principal)
        return [datasource_view(d) for d in found]

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
