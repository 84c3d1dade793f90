"""/graphql's door, at the ASGI level inside BodyLimit: a GraphQL request is bounded in size
(GRAPHQL_MAX_BODY_KB, for its body and its query string) before anything parses it, and takes one
of the GRAPHQL_MAX_CONCURRENT slots only once its body is in: four connections trickling a few
bytes of a body each used to hold every slot while every dashboard query waited."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.limits import json_answer, replay
from backend.units import format_bytes


class GraphQLGate:
    """JSON and GET requests are read in full (within `max_body` bytes, refused with 413 past
    it, or at once when their Content-Length says so), then run in a slot. Multipart uploads
    (bounded by BodyLimit; their fields by the GraphQL router) take their slot when their last
    byte arrives."""

    def __init__(self, app: ASGIApp, path: str, slots: asyncio.Semaphore, max_body: int) -> None:
        self.app = app
        self.path = path
        self.slots = slots
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > self.max_body:
            await _refuse(send, 414, "query string", self.max_body)
            return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().startswith("multipart/"):
            await self._multipart(scope, receive, send)
            return
        body = await self._body(headers, receive, send)
        if body is None:
            return  # refused, or the client left
        async with self.slots:
            await self.app(scope, replay(body, receive), send)

    async def _body(self, headers: Headers, receive: Receive, send: Send) -> bytes | None:
        declared = headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body:
            await _refuse(send, 413, "request", self.max_body)
            return None
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None  # disconnected (or BodyLimit refused it: its 413 is sent)
            part = message.get("body", b"")
            size += len(part)
            if size > self.max_body:
                await _refuse(send, 413, "request", self.max_body)
                return None
            parts.append(part)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def _multipart(self, scope: Scope, receive: Receive, send: Send) -> None:
        held = False

        async def receive_then_wait() -> Message:
            nonlocal held
            message = await receive()
            last = message["type"] == "http.request" and not message.get("more_body", False)
            if last and not held:
                await self.slots.acquire()
                held = True
            return message

        try:
            await self.app(scope, receive_then_wait, send)
        finally:
            if held:
                self.slots.release()


async def _refuse(send: Send, status: int, what: str, limit: int) -> None:
    """413 for a body, 414 for a query string; BodyLimit (outside) closes the connection after
    a 413 without reading the rest."""
    answer = json_answer(
        status,
        f"the GraphQL {what} is larger than the limit of {format_bytes(limit)}",
        "Send a smaller query or fewer variables (files go in a multipart upload), or raise "
        "GRAPHQL_MAX_BODY_KB on the server.",
        "payload_too_large" if status == 413 else "uri_too_long",
    )
    with contextlib.suppress(OSError):
        for message in answer:
            await send(message)
