"""Whole numbers written by users (query parameters, headers, form fields), parsed safely.

`str.isdigit()` is true for '²' and other digits `int()` refuses (a 500), and `int()` of
thousands of digits raises too; user text is a count only when it is a few ASCII digits."""

from __future__ import annotations


def ascii_count(text: str | None, max_digits: int = 18) -> int | None:
    """`text` as a whole number when it is 1 to `max_digits` ASCII digits (no sign, no
    spaces), else None."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
