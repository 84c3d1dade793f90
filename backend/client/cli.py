"""`sales-ingest`: upload files to a running service and follow them, list tasks and datasources.

    sales-ingest upload data.csv --datasource sales
    sales-ingest tasks [--datasource NAME] [--status failed]
    sales-ingest status TASK_ID
    sales-ingest datasources

Talks to the service over HTTP only (REST, Server-Sent Events, GraphQL), so it works against any
deployment. Exit codes: 0 success, 1 the upload failed validation (or was cancelled), 2 a usage,
access or connection problem. Progress goes to stderr, results to stdout (`--json` for scripts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import httpx
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

from backend.client import sse

OK, FAILED, USAGE = 0, 1, 2
DEFAULT_URL = "http://127.0.0.1:8000"
TOKEN_FILE = Path("var/admin-token")  # written by `make run` on first start
FINAL = {"succeeded", "failed", "cancelled"}
PROBLEMS_SHOWN = 10
RECONNECTS = 5


class Stop(Exception):
    """Ends the command with `code` after printing `message` (to stderr)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Api:
    def __init__(self, url: str, token: str | None, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=timeout)
        self.url = url

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Stop(USAGE, f"cannot reach {self.url}: {exc}") from exc
        check(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.call(method, path, **kwargs).json()

    def graphql(self, query: str) -> dict[str, Any]:
        body = self.json("POST", "/graphql", json={"query": query})
        if body.get("errors"):
            raise Stop(USAGE, f"the service refused the query: {body['errors'][0]['message']}")
        data: dict[str, Any] = body["data"]
        return data


def check(response: httpx.Response) -> None:
    """An error answer becomes a Stop with the service's own message and advice."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        said = body.get("error") or str(body)
        detail = body.get("detail")
    except ValueError:
        said, detail = response.text[:200] or response.reason_phrase, None
    message = f"{response.status_code}: {said}" + (f" ({detail})" if detail else "")
    if response.status_code == 401:
        message += "\nPass --token, or set SALES_INGEST_TOKEN."
    raise Stop(USAGE, message)


class Counting:
    """A file that reports how many bytes were read from it (httpx streams the upload from it)."""

    def __init__(self, file: IO[bytes], on_read: Callable[[int], None]) -> None:
        self.file = file
        self.on_read = on_read

    def read(self, size: int = -1) -> bytes:
        chunk = self.file.read(size)
        self.on_read(len(chunk))
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.file.seek(offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    def fileno(self) -> int:
        return self.file.fileno()


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


def upload(api: Api, args: argparse.Namespace, out: Console, err: Console) -> int:
    path: Path = args.file
    if not path.is_file():
        raise Stop(USAGE, f"{path}: no such file")
    fields = {"datasource_name": args.datasource, "mode": args.mode, "on_invalid": args.on_invalid}
    fields |= {
        k: str(v)
        for k, v in (
            ("max_invalid_ratio", args.max_invalid_ratio),
            ("sheet", args.sheet),
            ("time_column", args.time_column),
            ("evolve", ",".join(args.evolve) if args.evolve else None),
        )
        if v is not None
    }
    with bars(err) as progress:
        sending = progress.add_task("upload", total=path.stat().st_size, detail="")
        with path.open("rb") as raw:
            body = Counting(raw, lambda n: progress.advance(sending, n))
            accepted = api.json(
                "POST",
                "/api/ingest/upload",
                files={"file": (path.name, body)},
                data=fields,
                params={"force": "true"} if args.force else None,
            )
        task_id = accepted["task_id"]
        err.print(f"task {task_id}: {accepted['message']}")
        follow(api, task_id, progress, err)
    final = api.json("GET", f"/api/ingest/status/{task_id}")
    if args.rejected is not None and final.get("rejected_rows_url"):
        save_rejected(api, task_id, args.rejected, err)
    if args.json:
        print(json.dumps(final))
    else:
        summarize(final, out)
    return OK if final["status"] == "succeeded" else FAILED


def follow(api: Api, task_id: str, progress: Progress, err: Console) -> None:
    """The task's phases and rows, live from the SSE stream, until it is final (resuming with
    Last-Event-ID when the connection drops)."""
    working = progress.add_task("process", total=1.0, detail="queued", visible=False)
    last = ""
    for _ in range(RECONNECTS):
        headers = {"Last-Event-ID": last} if last else {}
        try:
            for message in stream(api, task_id, headers):
                last = message.id or last
                data = message.data
                detail = _rows(data)
                progress.update(working, completed=data["progress"], detail=detail, visible=True)
                if message.event == "event":
                    event = data["event"]
                    err.print(f"  {event['status']}: {event['message']}")
                if data.get("final"):
                    return
        except httpx.TransportError:
            continue
        status = api.json("GET", f"/api/ingest/status/{task_id}")["status"]
        if status in FINAL:
            return
    raise Stop(USAGE, f"lost the task's updates {RECONNECTS} times; see `status {task_id}`")


def stream(api: Api, task_id: str, headers: dict[str, str]) -> Iterator[sse.Message]:
    timeout = httpx.Timeout(api.client.timeout.connect, read=60.0)  # keep-alives every 15 s
    with api.client.stream(
        "GET", f"/api/ingest/tasks/{task_id}/events", headers=headers, timeout=timeout
    ) as response:
        if response.status_code >= 400:
            response.read()
            check(response)
        yield from sse.messages(response.iter_lines())


def _rows(data: dict[str, Any]) -> str:
    read, rejected = data.get("rows_read"), data.get("rows_rejected")
    said = str(data["status"])
    if read:
        said += f", {read:,} rows read"
    if rejected:
        said += f", {rejected:,} rejected"
    return said


def save_rejected(api: Api, task_id: str, target: Path, err: Console) -> None:
    try:
        with api.client.stream("GET", f"/api/ingest/tasks/{task_id}/rejected") as response:
            if response.status_code >= 400:
                response.read()
                check(response)
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise Stop(USAGE, f"cannot download the rejected rows: {exc}") from exc
    err.print(f"rejected rows written to {target}")


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
        samples = ", ".join(
            f"{label} {s['row']}" + (f" ({s['value']!r})" if s.get("value") is not None else "")
            for s in check.get("samples") or []
        )
        found.append(f"{check['column']}: {check['message']}, {check['failed']} row(s): {samples}")
    return found[:PROBLEMS_SHOWN]


def tasks(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    params = {"limit": str(args.limit)}
    if args.datasource:
        params["datasource"] = args.datasource
    if args.status:
        params["status"] = args.status
    page = api.json("GET", "/api/ingest/tasks", params=params)
    if args.json:
        print(json.dumps(page))
        return OK
    show(
        out,
        ("task", "status", "datasource", "file", "rows valid", "rejected", "created"),
        [
            (
                task["task_id"],
                task["status"],
                task["datasource"],
                task["filename"],
                _count(task["rows_valid"]),
                _count(task["rows_rejected"]),
                task["created_at"][:19],
            )
            for task in page["items"]
        ],
    )
    out.print(f"{len(page['items'])} of {page['total']} task(s)")
    return OK


def status(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    task = api.json("GET", f"/api/ingest/status/{args.task_id}")
    if args.json:
        print(json.dumps(task))
    else:
        summarize(task, out)
    return OK


DATASOURCES = "{ datasources { name rowCount timeStart timeEnd lastIngestion } }"


def datasources(api: Api, args: argparse.Namespace, out: Console, _err: Console) -> int:
    found = api.graphql(DATASOURCES)["datasources"]
    if args.json:
        print(json.dumps(found))
        return OK
    show(
        out,
        ("datasource", "rows", "data from", "data to", "last ingestion"),
        [
            (
                source["name"],
                _count(source["rowCount"]),
                (source["timeStart"] or "")[:19],
                (source["timeEnd"] or "")[:19],
                (source["lastIngestion"] or "")[:19],
            )
            for source in found
        ],
    )
    return OK


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


def _count(value: int | None) -> str:
    return "" if value is None else f"{value:,}"


def common_options() -> argparse.ArgumentParser:
    """Options taken before or after the command (`sales-ingest --url U tasks` or `tasks --url
    U`): no defaults here, so one place cannot undo the other (resolved in run_command)."""
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    common.add_argument(
        "--url", help=f"the service (default: $SALES_INGEST_URL, else {DEFAULT_URL})"
    )
    common.add_argument(
        "--token", help=f"API token (default: $SALES_INGEST_TOKEN, else {TOKEN_FILE} if readable)"
    )
    common.add_argument("--timeout", type=float, help="seconds per request (default 300)")
    common.add_argument("--json", action="store_true", help="print JSON on stdout, for scripts")
    return common


def parser(prog: str = "sales-ingest") -> argparse.ArgumentParser:
    common = common_options()
    top = argparse.ArgumentParser(
        prog=prog,
        parents=[common],
        description=__doc__.splitlines()[0] if __doc__ else "",
    )
    commands = top.add_subparsers(dest="command", required=True)
    add_client_commands(commands, common)
    return top


def add_client_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """The client's subcommands, also offered by `python -m backend`."""
    send = commands.add_parser("upload", parents=[common], help="upload a file and follow it")
    send.add_argument("file", type=Path)
    send.add_argument("--datasource", required=True)
    send.add_argument("--mode", choices=("append", "replace"), default="append")
    send.add_argument("--on-invalid", choices=("reject", "skip"), default="reject")
    send.add_argument("--max-invalid-ratio", type=float)
    send.add_argument("--sheet", help="Excel: the sheet to read")
    send.add_argument("--time-column")
    send.add_argument(
        "--evolve",
        action="append",
        choices=("add_columns", "widen"),
        help="inferred datasources: let this file add columns / widen integers to float "
        "(repeat for both)",
    )
    send.add_argument("--force", action="store_true", help="load even if already uploaded")
    send.add_argument("--rejected", type=Path, help="write the rejected rows (CSV) here")
    send.set_defaults(run=upload)
    listing = commands.add_parser("tasks", parents=[common], help="list recent tasks")
    listing.add_argument("--datasource")
    listing.add_argument("--status")
    listing.add_argument("--limit", type=int, default=20, choices=range(1, 201), metavar="1..200")
    listing.set_defaults(run=tasks)
    one = commands.add_parser("status", parents=[common], help="one task, with its report")
    one.add_argument("task_id")
    one.set_defaults(run=status)
    names = commands.add_parser("datasources", parents=[common], help="datasources and rows")
    names.set_defaults(run=datasources)


def token_for(args: argparse.Namespace) -> str | None:
    given = getattr(args, "token", None) or os.environ.get("SALES_INGEST_TOKEN")
    if given:
        return str(given).strip()
    try:
        return TOKEN_FILE.read_text().strip() or None
    except OSError:
        return None


def run_command(args: argparse.Namespace) -> int:
    # markup off: file names, messages and values are shown as they are
    out = Console(markup=False, highlight=False, soft_wrap=True)
    err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
    url = getattr(args, "url", None) or os.environ.get("SALES_INGEST_URL") or DEFAULT_URL
    args.json = getattr(args, "json", False)
    api = Api(url, token_for(args), getattr(args, "timeout", 300.0))
    try:
        code: int = args.run(api, args, out, err)
        return code
    except Stop as stop:
        err.print(f"error: {stop.message}")
        return stop.code
    except KeyboardInterrupt:
        err.print("interrupted (an accepted upload goes on on the server)")
        return USAGE
    finally:
        api.client.close()


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(parser().parse_args(argv))


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
