"""Request body limits at the ASGI level, for every route: a body is counted while it arrives,
so no framework code (Starlette's form parser spools GraphQL uploads to temporary files) ever
holds or writes more than the limit, with or without a Content-Length."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.units import format_bytes

log = logging.getLogger(__name__)
# Room for multipart headers and form fields besides the file itself.
FORM_OVERHEAD = 65_536


def json_answer(status: int, error: str, detail: str, code: str) -> tuple[Message, Message]:
    """A refusal sent from the ASGI level, in the one error shape, closing the connection."""
    body = json.dumps({"error": error, "detail": detail, "code": code}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


def _closing(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with one `connection: close` (an answer built by json_answer has it)."""
    return [(k, v) for k, v in headers if k.lower() != b"connection"] + [(b"connection", b"close")]


def _refusal(limit: int) -> tuple[Message, Message]:
    return json_answer(
        413,
        f"the request is larger than the limit of {format_bytes(limit)}",
        f"Split the file into parts under {format_bytes(limit)}, or raise MAX_UPLOAD_MB on the "
        "server.",
        "payload_too_large",
    )


def _too_slow(timeout: float, min_rate: int) -> tuple[Message, Message]:
    return json_answer(
        408,
        "the request body arrived too slowly",
        f"Send the whole body within {timeout:g} seconds plus one second per "
        f"{format_bytes(min_rate)}; on a slow link, raise BODY_READ_TIMEOUT_S or lower BODY_MIN_KB_PER_S on the server.",
        "request_timeout",
    )


@dataclass(frozen=True)
class BodyDeadline:
    """A body must arrive within `timeout` seconds plus its size at `min_rate` bytes a second:
    a client that sends a few bytes and waits holds nothing for long, a slow but live upload
    goes on."""

    timeout: float
    min_rate: int

    def left(self, started: float, received: int, now: float) -> float:
        return started + self.timeout + received / self.min_rate - now


# After a 413 the rest of the body is read and thrown away for at most this long (or this
# much), then the connection is closed: closing at once, with unread bytes, makes the kernel
# reset the connection, and the client may lose the 413 it was about to read ("lingering close",
# as nginx does it), while draining everything would read an unbounded body. uvicorn closes the
# connection the moment a `Connection: close` response is complete and stops delivering the body
# after that, so the 413's last body message is held back until the linger is over: the client
# has every byte of the answer (its Content-Length is met) while the server still reads.
LINGER_SECONDS = 2.0
LINGER_BYTES = 16 * 1024 * 1024
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


async def linger(receive: Receive) -> None:
    deadline = asyncio.get_running_loop().time() + LINGER_SECONDS
    drained = 0
    while drained < LINGER_BYTES:
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), left)
        except TimeoutError:
            return
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        drained += len(message.get("body", b""))


