"""Who may resolve each GraphQL field: every root field names one of these permission classes
(a test walks the schema to prove it). They call the same role check as REST routes."""

from __future__ import annotations

from typing import Any

from graphql import OperationType
from starlette.websockets import WebSocket
from strawberry.permission import BasePermission

from backend.auth.roles import Role
from backend.deps import check_role, still_allowed
from backend.errors import BadRequest, Unauthorized
from backend.schema.context import Info


class _Needs(BasePermission):
    role: Role
    message = "not allowed"  # never shown: check_role raises a coded error with the reason

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context = info.context
        on_socket = isinstance(context.request, WebSocket)
        if on_socket and info.operation.operation is OperationType.MUTATION:
            # the socket's transaction would only be committed when it closes
            raise BadRequest(
                "mutations are not run over the websocket",
                "Send mutations (and queries) as HTTP POST requests to /graphql; the websocket "
                "carries subscriptions.",
            )
        if context.principal.allows(self.role):
            return True  # the usual case, without opening the request's transaction
        await check_role(
            context.runtime,
            context.principal,
            self.role,
            context.http_request,
            f"GraphQL field {info.field_name}",
            None if on_socket else context.session,
        )
        return True


class IsViewer(_Needs):
    role = Role.VIEWER


class IsUploader(_Needs):
    role = Role.UPLOADER


class IsAdmin(_Needs):
    role = Role.ADMIN


async def require_still_allowed(info: Info) -> None:
    """A subscription lives as long as its socket: before each update (and on quiet ticks) it
    checks that the credentials it began with are still valid; a revoked or expired token, an
    ended sign-in or a lowered role ends it with UNAUTHORIZED."""
    context = info.context
    if not await still_allowed(context.runtime, context.token, Role.VIEWER):
        raise Unauthorized(
            "the credentials of this subscription are no longer valid (signed out, revoked or "
            "expired, or the role changed)",
            "Sign in again, or connect again with a valid token.",
        )
