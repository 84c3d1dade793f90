"""The `sales` datasource: its columns and the Pandera checks (polars backend) its rows must pass."""

from __future__ import annotations

from functools import lru_cache

import pandera.polars as pa
import polars as pl

from backend.contracts.derived import (
    Derived,
    DerivedColumns,
    Suspect,
    cents,
    positive,
    whole,
)
from backend.contracts.expressions import row_check
from backend.contracts.schema import ColumnSpec, DatasetSchema, TimeSpec
from backend.contracts.types import ColumnType

SALES = "sales"
BRANCH_CITY = {"A": "Yangon", "B": "Mandalay", "C": "Naypyitaw"}
PRODUCT_LINES = (
    "Health and beauty",
    "Electronic accessories",
    "Home and lifestyle",
    "Sports and travel",
    "Food and beverages",
    "Fashion accessories",
)
# Money figures are rounded in the files (2 to 4 decimals); allow a cent of rounding.
TOLERANCE = 0.011

_S, _F, _I = ColumnType.STRING, ColumnType.FLOAT, ColumnType.INTEGER
SALES_COLUMNS = [
    ColumnSpec("Invoice ID", _S, required=True),
    ColumnSpec("Branch", _S, required=True),
    ColumnSpec("City", _S, required=True),
    ColumnSpec("Customer type", _S, required=True),
    ColumnSpec("Gender", _S, required=True),
    ColumnSpec("Product line", _S, required=True),
    ColumnSpec("Unit price", _F, required=True),
    ColumnSpec("Quantity", _I, required=True),
    ColumnSpec("Tax 5%", _F, required=True),
    ColumnSpec("Total", _F, required=True),
    # M/D/YYYY or ISO; Excel date cells arrive as ISO with a midnight time.
    ColumnSpec(
        "Date", ColumnType.DATE, ("%m/%d/%Y", "%Y-%m-%d", "%Y-%m-%d %H:%M:%S"), required=True
    ),
    ColumnSpec("Time", ColumnType.TIME, ("%H:%M", "%H:%M:%S"), required=True),
    ColumnSpec("Payment", _S, required=True),
    ColumnSpec("cogs", _F, required=True),
    ColumnSpec("gross margin percentage", _F, required=True),
    ColumnSpec("gross income", _F, required=True),
    ColumnSpec("Rating", _F, required=True),
]

# Row-level checks that involve several columns, each reported on the column it computes.
_PRICE, _QTY, _TAX = pl.col("Unit price"), pl.col("Quantity"), pl.col("Tax 5%")
_COGS = _PRICE * _QTY


def _city_of_branch() -> pl.Expr:
    # A when/then chain rather than replace_strict: the same answer, but it streams (a
    # replace_strict made the one-pass plan hold the whole column: +1 GB on 5M rows).
    city: pl.Expr = pl.lit(None, pl.String)
    for branch, name in BRANCH_CITY.items():
        city = pl.when(pl.col("Branch") == branch).then(pl.lit(name)).otherwise(city)
    return city


def _derived(
    check: str,
    column: str,
    formula: str,
    expected: pl.Expr,
    decimals: int | None = 2,
    cases: str = "",
) -> Derived:
    if decimals is None:
        passes = (pl.col(column) == expected).fill_null(True)
    else:
        passes = ((pl.col(column) - expected).abs() <= TOLERANCE).fill_null(True)
    return Derived(check, column, formula, expected, passes, decimals, cases)


def _a_quantity(value: pl.Expr) -> pl.Expr:
    """A value a Quantity could have been (a negative Unit price implies a negative one): a
    whole number, at least 1 (whole() takes 1E-9 for 0, which positive() lets through)."""
    return whole(value) & (value.round(0) >= 1)


def _a_price(value: pl.Expr) -> pl.Expr:
    """A value a Unit price could have been: whole cents, at least one."""
    return cents(value) & ((value * 100).round(0) >= 1)


