"""Query strings as routes read them: a parameter that takes one value is given once (FastAPI
would keep the last of several without a word), and no value holds a NUL character (PostgreSQL's
text cannot)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from backend.errors import InvalidInput


def one_value_each(*repeatable: str) -> Callable[[Request], None]:
    """A dependency refusing a query parameter given more than once, except `repeatable`."""

    def check(request: Request) -> None:
        items = request.query_params.multi_items()
        if any("\x00" in value for _, value in items):
            raise InvalidInput("a query parameter holds the NUL character", "Send printable text.")
        seen = [key for key, _ in items if key not in repeatable]
        repeated = sorted({key for key in seen if seen.count(key) > 1})
        if repeated:
            raise InvalidInput(
                f"the query parameter {repeated[0][:40]!r} is given more than once",
                "Give it once.",
            )

    return check
