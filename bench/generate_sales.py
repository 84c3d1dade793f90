"""Deterministic generator of supermarket sales rows.

Makes the repository's data.csv (1,000 rows) and the large files the benchmarks use:

    python bench/generate_sales.py                      # writes ./data.csv (1,000 rows)
    python bench/generate_sales.py --rows 5000000 --out var/bench/sales_5m.csv

The same seed and row count always give the same bytes, so benchmark runs compare like with like.
Figures are internally consistent (Tax 5% = 5% of cogs, Total = cogs + tax, gross income = tax),
which is what the sales validation checks.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import random
import sys
from collections.abc import Iterator
from pathlib import Path

HEADER = [
    "Invoice ID",
    "Branch",
    "City",
    "Customer type",
    "Gender",
    "Product line",
    "Unit price",
    "Quantity",
    "Tax 5%",
    "Total",
    "Date",
    "Time",
    "Payment",
    "cogs",
    "gross margin percentage",
    "gross income",
    "Rating",
]
BRANCH_CITIES = [("A", "Yangon"), ("B", "Mandalay"), ("C", "Naypyitaw")]
PRODUCT_LINES = [
    "Health and beauty",
    "Electronic accessories",
    "Home and lifestyle",
    "Sports and travel",
    "Food and beverages",
    "Fashion accessories",
]
PAYMENTS = ["Ewallet", "Cash", "Credit card"]
FIRST_DAY = dt.date(2019, 1, 1)
DAYS = 90
GROSS_MARGIN_PERCENTAGE = "4.761904762"
# 3**18 is coprime with 10**9, so i -> i * M mod 10**9 is a bijection: invoice ids never repeat.
_INVOICE_MULTIPLIER = 387_420_489
_INVOICE_OFFSET = 123_456_789


def invoice_id(index: int) -> str:
    n = (index * _INVOICE_MULTIPLIER + _INVOICE_OFFSET) % 1_000_000_000
    digits = f"{n:09d}"
    return f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"


DEFAULT_SEED = 20190101
# Each seed numbers its invoices from a different place (Invoice ID is unique per datasource, so
# files made with different seeds can be loaded together); the default seed starts at 0, which
# keeps data.csv as it always was.
_SEED_STRIDE = 1_000_003


def sales_rows(count: int, seed: int = DEFAULT_SEED) -> Iterator[list[str]]:
    rng = random.Random(seed)
    first = (seed - DEFAULT_SEED) * _SEED_STRIDE
    for index in range(count):
        branch, city = BRANCH_CITIES[rng.randrange(3)]
        unit_price = rng.randrange(1000, 10000) / 100
        quantity = rng.randrange(1, 11)
        cogs = round(unit_price * quantity, 2)
        tax = round(cogs * 0.05, 4)
        day = FIRST_DAY + dt.timedelta(days=rng.randrange(DAYS))
        yield [
            invoice_id(first + index),
            branch,
            city,
            "Member" if rng.random() < 0.5 else "Normal",
            "Female" if rng.random() < 0.5 else "Male",
            PRODUCT_LINES[rng.randrange(6)],
            f"{unit_price:.2f}",
            str(quantity),
            f"{tax:.4f}",
            f"{cogs + tax:.4f}",
            f"{day.month}/{day.day}/{day.year}",
            f"{rng.randrange(10, 21):02d}:{rng.randrange(60):02d}",
            PAYMENTS[rng.randrange(3)],
            f"{cogs:.2f}",
            GROSS_MARGIN_PERCENTAGE,
            f"{tax:.4f}",
            f"{rng.randrange(40, 101) / 10:.1f}",
        ]


def write_csv(path: Path, rows: int, seed: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    with tmp.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        batch: list[list[str]] = []
        for row in sales_rows(rows, seed):
            batch.append(row)
            if len(batch) == 10_000:
                writer.writerows(batch)
                batch.clear()
        writer.writerows(batch)
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1000, help="number of data rows (default 1000)")
    parser.add_argument("--out", type=Path, default=Path("data.csv"), help="output CSV path")
    parser.add_argument("--seed", type=int, default=20190101, help="random seed (default 20190101)")
    args = parser.parse_args(argv)
    write_csv(args.out, args.rows, args.seed)
    print(
        f"wrote {args.rows} rows to {args.out} ({args.out.stat().st_size} bytes)", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
