"""`sales-ingest upload` of a large file through the service's upload sessions: the file's
sha256, a session, its parts PUT in parallel straight to storage (a presigned S3 address, or the
service's own signed one with the local folder), then complete. `--resume` finds the open
session of the same file and sends only the parts the service lacks.

Memory stays flat whatever the file's size: every read is one CHUNK at an offset (`os.pread`),
so a worker holds one chunk of its part at a time."""

from __future__ import annotations

import argparse
import base64
import hashlib
import math
import os
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
from rich.console import Console
from rich.progress import Progress, TaskID

from backend.client.api import USAGE, Api, Stop, check
from backend.client.options import command_line, upload_fields
from backend.units import format_bytes, format_count

CHUNK = 1024 * 1024
URL_BATCH = 100  # the most part addresses one request may ask for
ATTEMPTS = 5  # per part: the first try and four retries
BACKOFF_SECONDS = 0.5  # doubled after each failed try
# A part the service says is being written (429 with Retry-After: another request, or one that
# stopped less than 30 s ago) is sent again when it says, for this long at most; complete waits
# likewise while a part is still being written (409 with Retry-After).
BUSY_WAIT_SECONDS = 120.0


PARTS_ABOVE_MB = 64.0  # default of --parts-above
PARTS_ABOVE_ENV = "SALES_INGEST_PARTS_ABOVE_MB"
MAX_PARALLEL = 32


def megabytes(text: str) -> float:
    """--parts-above: a size in MiB, 0 or more (0: every file goes in parts)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1024 * 1024:  # NaN fails too
        raise argparse.ArgumentTypeError(
            f"must be a number of MB from 0 to {1024 * 1024:,} (got {text!r}); 0 sends every "
            "file in parts"
        )
    return value


def parallel(text: str) -> int:
    """--parallel: how many parts are sent at once."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_PARALLEL:
        raise argparse.ArgumentTypeError(
            f"must be a whole number from 1 to {MAX_PARALLEL} (got {text!r})"
        )
    return int(text)


def parts_above_mb(args: argparse.Namespace) -> float:
    """--parts-above, else $SALES_INGEST_PARTS_ABOVE_MB, else PARTS_ABOVE_MB."""
    if args.parts_above is not None:
        return float(args.parts_above)
    text = os.environ.get(PARTS_ABOVE_ENV, "").strip()
    if not text:
        return PARTS_ABOVE_MB
    try:
        return megabytes(text)
    except argparse.ArgumentTypeError as exc:
        raise Stop(USAGE, f"${PARTS_ABOVE_ENV} {exc}") from None


class Interrupted(Exception):
    """Raised inside a part's body when the upload stops (Ctrl-C or another part failed)."""


class PartFailed(Exception):
    """A part the storage refused for good, or that failed ATTEMPTS times."""


@dataclass(frozen=True)
class Part:
    number: int
    offset: int
    size: int


@dataclass
class Grant:
    """Where and how to PUT one part, as POST /api/uploads/{id}/parts answers it."""

    url: str
    headers: dict[str, str]


def parts_of(session: dict[str, Any]) -> list[Part]:
    """The parts of a session: part_size bytes each, the last one the remainder."""
    size, part_size = int(session["size"]), int(session["part_size"])
    return [
        Part(n, (n - 1) * part_size, min(part_size, size - (n - 1) * part_size))
        for n in range(1, int(session["part_count"]) + 1)
    ]


def chunks(fd: int, offset: int, size: int, stop: threading.Event | None = None) -> Iterator[bytes]:
    """`size` bytes of the file from `offset`, CHUNK at a time."""
    end = offset + size
    while offset < end:
        if stop is not None and stop.is_set():
            raise Interrupted()
        data = os.pread(fd, min(CHUNK, end - offset), offset)
        if not data:
            raise PartFailed("the file became shorter while it was being sent; send it again")
        offset += len(data)
        yield data


def file_sha256(fd: int, size: int, progress: Progress) -> str:
    bar = progress.add_task("checksum", total=size, sizes=True)
    digest = hashlib.sha256()
    for data in chunks(fd, 0, size):
        digest.update(data)
        progress.advance(bar, len(data))
    return digest.hexdigest()


def part_sha256(fd: int, part: Part) -> str:
    """The part's sha256 in base64, as S3's x-amz-checksum-sha256 header carries it."""
    digest = hashlib.sha256()
    for data in chunks(fd, part.offset, part.size):
        digest.update(data)
    return base64.b64encode(digest.digest()).decode("ascii")


def resume_command(args: argparse.Namespace) -> str:
    """The command that continues this upload (the token is not repeated: it is a secret)."""
    words = ["sales-ingest", "upload", str(args.file), "--datasource", args.datasource]
    tail = ["--rejected", str(args.rejected)] if args.rejected is not None else []
    if args.json:
        tail.append("--json")
    tail.append("--resume")
    return command_line(words, args, tail)


