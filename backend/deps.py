"""The request's dependencies, imported by both faces (REST routes and the GraphQL context): the
runtime, the request's transaction, and who is calling with what role.

Every REST route states the role it needs in its decorator (`dependencies=[allow(Role.X)]`),
and every GraphQL field with a permission class (backend.schema.permissions); both end in
`check_role` below. A test walks the OpenAPI and the schema to prove none is left out.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from backend.auth import web_sessions
from backend.auth.csrf import SAFE_METHODS, cross_site
from backend.auth.principal import Principal, anonymous
from backend.auth.roles import Role
from backend.config import Settings
from backend.db import end_session, session_scope
from backend.errors import Forbidden, Unauthorized
from backend.ingestion.service import WAKE_WORKERS
from backend.monitoring import audit
from backend.runtime import Runtime


async def get_runtime(request: HTTPConnection) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """The request's transaction: committed before the response is sent."""
    async with session_scope(runtime.sessions) as session:
        yield session
        wake = session.info.pop(WAKE_WORKERS, False)
    if wake:
        runtime.wake_workers()


async def end_request_session(runtime: Runtime, session: AsyncSession, *, failed: bool) -> None:
    """get_session's ending for a session opened on first use (GraphQL's context)."""
    wake = session.info.pop(WAKE_WORKERS, False)
    await end_session(session, failed=failed)
    if wake and not failed:
        runtime.wake_workers()


