"""Bounds of every page request (limit and offset), checked where pages are read, so REST,
GraphQL and any other caller get the same coded error instead of an overflow deep inside."""

from __future__ import annotations

from backend.errors import InvalidInput

MAX_OFFSET = 1_000_000_000


def check_page(limit: int, offset: int, max_limit: int) -> None:
    if not 1 <= limit <= max_limit:
        raise InvalidInput(
            f"limit must be between 1 and {max_limit} (got {limit})",
            f"Ask for at most {max_limit} items and page with offset.",
        )
    if not 0 <= offset <= MAX_OFFSET:
        raise InvalidInput(
            f"offset must be between 0 and {MAX_OFFSET:,} (got {offset})",
            "Use the next_offset (or endCursor) of the previous page.",
        )