class BodyLimit:
    """Refuses a request body past `limit()` bytes with 413 the moment it gets there, or one
    that arrives slower than `deadline` with 408, and closes the connection after any refusal
    sent while the body is unread (a 401 before an upload is read, a 413) instead of reading
    (draining) the rest of the body."""

    def __init__(
        self,
        app: ASGIApp,
        limit: Callable[[], int],
        deadline: BodyDeadline | None = None,
        route_limit: Callable[[str], int | None] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.deadline = deadline
        # A route's own limit instead of `limit` (an upload session's part route: a part).
        self.route_limit = route_limit

    def limit_for(self, path: str) -> int:
        own = self.route_limit(path) if self.route_limit is not None else None
        return own if own is not None else self.limit()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await _BodyGuard(self, receive, send, self.limit_for(scope["path"])).run(scope)


class _BodyGuard:
    """One request's body under BodyLimit."""

    def __init__(self, owner: BodyLimit, receive: Receive, send: Send, limit: int) -> None:
        self.owner, self.receive, self.send = owner, receive, send
        self.base = limit
        self.limit = limit + FORM_OVERHEAD
        self.received = 0
        self.began: float | None = None
        self.started = self.refused = self.closing = self.held = self.left_early = False
        self.body_done = False

    def expects_body(self, scope: Scope) -> bool:
        headers = dict(scope["headers"])
        return b"transfer-encoding" in headers or headers.get(b"content-length", b"0") != b"0"

    async def run(self, scope: Scope) -> None:
        self.body_done = not self.expects_body(scope)
        try:
            await self.owner.app(scope, self.limited_receive, self.guarded_send)
        except Exception:
            if self.left_early:  # what the app raised on it (ClientDisconnect) is no fault
                return
            if not self.refused:
                raise
            log.info("a request body was refused (too large or too slow)")
        if self.held:
            await linger(self.receive)
            await self.send(_END)

    async def send_held(self, message: Message) -> None:
        """Sends a refusal's last body message as not-yet-last (see LINGER_SECONDS)."""
        if message["type"] == "http.response.body" and not message.get("more_body", False):
            if not self.body_done:
                self.held = True
                message = {**message, "more_body": True}
        await self.send(message)

    async def refuse(self, answer: tuple[Message, Message]) -> Message:
        self.refused = True
        if not self.started:
            for part in answer:
                await self.send_held(part)
        return {"type": "http.disconnect"}  # the app stops reading here

    async def next_message(self) -> Message | None:
        """The next message, or None when the body's deadline passed first."""
        deadline = self.owner.deadline
        if deadline is None or self.body_done:
            return await self.receive()
        loop = asyncio.get_running_loop()
        self.began = self.began if self.began is not None else loop.time()
        left = deadline.left(self.began, self.received, loop.time())
        try:
            return await asyncio.wait_for(self.receive(), max(left, 0.0))
        except TimeoutError:
            return None

    async def limited_receive(self) -> Message:
        if self.refused:
            return {"type": "http.disconnect"}
        message = await self.next_message()
        if message is None:
            deadline = self.owner.deadline
            assert deadline is not None
            log.info("a request body arrived too slowly (%d bytes); answered 408", self.received)
            return await self.refuse(_too_slow(deadline.timeout, deadline.min_rate))
        if message["type"] == "http.disconnect" and not self.body_done:
            if not self.left_early:
                log.info(
                    "the client left after sending %d bytes of the request body; the request "
                    "was abandoned",
                    self.received,
                )
            self.left_early = True
        elif message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            self.body_done = not message.get("more_body", False)
            if self.received > self.limit and not self.started:
                return await self.refuse(_refusal(self.base))
        return message

    async def guarded_send(self, message: Message) -> None:
        if self.refused:
            return  # our refusal went out; whatever the app answers after it is dropped
        if message["type"] == "http.response.start":
            self.started = True
            if message["status"] >= 400 and not self.body_done:
                self.closing = True
                message["headers"] = _closing(message.get("headers", []))
        if self.closing:
            await self.send_held(message)
        else:
            await self.send(message)


class SmallBodies:
    """Bodies to the routes under `prefix` (/api/auth/: anyone may call them) are read whole
    within `cap` bytes before any route parses them: past it 413 at once when the
    Content-Length says so, else the moment the count passes it (BodyLimit, outside, then closes
    the connection without reading the rest). A sign-in needs a few hundred bytes; parsing a
    450 MB JSON body took seconds and gigabytes."""

    def __init__(self, app: ASGIApp, prefix: str, cap: int) -> None:
        self.app, self.prefix, self.cap = app, prefix, cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        try:
            body = await self._body(Headers(scope=scope), receive)
        except _TooLarge:
            with contextlib.suppress(OSError):
                for message in _too_large_for_sign_in(self.cap):
                    await send(message)
            return
        if body is not None:
            await self.app(scope, replay(body, receive), send)

    async def _body(self, headers: Headers, receive: Receive) -> bytes | None:
        """The whole body; None when the client left (or BodyLimit refused it: its answer is
        sent); _TooLarge past the cap."""
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.cap:
            raise _TooLarge
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > self.cap:
                raise _TooLarge
            if not message.get("more_body", False):
                return b"".join(parts)


class _TooLarge(Exception):
    pass


def _too_large_for_sign_in(cap: int) -> tuple[Message, Message]:
    return json_answer(
        413,
        f"the request is larger than the limit of {format_bytes(cap)} for signing in",
        "Send only the fields the route takes (a name and a password to sign in), or raise "
        "AUTH_MAX_BODY_KB on the server.",
        "payload_too_large",
    )


def replay(body: bytes, receive: Receive) -> Receive:
    """The body read, as one message; then the client's own messages (a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay
