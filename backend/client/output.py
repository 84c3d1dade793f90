"""What the client prints: progress bars on stderr, a task's summary and tables on stdout."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

PROBLEMS_SHOWN = 10
SAID_SHOWN = 3  # a check's samples shown with their own sentence


def bars(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )


def progress_detail(data: dict[str, Any]) -> str:
    read, rejected = data.get("rows_read"), data.get("rows_rejected")
    said = str(data["status"])
    if read:
        said += f", {read:,} rows read"
    if rejected:
        said += f", {rejected:,} rejected"
    return said


def summarize(task: dict[str, Any], out: Console) -> None:
    out.print(
        f"{task['status']}: {task['filename']} -> {task['datasource']} (task {task['task_id']})"
    )
    if task.get("rows_read") is not None:
        out.print(
            f"rows: {task['rows_read']:,} read, {task['rows_valid']:,} valid, "
            f"{task['rows_rejected']:,} rejected"
        )
    if task.get("druid_datasource"):
        druid = task.get("druid_report") or {}
        out.print(f"druid: {task['druid_datasource']} {druid.get('status') or task['status']}")
    if task.get("trace_id"):
        out.print(f"trace: {task['trace_id']}")
    error = task.get("error")
    if error:
        out.print(f"error: {error['message']}")
        if error.get("detail"):
            out.print(f"  {error['detail']}")
    for line in problems(task.get("report")):
        out.print(f"  {line}")


def problems(report: dict[str, Any] | None) -> list[str]:
    """The report's first problems, with the line (or row) numbers of their samples."""
    if not report:
        return []
    label = report.get("row_label") or "row"
    found = []
    schema = report.get("schema_problems") or {}
    for kind in ("missing", "extra"):
        if schema.get(kind):
            found.append(f"{kind} column(s): {', '.join(schema[kind])}")
    for change in schema.get("changes") or []:
        what = "new column" if change["kind"] == "add_column" else "decimals, integer column"
        how = "applied" if change["applied"] else change.get("resolution")
        found.append(f"{change['column']}: {what}: {how}")
    for check in report.get("checks") or []:
        found += _check_lines(check, label)
    return found[:PROBLEMS_SHOWN]


def _check_lines(check: dict[str, Any], label: str) -> list[str]:
    """A failed check in the report's words (its sentence names the column), with the line
    numbers of its samples; a sample that says more (a derived column's expected value) gets a
    line of its own."""
    failed = check["failed"]
    rows = f"{failed:,} row" + ("" if failed == 1 else "s")
    samples = check.get("samples") or []
    plain = [s for s in samples if not s.get("message")]
    said = [s for s in samples if s.get("message")]
    where = ", ".join(
        f"{label} {s['row']}" + (f" ({s['value']!r})" if s.get("value") is not None else "")
        for s in plain
    )
    lines = [f"{_printable(check['message'])} ({rows})" + (f": {where}" if where else "")]
    lines += [f"  {label} {s['row']}: {_printable(s['message'])}" for s in said[:SAID_SHOWN]]
    return lines


def _printable(text: str) -> str:
    """A sentence that may quote a file's column names and values, with its control characters
    written as escapes (as the values listed with repr are): a value cannot steer the terminal."""
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) == "Cc" else ch
        for ch in text
    )


def show(out: Console, header: Sequence[str], rows: list[tuple[str, ...]]) -> None:
    """A table on a terminal; tab-separated lines, nothing cut, when piped."""
    if out.is_terminal:
        table = Table(*header)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    for row in [tuple(header), *rows]:
        out.print("\t".join(row))


def count_cell(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