def client_address(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"


class _DocumentedBearer(HTTPBearer):
    """Declares the bearer scheme in OpenAPI (Swagger UI's Authorize button). The header itself
    is read in get_principal, so that a malformed or non-bearer Authorization is refused rather
    than ignored, on HTTP requests and GraphQL websockets alike."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


_BEARER = _DocumentedBearer(
    auto_error=False,
    description="An API token (`python -m backend tokens create`) or an OpenID Connect JWT",
)


async def get_principal(
    request: HTTPConnection,
    runtime: RuntimeDep,
    _documented: Annotated[None, Security(_BEARER)] = None,
) -> Principal:
    """Who is calling (`principal_of`), as a dependency of REST routes."""
    return await principal_of(request, runtime)


async def principal_of(request: HTTPConnection, runtime: Runtime) -> Principal:
    """Who is calling: a bearer token (ours, or an OpenID Connect JWT when configured), else a
    browser session's cookie, or anonymous with AUTH_ANONYMOUS_ROLE. Every caller's requests are
    counted against the rate limit (anonymous ones by address)."""
    found = getattr(request.state, "principal", None)
    if isinstance(found, Principal):
        return found
    header = request.headers.get("authorization")
    if header is None:
        principal = await session_principal(request, runtime) or anonymous(
            runtime.settings.anonymous_role, client_address(request)
        )
    else:
        scheme, _, credentials = header.partition(" ")
        token = credentials.strip()
        known = await runtime.authenticate(token) if scheme.lower() == "bearer" and token else None
        if known is None:
            # Refused credentials count against their address's limit too, before the refusal
            # is written to the audit log: guessing tokens, or flooding that log, is throttled.
            await runtime.limits.request(f"refused@{client_address(request) or 'unknown'}")
            await record_refusal(runtime, None, request, "invalid credentials")
            raise Unauthorized(
                "the bearer token is not valid (unknown, revoked or expired)",
                "Send 'Authorization: Bearer <token>' with a token from `python -m backend "
                "tokens create` (or your identity provider).",
            )
        principal = known
    await runtime.limits.request(principal.id)
    request.state.principal = principal
    return principal


# Requests that never read the session cookie: signing in works whatever an old cookie holds.
COOKIE_IGNORED = frozenset({"/api/auth/login"})
_SESSION_MARK = "session-cookie:"  # how bearer_of names a session cookie's credential


async def session_principal(request: HTTPConnection, runtime: Runtime) -> Principal | None:
    """The principal of the request's session cookie, when it holds a live session and the
    request comes from this site (a websocket: its Origin is this host). A write must carry the
    session's X-CSRF-Token (403 otherwise)."""
    token = request.cookies.get(web_sessions.COOKIE)
    if not token or request.url.path in COOKIE_IGNORED:
        return None
    websocket = request.scope["type"] == "websocket"
    if cross_site(request.headers, runtime.settings.cors_origins) or (
        websocket and not request.headers.get("origin")
    ):
        return None
    principal = await web_sessions.authenticate(
        runtime.reading(), runtime.token_cache, token, touch=runtime.sessions
    )
    if principal is None:
        return None
    if not websocket and request.scope.get("method", "GET") not in SAFE_METHODS:
        web_sessions.check_csrf(token, request.headers.get(web_sessions.CSRF_HEADER))
    request.state.credential = _SESSION_MARK + token
    return principal


def bearer_of(connection: HTTPConnection) -> str | None:
    """The credential a request (or websocket upgrade) was let in with, for streams to check
    again later: its bearer token, or its session cookie (marked as such), or None."""
    scheme, _, credentials = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credentials.strip() or None
    credential = getattr(connection.state, "credential", None)
    return credential if isinstance(credential, str) else None


async def reauthenticate(runtime: Runtime, credential: str) -> Principal | None:
    """The principal a credential `bearer_of` gave still stands for (a bearer token, or a
    session cookie), checked as every request's is (within the token cache's 30 seconds)."""
    if credential.startswith(_SESSION_MARK):
        return await web_sessions.authenticate(
            runtime.reading(), runtime.token_cache, credential.removeprefix(_SESSION_MARK)
        )
    return await runtime.authenticate(credential)


async def still_allowed(runtime: Runtime, token: str | None, needed: Role) -> bool:
    """Whether a long-lived stream's caller may still see it: the token or session it began
    with still verifies (not revoked, ended or expired; checked as every request is, within the
    token cache's 30 seconds) with a role that allows `needed`. Without either the caller is
    anonymous, whose role is fixed by the settings."""
    if token is None:
        return True
    principal = await reauthenticate(runtime, token)
    return principal is not None and principal.allows(needed)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# scope="function": the commit happens before the response is sent, so a 202 means recorded.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def where_of(connection: HTTPConnection) -> str:
    """The method of a request, or WS for a websocket (an HTTPConnection made from a request's
    scope has no `method` attribute: the scope says it)."""
    if connection.scope["type"] == "websocket":
        return "WS"
    return str(connection.scope.get("method") or "GET")


async def record_refusal(
    runtime: Runtime,
    principal: Principal | None,
    request: HTTPConnection | None,
    reason: str,
    session: AsyncSession | None = None,
) -> None:
    """A refused attempt goes into the audit log, never the credentials themselves: in
    `session` when the request goes on and commits it (a GraphQL field: a second writer would
    wait for the request's own write lock on SQLite), else in a transaction of its own (a REST
    refusal rolls the request's back). The same caller (the same credentials, from the same
    address) refused at the same door (signed in: for the same operation) again within a few
    minutes is not written again
    (backend.monitoring.audit.RecentRefusals): a page's every request is not a row."""
    where = f"{where_of(request)} {request.url.path}" if request is not None else None
    actor = principal.label if principal is not None else "unknown credentials"
    caller = principal.id if principal is not None else None
    presented = bearer_of(request) if request is not None else None
    address = client_address(request) if request is not None else None
    # A signed-in caller refused for its role is written once per operation it tried (an
    # attempt at another one is news); a caller not signed in once per door.
    signed_in = principal is not None and principal.kind != "anonymous"
    what = reason if signed_in else None
    if not runtime.refusals.first(actor, caller, presented, address, where, what):
        return
    if session is not None:
        audit.record(session, actor, "denied", where, {"reason": reason})
        return
    async with session_scope(runtime.sessions) as own:
        audit.record(own, actor, "denied", where, {"reason": reason})


async def check_role(
    runtime: Runtime,
    principal: Principal,
    needed: Role,
    request: HTTPConnection | None,
    what: str,
    session: AsyncSession | None = None,
) -> None:
    if principal.allows(needed):
        return
    await record_refusal(runtime, principal, request, f"{what} needs {needed.value}", session)
    raise role_refusal(principal, needed, what)


def role_refusal(principal: Principal, needed: Role, what: str) -> Unauthorized | Forbidden:
    """Why `principal` may not do `what`, in the words of how it came: tokens are named only to
    token callers; a browser's session and a caller with no credentials hear of signing in and
    of their role. No role at all is a 401, too low a role a 403."""
    role = needed.value
    if principal.kind in ("token", "jwt"):
        if principal.role is None:
            return Unauthorized(
                f"{what} needs a token with the {role} role",
                "Send 'Authorization: Bearer <token>'; an admin creates tokens with `python -m "
                "backend tokens create`.",
            )
        return Forbidden(
            f"{what} needs the {role} role; this token has {principal.role.value}",
            "Ask an admin for a token with that role.",
        )
    if principal.kind == "session":
        has = principal.role.value if principal.role else "no role"
        return (Unauthorized if principal.role is None else Forbidden)(
            f"{what} needs the {role} role; you have {has}",
            f"Ask an admin to give you the {role} role.",
        )
    if principal.role is None:
        return Unauthorized(
            f"{what} needs you to sign in (with the {role} role)",
            "Sign in at /sign-in; a script sends its API token in 'Authorization: Bearer <token>'.",
        )
    return Forbidden(
        f"{what} needs the {role} role; without signing in you have {principal.role.value}",
        "Sign in at /sign-in as someone with that role.",
    )


class RoleCheck:
    """The dependency that states a route's role (see `allow`)."""

    def __init__(self, role: Role) -> None:
        self.role = role

    async def __call__(
        self, request: Request, runtime: RuntimeDep, principal: PrincipalDep
    ) -> Principal:
        await check_role(
            runtime, principal, self.role, request, f"{request.method} {request.url.path}"
        )
        return principal


def allow(role: Role) -> Any:
    """`dependencies=[allow(Role.VIEWER)]`: who may call the route."""
    return Depends(RoleCheck(role))


Viewer = Annotated[Principal, Depends(RoleCheck(Role.VIEWER))]
Uploader = Annotated[Principal, Depends(RoleCheck(Role.UPLOADER))]
Admin = Annotated[Principal, Depends(RoleCheck(Role.ADMIN))]
