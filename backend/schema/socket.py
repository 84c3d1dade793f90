"""Every operation on the GraphQL websocket answers to what an HTTP request does: the token it
connected with is checked again (revoked or expired: the operation ends UNAUTHORIZED), the rate
limit counts it, and it runs in one of the GRAPHQL_MAX_CONCURRENT slots HTTP requests take.
Before, a socket ran 300 queries in 0.8 s where HTTP answered 429 after 30, and a revoked token
kept running queries on its open socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from json import JSONDecodeError

from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.extensions import SchemaExtension
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived

from backend.auth.limits import TooManyRequests
from backend.deps import reauthenticate
from backend.errors import AppError, NestsTooDeeply, Unauthorized
from backend.schema.context import Context
from backend.units import format_bytes


async def refusal(context: Context) -> GraphQLError | None:
    """Why this operation may not run, if it may not: the token is checked as every HTTP request's
    is (within the token cache's 30 seconds; a changed role applies), then counted."""
    runtime = context.runtime
    try:
        if context.token is not None:
            principal = await reauthenticate(runtime, context.token)
            if principal is None:
                raise Unauthorized(
                    "the token of this connection is no longer valid (revoked or expired)",
                    "Connect again with a valid token.",
                )
            context.principal = principal
        await runtime.limits.request(context.principal.id)
    except AppError as refused:
        return coded(refused)
    return None


def coded(error: AppError) -> GraphQLError:
    extensions: dict[str, object] = {
        "code": error.code.upper(),
        "status": error.status_code,
        "detail": error.detail,
    }
    if isinstance(error, TooManyRequests):
        extensions["retryAfter"] = error.retry_after
    return GraphQLError(error.message, original_error=error, extensions=extensions)


class SocketSlots(SchemaExtension):
    """An operation on the websocket parses, validates and executes in a concurrency slot (HTTP
    requests hold theirs from the middleware, once their body is in). A subscription holds one
    while it starts, not while it waits for updates."""

    def __init__(self, slots: asyncio.Semaphore) -> None:
        self.slots = slots

    def _on_socket(self) -> bool:
        context = self.execution_context.context
        return isinstance(context, Context) and isinstance(context.request, WebSocket)

    async def on_parse(self) -> AsyncIterator[None]:
        async with self._held():
            yield

    async def on_validate(self) -> AsyncIterator[None]:
        async with self._held():
            yield

    async def on_execute(self) -> AsyncIterator[None]:
        async with self._held():
            yield

    def _held(self) -> contextlib.AbstractAsyncContextManager[object]:
        return self.slots if self._on_socket() else contextlib.nullcontext()


class BoundedSocket(ASGIWebSocketAdapter):
    """Strawberry's websocket adapter, refusing a message past GRAPHQL_MAX_BODY_KB before it is
    decoded: the socket is closed with 1009 (message too big)."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        limit = getattr(self.view, "max_body", None)
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                    if limit is not None and len(text) > limit:
                        await self.ws.close(code=1009, reason=_too_big(limit))
                        return
                    message = self.view.decode_json(text)
                except NestsTooDeeply:
                    await self.ws.close(code=4400, reason="the message nests too deeply")
                    return
                except JSONDecodeError as exc:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from exc
                else:
                    yield message
        except KeyError as exc:
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


def _too_big(limit: int) -> str:
    # a close reason has at most 123 bytes
    return f"Message larger than {format_bytes(limit)} (GRAPHQL_MAX_BODY_KB)"
