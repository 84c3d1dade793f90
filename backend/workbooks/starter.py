"""The default sales dashboard as a workbook document: the one new users start from ("save a
copy"). Its widgets are the web app's dashboard (frontend/src/pages/dashboard), each as the
analytics query model, so that any engine answers them and a copy can be changed like any other
workbook."""

from __future__ import annotations

from typing import Any

from backend.errors import InvalidInput
from backend.workbooks.documents import Document

TITLE = "Sales overview"
DESCRIPTION = (
    "The default sales dashboard: key figures, the daily trend, sales by branch, city, product "
    "line, payment, customer type and gender, profitability, the top product lines, the rating "
    "distribution and sales by hour."
)
_TOTAL = {"aggregate": "sum", "column": "Total", "alias": "total_sales"}
_INCOME = {"aggregate": "sum", "column": "gross income", "alias": "gross_income"}
_COUNT = {"aggregate": "count", "alias": "transactions"}
_UNITS = {"aggregate": "sum", "column": "Quantity", "alias": "units_sold"}
_RATING = {"aggregate": "avg", "column": "Rating", "alias": "average_rating"}
_TOTALS = [_TOTAL, _INCOME, _COUNT, _UNITS]
_BREAKDOWNS = ("Branch", "City", "Product line", "Payment", "Customer type", "Gender")
_BY_SALES = [{"name": "total_sales", "descending": True}]
# The columns the widgets read (besides __time, which every datasource with a time column has).
NEEDS = ("Total", "gross income", "Quantity", "Rating", "cogs", *_BREAKDOWNS)


def _widget(kind: str, title: str, width: int, height: int, **query: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": title,
        "size": {"width": width, "height": height},
        "query": query,
    }


def _widgets(datasource: str) -> list[dict[str, Any]]:
    ds = {"datasource": datasource}
    return [
        _widget("kpi", "Key figures", 12, 2, **ds, measures=[*_TOTALS, _RATING]),
        _widget(
            "trend", "Sales trend", 12, 4, **ds, measures=_TOTALS, granularity="day",
            order=[{"name": "__period"}], limit=10_000,
        ),
        *(
            _widget(
                "breakdown", f"Sales by {column.lower()}", 4, 4, **ds, measures=_TOTALS,
                dimensions=[column], order=[*_BY_SALES, {"name": column}],
            )
            for column in _BREAKDOWNS
        ),
        _widget(
            "profitability", "Profitability", 6, 4, **ds,
            measures=[
                {"aggregate": "sum", "column": "Total", "alias": "revenue"},
                {"aggregate": "sum", "column": "cogs", "alias": "cogs"},
                _INCOME,
            ],
            dimensions=["Product line"], order=[{"name": "Product line"}],
        ),
        _widget(
            "top_n", "Top product lines", 6, 4, **ds, measures=[*_TOTALS, _RATING],
            dimensions=["Product line"], order=[*_BY_SALES, {"name": "Product line"}], limit=5,
        ),
        _widget(
            "rating_distribution", "Rating distribution", 6, 4, **ds,
            measures=[{"aggregate": "count", "alias": "count"}], dimensions=["Rating"],
            order=[{"name": "Rating"}],
        ),
        _widget(
            "heatmap", "Sales by weekday and hour", 12, 4, **ds,
            measures=[_TOTAL, _COUNT], granularity="hour", order=[{"name": "__period"}],
            limit=100_000,
        ),
    ]  # fmt: skip


def document(datasource: str) -> Document:
    """The default dashboard over `datasource`, private and unsaved."""
    return Document.model_validate(
        {
            "title": TITLE,
            "description": DESCRIPTION,
            "datasource": datasource,
            "widgets": _widgets(datasource),
            "tags": ["sales"],
        }
    )


def require_sales_columns(datasource: str, columns: dict[str, str]) -> None:
    """The datasource has the columns the default dashboard reads (a datasource without data yet
    is taken as it is: its columns are checked once it has some)."""
    missing = [c for c in NEEDS if c not in columns]
    if columns and missing:
        raise InvalidInput(
            f"the default sales dashboard needs the sales columns; datasource {datasource!r} "
            f"has no {', '.join(repr(c) for c in missing)}",
            "Ask for it over a datasource with the sales columns (such as sales), or build a "
            "workbook of your own over this one.",
        )
