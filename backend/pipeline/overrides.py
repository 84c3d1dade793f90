"""A preview's overrides applied to a file: columns renamed or dropped on the header (before the
schema is inferred or the contract's columns matched), then types and date order on the schema.

A datasource whose columns are already fixed (a contract, or an inferred datasource's first
upload) keeps its types: an override to another type is refused in words."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import polars as pl

from backend.contracts.schema import ColumnSpec, DatasetSchema, match_columns
from backend.contracts.types import DATE_FORMATS, DATETIME_FORMATS, ColumnType
from backend.pipeline.options import DateOrder, Overrides
from backend.pipeline.outcome import Failure
from backend.pipeline.report import Report
from backend.pipeline.sources.base import ReadError, Source, SourceInfo, quoted

_MONTH_FIRST = "%m/%d"
_DAY_FIRST = "%d/%m"
_DATED = (ColumnType.DATE, ColumnType.DATETIME)


def renamed_header(header: list[str], overrides: Overrides) -> list[str]:
    """The header once dropped columns are gone and renamed ones carry their new names."""
    rename, drop = dict(overrides.rename), set(overrides.drop)
    unknown = [name for name in [*rename, *drop] if name not in header]
    if unknown:
        raise ReadError(
            f"the overrides name {', '.join(repr(n) for n in unknown[:10])}, which the file's "
            "header does not have",
            f"Name columns of the file: {', '.join(repr(h) for h in header[:30])}.",
        )
    return [rename.get(name, name) for name in header if name not in drop]


class OverriddenSource:
    """A source whose header and batches have the overrides' renames and drops."""

    def __init__(self, source: Source, overrides: Overrides) -> None:
        self._source = source
        self._overrides = overrides
        self.info: SourceInfo = source.info
        self.header = renamed_header(source.header, overrides)

    def batches(self) -> Iterator[pl.DataFrame]:
        rename, drop = dict(self._overrides.rename), list(self._overrides.drop)
        for batch in self._source.batches():
            yield batch.drop(drop).rename(rename)


def with_header_overrides(source: Source, overrides: Overrides) -> Source:
    if not overrides.rename and not overrides.drop:
        return source
    return OverriddenSource(source, overrides)


def ordered(formats: tuple[str, ...], kind: ColumnType, order: DateOrder | None) -> tuple[str, ...]:
    """A date column's formats read in `order`: 1/5/2019 is May 1 when the day comes first."""
    if order is None or kind not in _DATED:
        return formats
    chosen = formats or (DATE_FORMATS if kind is ColumnType.DATE else DATETIME_FORMATS)
    old, new = (
        (_MONTH_FIRST, _DAY_FIRST) if order is DateOrder.DAY_FIRST else (_DAY_FIRST, _MONTH_FIRST)
    )
    return tuple(dict.fromkeys(f.replace(old, new) for f in chosen))


def typed_columns(
    columns: list[ColumnSpec], overrides: Overrides, header: list[str]
) -> list[ColumnSpec]:
    """Inferred columns with the types and date order the overrides ask for (`header` as
    renamed; types are named by the file's own header names or the new names)."""
    wanted = _types_by_column(overrides, header)
    changed = []
    for spec in columns:
        kind = wanted.get(spec.name, spec.type)
        formats = spec.formats if kind is spec.type and not _is_epoch(spec) else ()
        changed.append(
            ColumnSpec(
                spec.name,
                kind,
                ordered(formats, kind, overrides.date_order),
                spec.required,
                spec.added_in,
            )
        )
    return changed


def on_fixed_schema(
    schema: DatasetSchema, overrides: Overrides, header: list[str]
) -> DatasetSchema:
    """A fixed schema (a contract's, or a datasource's columns so far) with the date order
    asked; a type other than the schema's is refused."""
    match = match_columns(header, schema)
    by_name = {c.name: c for c in schema.columns}
    for name, kind in _types_by_column(overrides, header).items():
        spec = by_name.get(match.mapping.get(name, name))
        if spec is not None and spec.type is not kind:
            raise ReadError(
                f"column {name!r} must be {spec.type.value} in the {schema.contract} contract "
                f"of this datasource; the overrides ask for {kind.value}",
                "Leave the column's type as the datasource has it, or load the file into a new "
                "datasource (datasource_name) whose columns this file will set.",
            )
    if overrides.date_order is None:
        return schema
    columns = [
        ColumnSpec(
            c.name,
            c.type,
            ordered(c.formats, c.type, overrides.date_order),
            c.required,
            c.added_in,
        )
        for c in schema.columns
    ]
    return dataclasses.replace(schema, columns=columns)


def _types_by_column(overrides: Overrides, header: list[str]) -> dict[str, ColumnType]:
    rename = dict(overrides.rename)
    found: dict[str, ColumnType] = {}
    for name, kind in overrides.types:
        target = rename.get(name, name)
        if target not in header:
            raise ReadError(
                f"the overrides give a type to {name!r}, which is not a column of the file",
                f"Name columns of the file: {', '.join(repr(h) for h in header[:30])}.",
            )
        found[target] = ColumnType(kind)
    return found


# What a value of each type is, for saying that none of a column's values is one.
_ONE_OF = {
    ColumnType.INTEGER: "a whole number",
    ColumnType.FLOAT: "a number",
    ColumnType.BOOLEAN: "true or false",
    ColumnType.DATE: "a date",
    ColumnType.TIME: "a time of day",
    ColumnType.DATETIME: "a date and time",
    ColumnType.STRING: "text",
}


def refused_type(report: Report, schema: DatasetSchema, overrides: Overrides) -> Failure | None:
    """A type the overrides asked for that none of the column's values has, in words naming
    the column, the type and some values (a schema inferred from this file: a datasource's
    fixed one refuses another type before any row is read)."""
    if not schema.inferred or not overrides.types:
        return None
    wrong = {p["column"] for p in report.schema.wrong_type}
    rename = dict(overrides.rename)
    for name, kind in overrides.types:
        column = rename.get(name, name)
        if column not in wrong:
            continue
        checked = report.checks.get((column, f"type:{kind}"))
        values = [quoted(str(s["value"])) for s in (checked.samples if checked else [])]
        such = f" (such as {', '.join(values[:3])})" if values else ""
        return Failure(
            "type_override_refused",
            f"the type {kind} asked for column {name!r} cannot apply: none of its values"
            f"{such} is {_ONE_OF[ColumnType(kind)]}",
            f"Leave {name!r} out of overrides.types to keep the type the preview found, or "
            "ask for a type its values have.",
        )
    return None


def _is_epoch(spec: ColumnSpec) -> bool:
    return spec.formats[:1] in (("epoch_s",), ("epoch_ms",))


def date_order_of(schema: DatasetSchema) -> DateOrder | None:
    """How the schema's dates with slashes are read: month first, day first, or None (no such
    date)."""
    for spec in schema.columns:
        for fmt in spec.formats if spec.type in _DATED else ():
            if fmt.startswith(_MONTH_FIRST):
                return DateOrder.MONTH_FIRST
            if fmt.startswith(_DAY_FIRST):
                return DateOrder.DAY_FIRST
    return None