class Sender:
    """PUTs parts in parallel, retrying a failed one with backoff (a new address when the
    storage says the old one expired)."""

    def __init__(
        self, api: Api, session_id: str, fd: int, parallel: int, progress: Progress, bar: TaskID
    ) -> None:
        self.api, self.session_id, self.fd = api, session_id, fd
        self.parallel, self.progress, self.bar = parallel, progress, bar
        self.stop = threading.Event()
        limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=parallel)
        # no token: a part's address is authorised by its own signature
        self.client = httpx.Client(timeout=api.client.timeout, limits=limits)

    def grants(self, parts: list[Part]) -> dict[int, Grant]:
        body = {"parts": [{"number": p.number, "sha256": part_sha256(self.fd, p)} for p in parts]}
        answer = self.api.json("POST", f"/api/uploads/{self.session_id}/parts", json=body)
        return {
            int(g["number"]): Grant(str(g["url"]), dict(g.get("headers") or {}))
            for g in answer["parts"]
        }

    def send(self, parts: list[Part]) -> None:
        """Sends `parts`, asking their addresses in batches a little ahead of the workers (an
        address is valid minutes only). The workers are daemon threads: Ctrl-C ends the command
        at once, even with a part waiting for its answer."""
        todo: queue.Queue[tuple[Part, Grant] | None] = queue.Queue()
        done: queue.Queue[BaseException | None] = queue.Queue()
        workers = [
            threading.Thread(target=self.work, args=(todo, done), daemon=True, name=f"part-{n}")
            for n in range(self.parallel)
        ]
        for worker in workers:
            worker.start()
        batch, queued = min(URL_BATCH, self.parallel * 4), 0
        try:
            for start in range(0, len(parts), batch):
                while queued > self.parallel:  # the next addresses when they are soon needed
                    queued -= settle(done)
                group = parts[start : start + batch]
                granted = self.grants(group)
                for part in group:
                    todo.put((part, granted[part.number]))
                    queued += 1
            while queued:
                queued -= settle(done)
            self.client.close()
        except BaseException:
            self.stop.set()
            raise
        finally:
            for _ in workers:
                todo.put(None)

    def work(
        self, todo: queue.Queue[tuple[Part, Grant] | None], done: queue.Queue[BaseException | None]
    ) -> None:
        while (item := todo.get()) is not None:
            try:
                if self.stop.is_set():
                    raise Interrupted()
                self.put(*item)
            except BaseException as exc:  # noqa: BLE001 - handed to the main thread
                done.put(exc)
            else:
                done.put(None)

    def put(self, part: Part, grant: Grant) -> None:
        delay, problem, tries = BACKOFF_SECONDS, "", 0
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        while True:
            sent, busy = [0], None
            try:
                response = self.client.put(
                    grant.url,
                    content=self.counted(part, sent),
                    headers={**grant.headers, "Content-Length": str(part.size)},
                )
            except httpx.TransportError as exc:
                if self.stop.is_set():
                    raise Interrupted() from exc
                problem = f"the connection failed ({exc})"
            else:
                if response.status_code < 300:
                    return
                problem = self.refusal(part, response)
                busy = retry_after(response) if response.status_code == 429 else None
                if response.status_code == 403:  # expired: a new address for it
                    grant = self.grants([part])[part.number]
            self.progress.advance(self.bar, -sent[0])
            if busy is None or time.monotonic() + busy > deadline:
                tries += 1
                if tries >= ATTEMPTS:
                    raise PartFailed(f"part {part.number} failed {ATTEMPTS} times: {problem}")
                busy, delay = delay, delay * 2
            if self.stop.wait(busy):
                raise Interrupted()

    def refusal(self, part: Part, response: httpx.Response) -> str:
        """What went wrong, for a retry; raises for an answer that a retry cannot change."""
        said = f"HTTP {response.status_code}: {response.text[:200]}"
        if response.status_code in (403, 408, 429) or response.status_code >= 500:
            return said
        raise PartFailed(f"part {part.number} was refused ({said})")

    def counted(self, part: Part, sent: list[int]) -> Iterator[bytes]:
        for data in chunks(self.fd, part.offset, part.size, self.stop):
            yield data
            sent[0] += len(data)
            self.progress.advance(self.bar, len(data))


def settle(done: queue.Queue[BaseException | None]) -> int:
    """Waits for one part's outcome (1); a failed part ends the upload."""
    failure = done.get()
    if failure is not None:
        raise failure
    return 1


def session_fields(args: argparse.Namespace, name: str, size: int, sha256: str) -> dict[str, Any]:
    """POST /api/uploads's body: the file and the options, as the upload form takes them."""
    fields: dict[str, Any] = {
        "filename": name,
        "size": size,
        "sha256": sha256,
        "datasource_name": args.datasource,
        "force": bool(args.force),
        **upload_fields(args),
    }
    if "max_invalid_ratio" in fields:
        fields["max_invalid_ratio"] = float(fields["max_invalid_ratio"])
    fields["dry_run"] = "dry_run" in fields  # a preview: nothing is loaded
    return fields