DERIVED = DerivedColumns(
    derived=(
        _derived(
            "city_matches_branch",
            "City",
            "the city of its {Branch}",
            _city_of_branch(),
            decimals=None,
            cases=", ".join(f"{b}: {c}" for b, c in BRANCH_CITY.items()),
        ),
        _derived("cogs_is_unit_price_x_quantity", "cogs", "{Quantity} × {Unit price}", _COGS),
        _derived("tax_is_5_percent", "Tax 5%", "5% of {Quantity} × {Unit price}", _COGS * 0.05),
        _derived(
            "total_is_cogs_plus_tax",
            "Total",
            "{Quantity} × {Unit price} + {Tax 5%}",
            _COGS + _TAX,
        ),
        _derived(
            "gross_income_is_tax",
            "gross income",
            "{Total} − {cogs}",
            pl.col("Total") - pl.col("cogs"),
        ),
        _derived(
            "gross_margin_matches",
            "gross margin percentage",
            "{gross income} / {Total} × 100",
            pl.col("gross income") / pl.col("Total") * 100,
            decimals=4,
        ),
    ),
    # One wrong Quantity (or Unit price, cogs, Tax 5%, Total) makes several of the above disagree.
    suspects=(
        Suspect("Quantity", pl.col("cogs") / _PRICE, _a_quantity, decimals=0),
        Suspect("Unit price", pl.col("cogs") / _QTY, _a_price),
        Suspect("cogs", _COGS, positive),
        Suspect("Tax 5%", _COGS * 0.05, positive),
        Suspect("Total", _COGS + _TAX, positive),
    ),
)


def _row_checks() -> list[pa.Check]:
    return [row_check(d.check, d.passes) for d in DERIVED.derived]


@lru_cache
def pandera_schema() -> pa.DataFrameSchema:
    def column(dtype: type[pl.DataType], *checks: pa.Check) -> pa.Column:
        return pa.Column(dtype, checks=list(checks), nullable=False)

    return pa.DataFrameSchema(
        {
            "Invoice ID": column(pl.String, pa.Check.str_matches(r"^\d{3}-\d{2}-\d{4}$")),
            "Branch": column(pl.String, pa.Check.isin(sorted(BRANCH_CITY))),
            "City": column(pl.String, pa.Check.isin(sorted(BRANCH_CITY.values()))),
            "Customer type": column(pl.String, pa.Check.isin(["Member", "Normal"])),
            "Gender": column(pl.String, pa.Check.isin(["Female", "Male"])),
            "Product line": column(pl.String, pa.Check.isin(list(PRODUCT_LINES))),
            "Unit price": column(pl.Float64, pa.Check.gt(0)),
            "Quantity": column(pl.Int64, pa.Check.ge(1)),
            "Tax 5%": column(pl.Float64, pa.Check.ge(0)),
            "Total": column(pl.Float64, pa.Check.ge(0)),
            "Date": column(pl.Date),
            "Time": column(pl.Time),
            "Payment": column(pl.String, pa.Check.isin(["Ewallet", "Cash", "Credit card"])),
            "cogs": column(pl.Float64, pa.Check.ge(0)),
            "gross margin percentage": column(pl.Float64, pa.Check.in_range(0, 100)),
            "gross income": column(pl.Float64, pa.Check.ge(0)),
            "Rating": column(pl.Float64, pa.Check.in_range(0, 10)),
        },
        checks=_row_checks(),
        strict=True,
    )


def sales_schema() -> DatasetSchema:
    return DatasetSchema(
        columns=SALES_COLUMNS,
        time=TimeSpec("Date", "Time"),
        unique="Invoice ID",
        # ddd-dd-dddd (checked before uniqueness) maps one to one onto a 9-digit integer.
        unique_encoding=pl.col("Invoice ID").str.replace_all("-", "", literal=True).cast(pl.UInt64),
        checks=pandera_schema,
        ignore_extra=True,
        contract=SALES,
    )
