"""Request body limits at the ASGI level, for every route: a body is counted while it arrives,
so no framework code (Starlette's form parser spools GraphQL uploads to temporary files) ever
holds or writes more than the limit, with or without a Content-Length."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)
# Room for multipart headers and form fields besides the file itself.
FORM_OVERHEAD = 65_536


def _refusal(limit: int) -> tuple[Message, Message]:
    limit_mb = limit // (1024 * 1024)
    body = json.dumps(
        {
            "error": f"the request is larger than the limit of {limit_mb} MB",
            "detail": f"Split the file into parts under {limit_mb} MB, or raise MAX_UPLOAD_MB "
            "on the server.",
            "code": "payload_too_large",
        }
    ).encode()
    start: Message = {
        "type": "http.response.start",
        "status": 413,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


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
    """Refuses a request body past `limit()` bytes with 413 the moment it gets there, and closes
    the connection after any 413 instead of reading (draining) the rest of the body."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit() + FORM_OVERHEAD
        received = 0
        started = refused = too_large = body_done = held = False

        async def send_held(message: Message) -> None:
            """Sends a 413's last body message as not-yet-last (see LINGER_SECONDS)."""
            nonlocal held
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                if not body_done:
                    held = True
                    message = {**message, "more_body": True}
            await send(message)

        async def limited_receive() -> Message:
            nonlocal received, refused, body_done
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
                if received > limit and not started:
                    refused = True
                    for part in _refusal(self.limit()):
                        await send_held(part)
                    return {"type": "http.disconnect"}  # the app stops reading here
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started, too_large
            if refused:
                return  # our 413 went out; whatever the app answers after it is dropped
            if message["type"] == "http.response.start":
                started = True
                if message["status"] == 413:
                    too_large = True
                    message["headers"] = [*message.get("headers", []), (b"connection", b"close")]
            if too_large:
                await send_held(message)
            else:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise
            log.info("a request body over %d bytes was refused", limit)
        if held:
            await linger(receive)
            await send(_END)
