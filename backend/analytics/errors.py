"""Expected analytics failures, each saying what to change."""

from __future__ import annotations

from backend.errors import InvalidInput, NotFound


class UnknownDatasource(NotFound):
    code = "unknown_datasource"

    def __init__(self, name: str, known: list[str]) -> None:
        listed = ", ".join(known[:20]) or "none yet: upload a file first"
        super().__init__(f"no datasource named {name[:80]!r}", f"Known datasources: {listed}.")


class UnknownColumn(InvalidInput):
    code = "unknown_column"

    def __init__(self, column: str, datasource: str, known: list[str]) -> None:
        super().__init__(
            f"datasource {datasource!r} has no column {column[:80]!r}",
            f"Use one of: {', '.join(known[:60])}.",
        )


class BadRange(InvalidInput):
    code = "bad_range"
