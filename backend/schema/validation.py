"""GraphQL types of the validation report stored on a task."""

from __future__ import annotations

import strawberry

from backend.ingestion.schemas import ValidationReport as ReportModel
from backend.schema.scalars import Long


@strawberry.type
class ValidationSample:
    row: Long = strawberry.field(
        description="CSV line (header is line 1), Excel sheet row, or Parquet row"
    )
    value: str | None


@strawberry.type
class ValidationCheck:
    column: str | None
    check: str
    message: str
    failed: Long
    samples: list[ValidationSample]
    truncated: bool


@strawberry.type
class WrongTypeColumn:
    column: str
    expected: str


@strawberry.type(description="A change to the datasource's schema: made by the upload, or offered")
class SchemaChange:
    column: str
    kind: str = strawberry.field(description="add_column (may be empty) or widen (to float)")
    applied: bool
    resolution: str | None = strawberry.field(description="how to load the file, if not applied")


@strawberry.type
class SchemaProblems:
    missing: list[str]
    extra: list[str]
    extra_ignored: bool
    wrong_type: list[WrongTypeColumn]
    changes: list[SchemaChange]


@strawberry.type
class DatasetColumn:
    name: str
    type: str
    formats: list[str]
    required: bool


@strawberry.type
class ValidationReport:
    format: str
    encoding: str | None
    delimiter: str | None
    sheet: str | None
    row_label: str
    rows_read: Long
    rows_valid: Long
    rows_rejected: Long
    schema_problems: SchemaProblems
    checks: list[ValidationCheck]
    columns: list[DatasetColumn]
    time_column: str | None
    outcome: str | None

    @classmethod
    def of(cls, report: ReportModel) -> ValidationReport:
        problems = report.schema_problems
        return cls(
            format=report.format,
            encoding=report.encoding,
            delimiter=report.delimiter,
            sheet=report.sheet,
            row_label=report.row_label,
            rows_read=Long(report.rows_read),
            rows_valid=Long(report.rows_valid),
            rows_rejected=Long(report.rows_rejected),
            schema_problems=SchemaProblems(
                missing=problems.missing,
                extra=problems.extra,
                extra_ignored=problems.extra_ignored,
                wrong_type=[
                    WrongTypeColumn(column=w.column, expected=w.expected)
                    for w in problems.wrong_type
                ],
                changes=[
                    SchemaChange(
                        column=c.column, kind=c.kind, applied=c.applied, resolution=c.resolution
                    )
                    for c in problems.changes
                ],
            ),
            checks=[
                ValidationCheck(
                    column=c.column,
                    check=c.check,
                    message=c.message,
                    failed=Long(c.failed),
                    samples=[ValidationSample(row=Long(s.row), value=s.value) for s in c.samples],
                    truncated=c.truncated,
                )
                for c in report.checks
            ],
            columns=[
                DatasetColumn(name=c.name, type=c.type, formats=c.formats, required=c.required)
                for c in report.columns
            ],
            time_column=report.time_column,
            outcome=report.outcome,
        )
