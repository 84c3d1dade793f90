"""An alert's measure and filters, and a report's query, checked against its datasource's columns
when the action is saved, so a misspelt column is told at once rather than at the first run. A
datasource without data yet is checked when the action runs."""

from __future__ import annotations

from typing import Any

from backend.actions.models import ActionKind
from backend.actions.schemas import AlertParams, ReportParams
from backend.analytics.errors import UnknownDatasource
from backend.analytics.query_input import build_query
from backend.analytics.service import Analytics
from backend.workbooks.documents import WidgetQuery


def _query_of(kind: str, params: dict[str, Any]) -> WidgetQuery | None:
    if kind == ActionKind.ALERT.value:
        alert = AlertParams.model_validate(params)
        return WidgetQuery(
            datasource=alert.datasource,
            measures=[alert.measure],
            filters=list(alert.filters),
            limit=1,
        )
    if kind == ActionKind.REPORT.value:
        return ReportParams.model_validate(params).query
    return None


async def check_columns(kind: str, params: dict[str, Any], analytics: Analytics | None) -> None:
    """Raises UnknownColumn (422, naming the columns the datasource has) or another InvalidInput
    of the query model when the action's query could not run."""
    query = _query_of(kind, params)
    if analytics is None or query is None:
        return
    try:
        columns = await analytics.columns(query.datasource)
    except UnknownDatasource:
        return
    if columns:  # none known before its first file: checked when the action runs
        build_query(query, columns)
