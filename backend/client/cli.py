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
import math
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
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
MAX_TIMEOUT = 86_400.0  # a day: larger values overflow the socket's timeout
TASK_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the service's ids are 32 hex digits
TOKEN_ADVICE = "an admin creates tokens with `python -m backend tokens create`"


class Stop(Exception):
    """Ends the command with `code` after printing `message` (to stderr)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Token:
    value: str
    source: str  # where it came from, for messages: --token, $SALES_INGEST_TOKEN or the file


class Api:
    def __init__(self, url: str, token: Token | None, timeout: float) -> None:
        headers = {"Authorization": f"Bearer {token.value}"} if token else {}
        self.client = httpx.Client(base_url=url, headers=headers, timeout=timeout)
        self.url = url
        self.token = token

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise Stop(USAGE, f"cannot reach {self.url}: {exc}") from exc
        self.check(response)
        return response

    def json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """The answer's JSON object; a Stop when it is none (--url is not the service)."""
        response = self.call(method, path, **kwargs)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            kind = response.headers.get("content-type") or "no content type"
            raise Stop(
                USAGE,
                f"{self.url} did not answer {path} with a JSON object (HTTP "
                f"{response.status_code}, {kind}); is --url the service's address?",
            )
        return body

    def check(self, response: httpx.Response) -> None:
        check(response, self.token)

    def graphql(self, query: str) -> dict[str, Any]:
        body = self.json("POST", "/graphql", json={"query": query})
        if body.get("errors"):
            raise Stop(USAGE, f"the service refused the query: {body['errors'][0]['message']}")
        data: dict[str, Any] = body["data"]
        return data


def check(response: httpx.Response, token: Token | None) -> None:
    """An error answer becomes a Stop with the service's own message and advice (a redirect
    too: the client does not follow them, so --url should be the address redirected to)."""
    if response.status_code < 300:
        return
    if response.status_code < 400:
        where = response.headers.get("location") or "elsewhere"
        raise Stop(
            USAGE,
            f"{response.status_code}: {response.url} redirects to {where}; "
            "pass the service's own address as --url",
        )
    try:
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
        said = body.get("error") or str(body)
        detail = body.get("detail")
    except ValueError:
        said, detail = response.text[:200] or response.reason_phrase, None
    message = f"{response.status_code}: {said}" + (f" ({detail})" if detail else "")
    if response.status_code == 401:
        message += "\n" + refused(token)
    raise Stop(USAGE, message)


def refused(token: Token | None) -> str:
    """Advice for a 401: no token was sent, or the one sent was not accepted."""
    if token is None:
        return f"Pass --token, or set SALES_INGEST_TOKEN ({TOKEN_ADVICE})."
    return (
        f"The token from {token.source} was refused: it is wrong, revoked or expired. "
        f"Check it, or use a new one ({TOKEN_ADVICE})."
    )


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
    size = upload_size(path)
    if args.rejected is not None:
        check_target(args.rejected)
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
        sending = progress.add_task("upload", total=size, detail="")
        with opened(path) as raw:
            body = Counting(raw, lambda n: progress.advance(sending, n))
            accepted = api.json(
                "POST",
                "/api/ingest/upload",
                files={"file": (upload_name(path), body)},
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


def upload_size(path: Path) -> int:
    """The size of the file to upload, or a Stop saying why it cannot be sent."""
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise Stop(USAGE, f"{path}: no such file") from exc
    except OSError as exc:
        raise Stop(USAGE, f"{path}: cannot read it ({exc.strerror or exc})") from exc
    if stat.S_ISDIR(info.st_mode):
        raise Stop(USAGE, f"{path} is a directory; give the file to upload (CSV, Excel, Parquet)")
    if not stat.S_ISREG(info.st_mode):
        raise Stop(USAGE, f"{path} is not a regular file; give the file to upload")
    return info.st_size


def opened(path: Path) -> IO[bytes]:
    try:
        return path.open("rb")
    except OSError as exc:
        raise Stop(USAGE, f"{path}: cannot read it ({exc.strerror or exc})") from exc


def upload_name(path: Path) -> str:
    """The file's name as sent: bytes that are not UTF-8 (possible in POSIX names) become U+FFFD
    instead of failing the request."""
    return path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def check_target(target: Path) -> None:
    """--rejected must name a file in an existing folder: checked before uploading."""
    if target.is_dir():
        raise Stop(USAGE, f"--rejected {target} is a directory; give a file name to write")
    if not target.parent.is_dir():
        raise Stop(USAGE, f"--rejected {target}: there is no folder {target.parent}")


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
        except (ValueError, KeyError, TypeError) as exc:  # not the service's event stream
            raise Stop(
                USAGE, f"the task's updates are not readable ({exc!r}); see `status {task_id}`"
            ) from exc
        status = api.json("GET", f"/api/ingest/status/{task_id}")["status"]
        if status in FINAL:
            return
    raise Stop(USAGE, f"lost the task's updates {RECONNECTS} times; see `status {task_id}`")


def stream(api: Api, task_id: str, headers: dict[str, str]) -> Iterator[sse.Message]:
    timeout = httpx.Timeout(api.client.timeout.connect, read=60.0)  # keep-alives every 15 s
    with api.client.stream(
        "GET", f"/api/ingest/tasks/{task_id}/events", headers=headers, timeout=timeout
    ) as response:
        if response.status_code >= 300:
            response.read()
            api.check(response)
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
            if response.status_code >= 300:
                response.read()
                api.check(response)
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise Stop(USAGE, f"cannot download the rejected rows: {exc}") from exc
    except OSError as exc:
        raise Stop(USAGE, f"cannot write the rejected rows to {target}: {exc.strerror}") from exc
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


def seconds(text: str) -> float:
    """--timeout: a number of seconds, more than 0 and at most a day."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_TIMEOUT:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"must be more than 0 and at most {MAX_TIMEOUT:,.0f} seconds (got {text})"
        )
    return value


def ratio(text: str) -> float:
    """--max-invalid-ratio: a share from 0 to 1."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1, e.g. 0.05 (got {text!r})")
    return value


