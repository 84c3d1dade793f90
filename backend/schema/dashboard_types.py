"""GraphQL: the sales dashboard's types (its filter input and the figures it answers with), and
the analytics enums registered with Strawberry."""

from __future__ import annotations

import datetime as dt
import enum

import strawberry
from strawberry.scalars import JSON

from backend.analytics.dashboard import TopMetric
from backend.analytics.query import Aggregate, FilterKind, Granularity
from backend.analytics.sales_filter import SalesFilter
from backend.schema.scalars import Long

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
    previous_start: dt.datetime | None = strawberry.field(
        description="the period before, as long as this one; null when no dates were chosen"
    )
    previous_end: dt.datetime | None = strawberry.field(description="exclusive")


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
