"""`sales-ingest upload`: send a file, follow its task over Server-Sent Events until it is
final, save its rejected rows, print the outcome."""

from __future__ import annotations

import argparse
import json
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx
from rich.console import Console
from rich.progress import Progress

from backend.client import advice, resumable, sse
from backend.client.api import FAILED, OK, USAGE, Api, Stop
from backend.client.options import upload_fields
from backend.client.output import bars, progress_detail, summarize
from backend.client.preview_view import show_preview

FINAL = {"succeeded", "failed", "cancelled"}
RECONNECTS = 5


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


def upload(api: Api, args: argparse.Namespace, out: Console, err: Console) -> int:
    path: Path = args.file
    size = upload_size(path)
    if args.rejected is not None:
        check_target(args.rejected)
    with bars(err) as progress:
        if args.resume or in_parts(size, resumable.parts_above_mb(args)):
            accepted = resumable.send_file(api, args, upload_name(path), size, progress, err)
        else:
            accepted = send_whole(api, args, size, progress)
        task_id = accepted["task_id"]
        err.print(f"task {task_id}: {advice.duplicate_message(accepted)}")
        follow(api, task_id, progress, err)
    return finish(api, task_id, args, out, err)


def finish(
    api: Api,
    task_id: str,
    args: argparse.Namespace,
    out: Console,
    err: Console,
    command: str = "upload",
) -> int:
    """Print the final task: its preview (a dry run that succeeded) or its summary, in
    `command`'s words; save its rejected rows when asked (--rejected)."""
    final = api.json("GET", f"/api/ingest/status/{task_id}")
    if args.rejected is not None and final.get("rejected_rows_url"):
        save_rejected(api, task_id, args.rejected, err)
    if args.json:
        print(json.dumps(final))
    elif final.get("dry_run") and final["status"] == "succeeded":
        show_preview(final, out, args)
    else:
        summarize(final, out, command)
    return OK if final["status"] == "succeeded" else FAILED


def in_parts(size: int, parts_above_mb: float) -> bool:
    """Whether the file goes through an upload session: larger than --parts-above MiB (0:
    every file)."""
    return size > parts_above_mb * 1024 * 1024 or (parts_above_mb == 0 and size > 0)


def send_whole(api: Api, args: argparse.Namespace, size: int, progress: Progress) -> dict[str, Any]:
    """The file in one request (POST /api/ingest/upload); the service's answer."""
    fields = {"datasource_name": args.datasource, **upload_fields(args)}
    sending = progress.add_task("sending", total=size, sizes=True)
    with opened(args.file) as raw:
        body = Counting(raw, lambda n: progress.advance(sending, n))
        return api.json(
            "POST",
            "/api/ingest/upload",
            files={"file": (upload_name(args.file), body)},
            data=fields,
            params={"force": "true"} if args.force else None,
        )


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
    working = progress.add_task("processing", total=1.0, detail="queued", visible=False)
    last = ""
    for _ in range(RECONNECTS):
        headers = {"Last-Event-ID": last} if last else {}
        try:
            for message in stream(api, task_id, headers):
                last = message.id or last
                data = message.data
                detail = progress_detail(data)
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
