"""A preview as `sales-ingest` prints it: the columns that would be stored (name, the file's
name, type, nullable, samples, the contract's rule), the first rows, and the command that loads
it."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from backend.client.options import command_line
from backend.client.output import changes_line, printable, show
from backend.units import format_count

ROWS_SHOWN = 10  # of the preview's first rows


def show_preview(task: dict[str, Any], out: Console, args: argparse.Namespace) -> None:
    """The preview, then the command that loads it as shown (the preview's own changes are kept
    by the service: confirming it loads what it showed)."""
    preview = (task.get("report") or {}).get("preview") or {}
    columns = preview.get("columns") or []
    out.print(
        f"preview of {task['filename']} -> {task['datasource']} (task {task['task_id']}): "
        f"{format_count(preview.get('rows_total', 0), 'row')} would be loaded; nothing was "
        "loaded."
    )
    out.print(
        f"time column: {preview.get('time_column') or 'none (the upload time)'}; dates: "
        f"{(preview.get('date_order') or 'no day/month dates').replace('_', ' ')}"
    )
    changes = changes_line(task.get("overrides"))
    if changes:
        out.print(changes)
    header = ("column", "from", "type", "nullable", "samples", "rule")
    show(out, header, [_column_row(c) for c in columns])
    names = tuple(printable(str(c["name"])) for c in columns)
    rows = preview.get("rows") or []
    show(out, names, [tuple(_cell(v) for v in row) for row in rows[:ROWS_SHOWN]])
    out.print(
        "to load it as shown (add --type COL=TYPE, --day-first, --rename OLD=NEW... to change it):"
    )
    out.print(f"  {command_line(['sales-ingest', 'confirm', task['task_id']], args)}")


def _column_row(column: dict[str, Any]) -> tuple[str, ...]:
    return (
        printable(str(column["name"])),
        printable(str(column.get("source_name") or column["name"])),
        str(column["type"]),
        "yes" if column.get("nullable") else "no",
        ", ".join(printable(str(s)) for s in column.get("samples") or []),
        printable(column.get("rule") or ""),
    )


def _cell(value: Any) -> str:
    return "" if value is None else printable(str(value))
