"""The contract a datasource keeps between uploads: its stored schema record, read as the
schema an upload is checked against, and evolved when an upload or an admin widens it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from backend.contracts import evolution
from backend.contracts.declared import DECLARED, Declaration
from backend.contracts.sales import SALES, sales_schema
from backend.contracts.schema import DatasetSchema
from backend.db import Base, UTCDateTime, utcnow


class DatasourceSchema(Base):
    """The columns, types and time column of a datasource, fixed by its first upload."""

    __tablename__ = "datasource_schemas"

    datasource: Mapped[str] = mapped_column(String(64), primary_key=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    source_task_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


async def known_schema(session: AsyncSession, datasource: str) -> DatasetSchema | None:
    stored = await session.get(DatasourceSchema, datasource)
    if stored is None:
        return None
    if stored.definition.get("contract") == SALES or datasource == SALES:
        return sales_schema()  # every check, the unique key included
    if stored.definition.get("contract") == DECLARED:
        return Declaration.from_definition(stored.definition).schema()
    return DatasetSchema.from_dict(stored.definition)


def evolve_stored(stored: DatasourceSchema, evolved: DatasetSchema, by: str) -> None:
    """Applies `evolved.changes` (an upload's evolve=...) to the stored schema record, as
    validation.evolution does for updateDatasourceContract: a new version when anything changed."""
    columns = {c.name: c for c in evolved.columns}
    added = [columns[c.column].as_dict() for c in evolved.changes if c.kind == "add_column"]
    widened = [c.column for c in evolved.changes if c.kind == "widen"]
    definition, changes = evolution.apply(
        stored.definition, added, widened, by=by, at=utcnow().isoformat()
    )
    if changes:
        stored.definition = definition  # a new dict: the JSON column is written
