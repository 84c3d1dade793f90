"""Sizes, rates and counts as a person reads them, the same in the CLI, the service's messages and
the app (frontend/src/format.ts is the twin of this module; their tests pin the same outputs).

Sizes are binary: 1 KB is 1,024 bytes and 1 MB is 1,024 KB, as the settings count them
(MAX_UPLOAD_MB=500 is 500 x 1,024 x 1,024 bytes, so a file at the limit reads "500 MB"). Below
1 KB a size is whole bytes ("37 B"); above, one decimal at most ("1.2 MB", "500 MB").
Imports nothing of the service: the CLI, which talks to it over HTTP only, uses it too.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

UNITS = ("B", "KB", "MB", "GB", "TB")
STEP = 1024


def _rounded(amount: float, digits: int) -> Decimal:
    """Halves away from zero on the float's exact value, as the browser's Intl.NumberFormat."""
    return Decimal(amount).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_bytes(count: float) -> str:
    """`count` bytes: "37 B", "1.2 KB", "500 MB"."""
    amount = float(count)
    unit = 0
    while unit < len(UNITS) - 1 and abs(_rounded(amount, 1 if unit else 0)) >= STEP:
        amount /= STEP
        unit += 1
    shown = f"{_rounded(amount, 1 if unit else 0):,}".removesuffix(".0")
    return f"{shown} {UNITS[unit]}"


def format_rate(bytes_per_second: float) -> str:
    """A transfer rate: "3 B/s", "3.4 MB/s"."""
    return f"{format_bytes(bytes_per_second)}/s"


def format_count(count: int, singular: str, plural: str | None = None) -> str:
    """`count` things with grouped digits and the right word: "1 row", "2 rows", "1,234 rows"."""
    word = singular if count == 1 else (plural or f"{singular}s")
    return f"{count:,} {word}"
