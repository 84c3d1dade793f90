"""An independent computation of the dashboard figures in plain Python over the CSV rows."""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

Row = dict[str, Any]


def load(path: Path) -> list[Row]:
    rows = []
    with path.open(newline="") as handle:
        for raw in csv.DictReader(handle):
            month, day, year = (int(p) for p in raw["Date"].split("/"))
            hour, minute = (int(p) for p in raw["Time"].split(":")[:2])
            rows.append(
                {
                    **raw,
                    "Total": float(raw["Total"]),
                    "gross income": float(raw["gross income"]),
                    "cogs": float(raw["cogs"]),
                    "Quantity": int(raw["Quantity"]),
                    "Rating": float(raw["Rating"]),
                    "when": dt.datetime(year, month, day, hour, minute, tzinfo=dt.UTC),
                }
            )
    return rows


def select(
    rows: Iterable[Row],
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    **equals: tuple[str, ...],
) -> list[Row]:
    found = []
    for row in rows:
        if start and row["when"] < start or end and row["when"] >= end:
            continue
        if all(row[column] in values for column, values in equals.items()):
            found.append(row)
    return found


def figures(rows: list[Row]) -> dict[str, Any]:
    total = sum(r["Total"] for r in rows)
    count = len(rows)
    return {
        "totalSales": total,
        "grossIncome": sum(r["gross income"] for r in rows),
        "transactions": count,
        "unitsSold": sum(r["Quantity"] for r in rows),
        "averageBasket": total / count if count else None,
        "averageRating": sum(r["Rating"] for r in rows) / count if count else None,
    }


def group(rows: list[Row], key: Callable[[Row], Any]) -> dict[Any, list[Row]]:
    grouped: dict[Any, list[Row]] = defaultdict(list)
    for row in rows:
        grouped[key(row)].append(row)
    return grouped
