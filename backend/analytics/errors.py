"""Expected analytics failures, each saying what to change."""

from __future__ import annotations

from backend.errors import InvalidInput, NotFound, ServiceUnavailable


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


class UnsupportedQuery(InvalidInput):
    code = "unsupported_query"


class EngineUnavailable(ServiceUnavailable):
    """The engine serving dashboards (Druid in warehouse mode) cannot answer now."""

    code = "engine_unavailable"

    def __init__(self, reason: str) -> None:
        super().__init__(
            f"the analytics engine cannot answer: {reason}",
            "Try again shortly; an admin can switch the Sigma mode to standalone to serve "
            "dashboards from the embedded engine meanwhile.",
        )


class MissingColumns(InvalidInput):
    """A field computed from columns the datasource does not have."""

    code = "missing_columns"

    def __init__(self, field: str, datasource: str, needs: list[str], missing: list[str]) -> None:
        super().__init__(
            f"{field} needs the column(s) {', '.join(repr(c) for c in needs)}; datasource "
            f"{datasource!r} has no {', '.join(repr(c) for c in missing)}",
            "Query a datasource with sales columns, leave out the filters on columns it lacks, "
            "or use rows, rowCount and analytics(query), which work on any datasource.",
        )
