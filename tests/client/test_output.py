"""Listings piped to another program: one tab-separated line per row, nothing wrapped, cut or
read as markup (rich's console wraps at 80 columns and expands tabs when not a terminal)."""

from __future__ import annotations

import io

from rich.console import Console

from backend.client.output import show


def test_a_piped_listing_is_one_tab_separated_line_per_row() -> None:
    buffer = io.StringIO()
    long_name = "quarterly_sales_" + "x" * 90 + ".csv"
    show(
        Console(file=buffer),
        ("task", "file", "error"),
        [("t1", long_name, "[bold]Quantity[/bold] must be at least 1")],
    )
    assert buffer.getvalue().splitlines() == [
        "task\tfile\terror",
        f"t1\t{long_name}\t[bold]Quantity[/bold] must be at least 1",
    ]