def task_id(text: str) -> str:
    """A task id as the service prints them (letters, digits, _ and -): anything else would
    change the request's path."""
    if not TASK_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a task id (the 32-character id that upload and tasks print)"
        )
    return text


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
    common.add_argument("--timeout", type=seconds, help="seconds per request (default 300)")
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
    send.add_argument("--max-invalid-ratio", type=ratio, help="with --on-invalid skip: 0 to 1")
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
    one.add_argument("task_id", type=task_id)
    one.set_defaults(run=status)
    names = commands.add_parser("datasources", parents=[common], help="datasources and rows")
    names.set_defaults(run=datasources)


def token_for(args: argparse.Namespace) -> Token | None:
    """The token from --token, else $SALES_INGEST_TOKEN, else var/admin-token (if readable)."""
    given: str | None = getattr(args, "token", None)
    if given is not None:
        return checked_token(given, "--token")
    if os.environ.get("SALES_INGEST_TOKEN"):
        return checked_token(os.environ["SALES_INGEST_TOKEN"], "$SALES_INGEST_TOKEN")
    try:
        saved = TOKEN_FILE.read_bytes()
    except OSError:
        return None
    if not saved.strip():
        return None
    return checked_token(saved.decode("ascii", "replace"), str(TOKEN_FILE))


def checked_token(text: str, source: str) -> Token:
    """A token is printable ASCII without spaces (it goes in an HTTP header); the message does
    not repeat it (it is a secret)."""
    value = text.strip()
    if not value:
        raise Stop(USAGE, f"the token in {source} is empty")
    if not all("!" <= char <= "~" for char in value):
        raise Stop(
            USAGE,
            f"the token in {source} is not valid: tokens are printable ASCII without spaces "
            f"(copy it again; {TOKEN_ADVICE})",
        )
    return Token(value, source)


def url_for(args: argparse.Namespace) -> str:
    """The service's address from --url, else $SALES_INGEST_URL, else the default."""
    given: str | None = getattr(args, "url", None)
    if given is not None:
        return checked_url(given, "--url")
    if os.environ.get("SALES_INGEST_URL"):
        return checked_url(os.environ["SALES_INGEST_URL"], "$SALES_INGEST_URL")
    return DEFAULT_URL


def checked_url(text: str, source: str) -> str:
    """An http(s) base address with a host and nothing the client would silently use: user
    info (httpx would send it as basic auth instead of the token), a query or a fragment."""
    text = text.strip()
    advice = f"give the service's address, e.g. {DEFAULT_URL}"
    if not text:
        raise Stop(USAGE, f"{source} is empty; {advice}")
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, ValueError) as exc:  # the text may hold a password: not repeated
        raise Stop(USAGE, f"{source} is not a valid URL ({exc}); {advice}") from exc
    if url.userinfo:
        raise Stop(
            USAGE,
            f"{source} has a user name or password in it (user:password@); the service takes "
            "a token instead: pass it with --token or $SALES_INGEST_TOKEN",
        )
    if url.scheme not in ("http", "https"):
        raise Stop(USAGE, f"{source} {text!r} must start with http:// or https://; {advice}")
    if not url.host:
        raise Stop(USAGE, f"{source} {text!r} has no host name; {advice}")
    try:
        url.host.encode("idna")  # what the resolver does: labels of 1 to 63 characters
    except UnicodeError as exc:
        raise Stop(USAGE, f"{source} {text!r}: the host name is not valid ({exc})") from exc
    if url.port is not None and not 0 < url.port < 65536:
        raise Stop(USAGE, f"{source} {text!r}: the port must be from 1 to 65535")
    if url.query or url.fragment:
        raise Stop(USAGE, f"{source} {text!r} must not have a ?query or #fragment; {advice}")
    return text


def check_text(args: argparse.Namespace) -> None:
    """Option values must be text the request can carry: arguments with bytes that are not
    UTF-8 (possible on POSIX) are refused here rather than failing inside httpx."""
    for name, value in vars(args).items():
        if isinstance(value, str) and not encodable(value):
            raise Stop(USAGE, f"--{name.replace('_', '-')} is not valid text (bytes not UTF-8)")


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def run_command(args: argparse.Namespace) -> int:
    # markup off: file names, messages and values are shown as they are
    out = Console(markup=False, highlight=False, soft_wrap=True)
    err = Console(stderr=True, markup=False, highlight=False, soft_wrap=True)
    args.json = getattr(args, "json", False)
    api: Api | None = None
    try:
        check_text(args)
        api = Api(url_for(args), token_for(args), getattr(args, "timeout", 300.0))
        code: int = args.run(api, args, out, err)
        return code
    except Stop as stop:
        err.print(f"error: {stop.message}")
        return stop.code
    except KeyError as exc:  # an answer without a field the service always sends
        where = api.url if api else "the service"
        err.print(f"error: the answer of {where} has no {exc}; is --url the service's address?")
        return USAGE
    except KeyboardInterrupt:
        err.print("interrupted (an accepted upload goes on on the server)")
        return USAGE
    finally:
        if api is not None:
            api.client.close()


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(parser().parse_args(argv))


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