def open_session(
    api: Api, args: argparse.Namespace, name: str, size: int, sha256: str, err: Console
) -> dict[str, Any]:
    """A new session, or with --resume the open one of the same file (a Stop without one)."""
    if not args.resume:
        session = api.json("POST", "/api/uploads", json=session_fields(args, name, size, sha256))
        err.print(
            f"upload {session['id']}: {format_count(session['part_count'], 'part')} of "
            f"{format_bytes(session['part_size'])}, {args.parallel:,} at a time"
        )
        return session
    found = api.json("GET", "/api/uploads", params={"status": "open"})
    for item in found["items"]:
        same = (item["filename"], item["size"], item["sha256"], item["datasource_name"])
        if same == (name, size, sha256, args.datasource):
            return api.json("GET", f"/api/uploads/{item['id']}")
    raise Stop(
        USAGE,
        f"There is no unfinished upload of {args.file} to datasource {args.datasource} to resume "
        "(it may have expired, been completed, or the file changed since). To upload it from the "
        f"start, run the same command without --resume.",
    )


def missing_parts(session: dict[str, Any]) -> list[Part]:
    """The parts the service does not have (or has with a wrong size)."""
    have = {int(p["number"]): int(p["size"]) for p in session.get("parts") or []}
    return [p for p in parts_of(session) if have.get(p.number) != p.size]


def send_file(
    api: Api, args: argparse.Namespace, name: str, size: int, progress: Progress, err: Console
) -> dict[str, Any]:
    """Uploads the file through a session (or resumes one); returns the completion's answer,
    the single-request upload's one (a task id, or the duplicate)."""
    try:
        fd = os.open(args.file, os.O_RDONLY)
    except OSError as exc:
        raise Stop(USAGE, f"{args.file}: cannot read it ({exc.strerror or exc})") from exc
    try:
        sha256 = file_sha256(fd, size, progress)
        session = open_session(api, args, name, size, sha256, err)
        missing = missing_parts(session)
        if args.resume:
            count = session["part_count"]
            err.print(
                f"upload {session['id']}: the service has {count - len(missing):,} of "
                f"{format_count(count, 'part')}; sending the {len(missing):,} missing"
            )
        send_parts(api, args, session, missing, fd, progress, err)
    finally:
        os.close(fd)
    return complete(api, args, session, sha256)


def send_parts(
    api: Api,
    args: argparse.Namespace,
    session: dict[str, Any],
    missing: list[Part],
    fd: int,
    progress: Progress,
    err: Console,
) -> None:
    held = session["size"] - sum(p.size for p in missing)
    bar = progress.add_task("sending", total=session["size"], completed=held, sizes=True)
    sender = Sender(api, session["id"], fd, args.parallel, progress, bar)
    try:
        sender.send(missing)
    except KeyboardInterrupt:
        raise Stop(USAGE, f"The upload was interrupted. {continue_with(args)}") from None
    except (PartFailed, Interrupted) as exc:
        raise Stop(USAGE, f"The upload stopped: {exc}. {continue_with(args)}") from exc
    except Stop as stop:
        raise Stop(stop.code, f"{stop.message}\n{continue_with(args)}") from stop
    sent = sum(p.size for p in missing)
    err.print(
        f"upload {session['id']}: sent {format_count(len(missing), 'part')} ({format_bytes(sent)})"
    )


def continue_with(args: argparse.Namespace) -> str:
    return f"To continue it from the parts the service has, run: {resume_command(args)}"


def complete(
    api: Api, args: argparse.Namespace, session: dict[str, Any], sha256: str
) -> dict[str, Any]:
    advice = {409: continue_with(args) + "."}
    path, body = f"/api/uploads/{session['id']}/complete", {"sha256": sha256, "parts": None}
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        answer = api.call("POST", path, json=body, unchecked=True)
        wait = retry_after(answer) if busy(answer) else None
        if wait is None or time.monotonic() + wait > deadline:
            break
        time.sleep(wait)  # a part is still being written: complete once it ends
    check(answer, api.token, advice, api.command)
    try:
        accepted: dict[str, Any] = answer.json()
    except ValueError:
        raise Stop(
            USAGE, f"{api.url} did not answer {path} with JSON; is --url the service's address?"
        ) from None
    return accepted


def busy(response: httpx.Response) -> bool:
    """A complete refused only while a part is still being written (409 with Retry-After)."""
    return response.status_code == 409 and "retry-after" in response.headers


def retry_after(response: httpx.Response) -> float | None:
    """The seconds a Retry-After header asks for (a number; at least 1, at most 60)."""
    text = response.headers.get("retry-after", "").strip()
    try:
        return min(60.0, max(1.0, float(text))) if text else None
    except ValueError:
        return None
