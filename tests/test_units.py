"""backend/units.py: the sizes, rates and counts the CLI and the service's messages print; the
same outputs as frontend/src/format.test.ts pins for the app."""

from __future__ import annotations

import pytest

from backend.units import format_bytes, format_count, format_rate


@pytest.mark.parametrize(
    ("count", "shown"),
    [
        (0, "0 B"),
        (37, "37 B"),
        (525, "525 B"),
        (1023, "1,023 B"),
        (1024, "1 KB"),
        (1536, "1.5 KB"),
        (1310720, "1.3 MB"),
        (1048575, "1 MB"),
        (500 * 1024 * 1024, "500 MB"),
        (12.345 * 1024**3, "12.3 GB"),
    ],
)
def test_sizes_read_in_b_kb_mb_with_one_decimal_at_most(count: float, shown: str) -> None:
    assert format_bytes(count) == shown


def test_rates_are_per_second_and_counts_take_the_right_word() -> None:
    assert format_rate(3) == "3 B/s"
    assert format_rate(3.4 * 1024 * 1024) == "3.4 MB/s"
    assert format_count(0, "row") == "0 rows"
    assert format_count(1, "row") == "1 row"
    assert format_count(2, "row") == "2 rows"
    assert format_count(1234, "row") == "1,234 rows"
    assert format_count(1, "entry", "entries") == "1 entry"
    assert format_count(3, "entry", "entries") == "3 entries"
