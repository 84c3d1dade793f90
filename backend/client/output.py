"""What the client prints: progress bars on stderr, a task's summary and tables on stdout."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, Task, TaskProgressColumn, TextColumn
from rich.table import Column, Table
from rich.text import Text

from backend.client import advice
from backend.units import format_bytes, format_count, format_rate

PROBLEMS_SHOWN = 10
SAID_SHOWN = 3  # a check's samples shown with their own sentence
BAR_WIDTH = 20


class DetailColumn(ProgressColumn):
    """What a bar stands for, in the units of backend.units: "1.2 MB of 2.6 MB, 3.4 MB/s, 3 s
    left" while sending, the task's phase and rows while processing. One line whatever the
    terminal's width: cut with an ellipsis rather than wrapped under the bar."""

    def __init__(self) -> None:
        super().__init__(table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1))

    def render(self, task: Task) -> Text:
        if task.fields.get("sizes"):
            return Text(sent_detail(task.completed, task.total, task.speed), no_wrap=True)
        return Text(str(task.fields.get("detail", "")), no_wrap=True)


def sent_detail(sent: float, total: float | None, speed: float | None) -> str:
    said = f"{format_bytes(sent)} of {format_bytes(total or 0)}"
    if speed:
        said += f", {format_rate(speed)}"
        if total and sent < total:
            said += f", {time_left((total - sent) / speed)}"
    return said


def time_left(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s left"
    return f"{round(seconds / 60)} min left"


def bars(console: Console) -> Progress:
    """One line per bar (the sending of the file, then its processing) that fits the terminal:
    an 80-column one holds the label, a bar of BAR_WIDTH, the percentage and the detail."""
    return Progress(
        TextColumn("{task.description}", table_column=Column(no_wrap=True, min_width=10)),
        BarColumn(bar_width=BAR_WIDTH),
        TaskProgressColumn(),
        DetailColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=False,
    )


def progress_detail(data: dict[str, Any]) -> str:
    read, rejected = data.get("rows_read"), data.get("rows_rejected")
    said = str(data["status"])
    if read:
        said += f", {format_count(read, 'row')} read"
    if rejected:
        said += f", {rejected:,} rejected"
    return said


def summarize(task: dict[str, Any], out: Console, command: str = "upload") -> None:
    """The task's outcome, its changes and its problems; advice in `command`'s flags."""
    out.print(
        f"{task['status']}: {task['filename']} -> {task['datasource']} (task {task['task_id']})"
    )
    if task.get("rows_read") is not None:
        out.print(
            f"rows: {task['rows_read']:,} read, {task['rows_valid']:,} valid, "
            f"{task['rows_rejected']:,} rejected"
        )
    if task.get("dry_run"):
        out.print("A preview: nothing was loaded.")
    changes = changes_line(task.get("overrides"))
    if changes:
        out.print(changes)
    if task.get("druid_datasource"):
        druid = task.get("druid_report") or {}
        out.print(f"druid: {task['druid_datasource']} {druid.get('status') or task['status']}")
    if task.get("trace_id"):
        out.print(f"trace: {task['trace_id']}")
    error = task.get("error")
    if error:
        out.print(f"error: {error['message']}")
        for line in advice.error_lines(error, command):
            out.print(f"  {line}")
    for line in problems(task.get("report"), command):
        out.print(f"  {line}")


def changes_line(overrides: dict[str, Any] | None) -> str | None:
    """A task's overrides (the changes asked after a preview) as a sentence; None without any."""
    if not overrides:
        return None
    said = [f"{printable(str(c))} read as {t}" for c, t in (overrides.get("types") or {}).items()]
    said += [
        f"{printable(str(c))} stored as {printable(str(n))}"
        for c, n in (overrides.get("rename") or {}).items()
    ]
    said += [f"{printable(str(c))} left out" for c in overrides.get("drop") or ()]
    if overrides.get("date_order"):
        said.append(f"dates read {str(overrides['date_order']).replace('_', ' ')}")
    return f"Changes asked after the preview: {'; '.join(said)}." if said else None


def problems(report: dict[str, Any] | None, command: str = "upload") -> list[str]:
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
        how = (
            "applied"
            if change["applied"]
            else advice.in_cli_words(str(change.get("resolution")), command)
        )
        found.append(f"{change['column']}: {what}: {how}")
    for check in report.get("checks") or []:
        found += _check_lines(check, label)
    return found[:PROBLEMS_SHOWN]


def _check_lines(check: dict[str, Any], label: str) -> list[str]:
    """A failed check in the report's words (its sentence names the column), with the line
    numbers of its samples; a sample that says more (a derived column's expected value) gets a
    line of its own."""
    failed = check["failed"]
    rows = format_count(failed, "row")
    samples = check.get("samples") or []
    plain = [s for s in samples if not s.get("message")]
    said = [s for s in samples if s.get("message")]
    where = ", ".join(
        f"{label} {s['row']}" + (f" ({s['value']!r})" if s.get("value") is not None else "")
        for s in plain
    )
    lines = [f"{printable(check['message'])} ({rows})" + (f": {where}" if where else "")]
    lines += [f"  {label} {s['row']}: {printable(s['message'])}" for s in said[:SAID_SHOWN]]
    return lines


def printable(text: str) -> str:
    """A sentence that may quote a file's column names and values, with its control characters
    written as escapes (as the values listed with repr are): a value cannot steer the terminal."""
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) == "Cc" else ch
        for ch in text
    )


def show(out: Console, header: Sequence[str], rows: list[tuple[str, ...]]) -> None:
    """A table on a terminal; tab-separated lines, nothing cut, when piped. Cells are text, never
    rich markup (a file may be named "[bold].csv")."""
    if out.is_terminal:
        table = Table(*header)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))
        out.print(table)
        return
    for row in [tuple(header), *rows]:
        # Written as they are: the console would wrap at its width and expand the tabs.
        out.file.write("\t".join(row) + "\n")


def listing(
    out: Console,
    page: dict[str, Any],
    as_json: bool,
    header: Sequence[str],
    rows: list[tuple[str, ...]],
    noun: str,
) -> None:
    """A page of a listing: the service's JSON as it is with --json, else a table of `rows` and
    how many of the total it shows ("3 of 12 tasks")."""
    if as_json:
        print(json.dumps(page))
        return
    show(out, header, rows)
    out.print(f"{len(page['items']):,} of {format_count(page['total'], noun)}")


def count_cell(value: int | None) -> str:
    return "" if value is None else f"{value:,}"
