"""GraphQL types of the validation report stored on a task, derived from the REST models
(backend.ingestion.schemas): a field is added there once. Counts are Long here."""

from __future__ import annotations

from strawberry.experimental import pydantic
from strawberry.scalars import JSON

from backend.ingestion import preview_out, schemas
from backend.schema.scalars import Long


@pydantic.type(model=schemas.Sample, all_fields=True)
class ValidationSample:
    row: Long


@pydantic.type(model=schemas.CheckOut, all_fields=True)
class ValidationCheck:
    failed: Long


@pydantic.type(model=schemas.WrongType, all_fields=True)
class WrongTypeColumn:
    pass


@pydantic.type(
    model=schemas.SchemaChange,
    all_fields=True,
    description="A change to the datasource's schema: made by the upload, or offered",
)
class SchemaChange:
    pass


@pydantic.type(model=schemas.SchemaProblemsOut, all_fields=True)
class SchemaProblems:
    pass


@pydantic.type(model=schemas.ColumnOut, all_fields=True)
class DatasetColumn:
    pass


@pydantic.type(
    model=preview_out.PreviewColumnOut,
    all_fields=True,
    description="A column as a preview shows it: what would be stored",
)
class PreviewColumn:
    nulls: Long
    distinct_estimate: Long


@pydantic.type(
    model=preview_out.PreviewOverridesOut,
    all_fields=True,
    description="The changes confirmed from a preview",
)
class PreviewOverrides:
    types: JSON
    rename: JSON


@pydantic.type(
    model=preview_out.PreviewOut,
    all_fields=True,
    description="A dry run's preview: nothing was loaded",
)
class Preview:
    rows_total: Long


@pydantic.type(model=schemas.ValidationReport, all_fields=True)
class ValidationReport:
    rows_read: Long
    rows_valid: Long
    rows_rejected: Long
