"""Schema evolution: the only changes a datasource's schema takes after its first upload are
the ones that leave every row already loaded valid and readable as it was: a new column that
may be empty (earlier rows have no value for it), and an integer column widened to float.

They come two ways: an upload to an inferred datasource with `evolve=add_columns|widen` (the file
shows the change), or `updateDatasourceContract` / `PATCH /api/datasources/{name}` (declared and
inferred contracts). Each change gives the schema a new version, kept in its definition with
what changed, when and by which task or person."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backend.contracts.types import ColumnType
from backend.errors import InvalidInput

# The one widening: every integer is a float (Int64 values up to 2**53 exactly).
WIDER: dict[ColumnType, ColumnType] = {ColumnType.INTEGER: ColumnType.FLOAT}


class Evolve(enum.StrEnum):
    ADD_COLUMNS = "add_columns"  # columns the datasource lacks are added (nullable)
    WIDEN = "widen"  # integer columns whose values have decimals become float


def parse_evolve(text: str | None) -> tuple[Evolve, ...]:
    """`evolve` as sent in a form or a query string: names separated by commas."""
    if not text or not text.strip():
        return ()
    found: list[Evolve] = []
    for part in text.split(",")[:4]:
        name = part.strip().lower()
        try:
            found.append(Evolve(name))
        except ValueError:
            raise InvalidInput(
                f"evolve {name[:30]!r} is not known",
                "Send evolve=add_columns, evolve=widen or evolve=add_columns,widen.",
            ) from None
    return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Change:
    """One change to a datasource's schema."""

    column: str
    kind: str  # "add_column" or "widen"
    type: ColumnType  # the column's type after the change

    def as_dict(self) -> dict[str, Any]:
        return {"column": self.column, "kind": self.kind, "type": self.type.value}


def version_of(definition: dict[str, Any]) -> int:
    return int(definition.get("version") or 1)


def apply(
    definition: dict[str, Any],
    added: Sequence[dict[str, Any]],
    widened: Sequence[str],
    *,
    by: str,
    at: str,
) -> tuple[dict[str, Any], list[Change]]:
    """`definition` (a stored schema: inferred or declared) with the columns `added` (column
    definitions, made nullable) and the columns `widened`; its version goes up by one when
    anything changed. Changes already made (a column that exists, a column already wide) are
    skipped, so two uploads evolving the same way at once agree. Raises InvalidInput for a
    change that would not leave every loaded row valid."""
    columns = [dict(c) for c in definition.get("columns", [])]
    by_name = {str(c["name"]).strip().casefold(): c for c in columns}
    changes = [*_widen(by_name, widened), *_add(columns, by_name, added)]
    if not changes:
        return definition, []
    version = version_of(definition) + 1
    for change in changes:
        if change.kind == "add_column":
            by_name[change.column.strip().casefold()]["added_in"] = version
    history = list(definition.get("versions") or [])
    history.append(
        {
            "version": version,
            "at": at,
            "by": by,
            "changes": [c.as_dict() for c in changes],
        }
    )
    return {**definition, "columns": columns, "version": version, "versions": history}, changes


def _widen(by_name: dict[str, dict[str, Any]], widened: Sequence[str]) -> list[Change]:
    """Widen the columns named `widened` in place (in `by_name`, by folded name)."""
    changes: list[Change] = []
    for name in widened:
        column = by_name.get(name.strip().casefold())
        if column is None:
            raise InvalidInput(f"column {name[:128]!r} is not in the datasource", _LIST_THEM)
        current = ColumnType(column["type"])
        if current in WIDER.values():
            continue  # already wide (widened by another upload meanwhile)
        wider = WIDER.get(current)
        if wider is None:
            raise InvalidInput(
                f"column {name[:128]!r} is {current.value}: only integer columns can be widened "
                "(to float)",
                "Anything else would change values already loaded: upload to a new datasource.",
            )
        column["type"] = wider.value
        changes.append(Change(str(column["name"]), "widen", wider))
    return changes


def _add(
    columns: list[dict[str, Any]],
    by_name: dict[str, dict[str, Any]],
    added: Sequence[dict[str, Any]],
) -> list[Change]:
    """Append the columns `added` the schema lacks to `columns` (and `by_name`), as nullable."""
    changes: list[Change] = []
    for new in added:
        name = str(new["name"])
        if name.strip().casefold() in by_name:
            continue  # there already (added by another upload meanwhile)
        if new.get("required"):
            raise InvalidInput(
                f"new column {name[:128]!r} cannot be required: the rows already loaded have no "
                "value for it",
                "Add it as a column that may be empty (required: false).",
            )
        column = {**new, "required": False}
        columns.append(column)
        by_name[name.strip().casefold()] = column
        changes.append(Change(name, "add_column", ColumnType(column["type"])))
    return changes


_LIST_THEM = (
    "The datasource's columns are listed by GraphQL's datasource(name) and "
    "GET /api/datasources/{name}."
)
