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


def test_counts_have_grouped_digits_and_the_right_word() -> None:
    import argparse

    import pytest

    from backend.client.output import problems, progress_detail
    from backend.client.preview_view import show_preview
    from backend.client.resumable import parallel

    check = {"message": "Quantity must be at least 1.", "failed": 1, "samples": []}
    many = {**check, "failed": 1234}
    assert problems({"checks": [check, many]}) == [
        "Quantity must be at least 1. (1 row)",
        "Quantity must be at least 1. (1,234 rows)",
    ]
    assert progress_detail({"status": "validating", "rows_read": 1, "rows_rejected": 1234}) == (
        "validating, 1 row read, 1,234 rejected"
    )
    buffer = io.StringIO()
    task = {"filename": "a.csv", "datasource": "d", "task_id": "t1"}
    one = {**task, "report": {"preview": {"columns": [], "rows": [], "rows_total": 1}}}
    show_preview(one, Console(file=buffer, width=300), argparse.Namespace())
    assert "1 row would be loaded; nothing was loaded." in buffer.getvalue()
    with pytest.raises(argparse.ArgumentTypeError, match=r"from 1 to 32 \(got '40'\)"):
        parallel("40")
