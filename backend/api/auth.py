"""REST for signing in (README: signing in): the methods offered, the browser's session, sign-in
with a password, a one-time link or single sign-on, and sign-out. These routes answer anyone:
each one checks the credentials it is about (a password, a link, the provider's answer, the
session cookie and its CSRF token) itself."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import httpx
from authlib.common.errors import AuthlibBaseError
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.api.errors import TOO_MANY_ATTEMPTS, ErrorBody
from backend.auth import oidc_login, sign_in, users, web_sessions
from backend.auth.models import User, WebSession
from backend.auth.oidc import Identity
from backend.auth.schemas import LoginIn, MethodsOut, OidcMethodOut, SessionOut, SessionUserOut
from backend.config import Settings
from backend.db import session_scope
from backend.deps import PrincipalDep, RuntimeDep, SettingsDep, client_address
from backend.errors import Unauthorized
from backend.monitoring import audit
from backend.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["sign-in"])
_ERROR: dict[str, Any] = {"model": ErrorBody}
WRONG = "the name or password is not right"
LINK_FAILED = "/sign-in?error=link"
SSO_FAILED = "/sign-in?error=sso"


@router.get("/methods", summary="How people may sign in here (anyone)")
async def methods(settings: SettingsDep) -> MethodsOut:
    oidc = None
    if settings.oidc_client_id:
        label = f"Sign in with {settings.oidc_provider_name}"
        oidc = OidcMethodOut(label=label, start="/api/auth/oidc/start")
    return MethodsOut(password=True, oidc=oidc)


@router.get(
    "/session", responses={401: _ERROR}, summary="The browser's session: who, its CSRF token"
)
async def current_session(request: Request, runtime: RuntimeDep) -> SessionOut:
    token = request.cookies.get(web_sessions.COOKIE) or ""
    async with session_scope(runtime.reading()) as session:
        found = await web_sessions.live(session, token)
    if found is None:
        raise _not_signed_in()
    return _session_out(found[1], found[0])


@router.post(
    "/login",
    responses={401: _ERROR, 429: TOO_MANY_ATTEMPTS},
    summary="Sign in with a name and password: sets the session cookie",
)
async def login(
    body: LoginIn, request: Request, response: Response, runtime: RuntimeDep
) -> SessionOut:
    await runtime.limits.sign_in(body.name, client_address(request))
    async with session_scope(runtime.sessions) as session:
        user = await sign_in.check_password(session, body.name, body.password)
        started = await _start(session, runtime, user, "password") if user else None
    if user is None or started is None:
        async with session_scope(runtime.sessions) as own:
            audit.record(
                own, "unknown credentials", "denied", "POST /api/auth/login",
                {"reason": "wrong name or password", "name": body.name[:64]},
            )  # fmt: skip
        raise Unauthorized(WRONG, "Check the name and the password (both are case-sensitive).")
    await runtime.limits.password_right(body.name)  # only failed attempts lock a name out
    _set_cookie(response, request, runtime.settings, started)
    return _session_out(user, started.record)


@router.post(
    "/logout",
    status_code=204,
    responses={401: _ERROR, 403: _ERROR},
    summary="Sign out (the cookie's session, or with everywhere=true every session of yours)",
)
async def logout(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    everywhere: Annotated[bool, Query(description="end every session of yours")] = False,
) -> Response:
    token = request.cookies.get(web_sessions.COOKIE)
    if principal.kind != "session" or not token or principal.user is None:
        raise _not_signed_in()
    async with session_scope(runtime.sessions) as session:
        if everywhere:
            await web_sessions.end_all(session, principal.user)
        else:
            await web_sessions.end(session, token)
        audit.record(session, principal.label, "sign_out", None, {"everywhere": everywhere})
    # This process stops accepting the ended sessions at once (others within the cache's 30 s).
    if everywhere:
        runtime.token_cache.forget_user(principal.user)
    else:
        runtime.token_cache.forget(web_sessions.cache_key(token))
    answer = Response(status_code=204)
    answer.delete_cookie(web_sessions.COOKIE, path="/")
    return answer


@router.get(
    "/link/{token}",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {
            "description": "To the app, signed in (the session cookie is set); a used, expired "
            "or unknown link goes to the sign-in page, which says so"
        }
    },
    summary="A one-time sign-in link: sets the session cookie and opens the app",
)
async def link(token: str, request: Request, runtime: RuntimeDep) -> RedirectResponse:
    # Any token, however long or odd, gets the contract's redirect (use_link refuses long ones
    # before any lookup), never a JSON 422 a browser would show.
    async with session_scope(runtime.sessions) as session:
        user = await sign_in.use_link(session, token)
        started = await _start(session, runtime, user, "link") if user else None
    if started is None:
        return RedirectResponse(LINK_FAILED, status_code=303)
    answer = RedirectResponse("/", status_code=303)
    _set_cookie(answer, request, runtime.settings, started)
    return answer


@router.get(
    "/oidc/start",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        303: {
            "description": "Single sign-on is not set up, or the provider did not answer: back "
            "to the sign-in page, which says so"
        }
    },
    summary="Single sign-on: off to the provider",
)
async def oidc_start(request: Request, runtime: RuntimeDep) -> RedirectResponse:
    flow = _oidc(request, runtime.settings)
    if flow is None:
        return RedirectResponse(SSO_FAILED, status_code=303)
    redirect = runtime.settings.oidc_redirect_url or str(request.url_for("oidc_callback"))
    try:
        url, pending = await flow.start(redirect)
    except (httpx.HTTPError, KeyError, ValueError, AuthlibBaseError) as exc:
        log.warning("single sign-on could not start: %s", exc)
        return RedirectResponse(SSO_FAILED, status_code=303)
    answer = RedirectResponse(url, status_code=302)
    answer.set_cookie(
        oidc_login.PENDING_COOKIE, oidc_login.seal(pending, runtime.signing_key),
        max_age=oidc_login.PENDING_SECONDS, path="/api/auth/oidc", httponly=True,
        samesite="lax", secure=_secure(request, runtime.settings),
    )  # fmt: skip
    return answer


@router.get(
    "/oidc/callback",
    name="oidc_callback",
    status_code=303,
    response_class=RedirectResponse,
    responses={
        303: {
            "description": "To the app, signed in (the session cookie is set); any failure goes "
            "to the sign-in page, which says so"
        }
    },
    summary="Single sign-on: the provider's answer; sets the session cookie",
)
async def oidc_callback(
    request: Request,
    runtime: RuntimeDep,
    code: Annotated[str, Query(max_length=2000)] = "",
    state: Annotated[str, Query(max_length=200)] = "",
) -> RedirectResponse:
    started = await _oidc_finish(request, runtime, code, state)
    answer = RedirectResponse("/" if started else SSO_FAILED, status_code=303)
    answer.delete_cookie(oidc_login.PENDING_COOKIE, path="/api/auth/oidc")
    if started is not None:
        _set_cookie(answer, request, runtime.settings, started)
    return answer


async def _oidc_finish(
    request: Request, runtime: Runtime, code: str, state: str
) -> web_sessions.Started | None:
    flow = _oidc(request, runtime.settings)
    pending = oidc_login.unseal(request.cookies.get(oidc_login.PENDING_COOKIE), runtime.signing_key)
    if flow is None or pending is None or not code:
        return None
    try:
        identity = await flow.finish(pending, code, state)
        return await _subject_session(runtime, identity)
    except (oidc_login.FlowFailed, httpx.HTTPError, AuthlibBaseError, ValueError) as exc:
        log.warning("single sign-on failed: %s", exc)
        return None


async def _subject_session(runtime: Runtime, identity: Identity) -> web_sessions.Started | None:
    """The subject's user (created the first time, its role from the claim) and a session."""
    for attempt in range(2):
        try:
            async with session_scope(runtime.sessions) as session:
                user = await users.for_subject(
                    session, identity.subject, identity.username, identity.role
                )
                return await _start(session, runtime, user, "oidc")
        except IntegrityError:  # its first two sign-ins raced: the other one created it
            if attempt:
                raise
    return None


def _oidc(request: Request, settings: Settings) -> oidc_login.OidcSignIn | None:
    """This app's single sign-on client (made once), when OIDC_CLIENT_ID is set."""
    if not (settings.oidc_client_id and settings.oidc_issuer):
        return None
    flow = getattr(request.app.state, "oidc_sign_in", None)
    if not isinstance(flow, oidc_login.OidcSignIn):
        secret = settings.oidc_client_secret
        flow = oidc_login.OidcSignIn(
            oidc_login.ClientConfig(
                issuer=settings.oidc_issuer,
                client_id=settings.oidc_client_id,
                client_secret=secret.get_secret_value() if secret else None,
                authorize_url=settings.oidc_authorize_url,
                token_url=settings.oidc_token_url,
                jwks_url=settings.oidc_jwks_url,
                role_claim=settings.oidc_role_claim,
            )
        )
        request.app.state.oidc_sign_in = flow
    return flow


async def _start(
    session: AsyncSession, runtime: Runtime, user: User, method: str
) -> web_sessions.Started | None:
    if user.disabled_at is not None:
        return None
    started = await web_sessions.start(session, user, runtime.settings.session_hours)
    audit.record(session, f"{user.name} ({user.id})", "sign_in", None, {"method": method})
    return started


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.session_cookie_secure


def _set_cookie(
    response: Response, request: Request, settings: Settings, started: web_sessions.Started
) -> None:
    response.set_cookie(
        web_sessions.COOKIE,
        started.token,
        max_age=int(settings.session_hours * 3600),
        path="/",
        secure=_secure(request, settings),
        httponly=True,
        samesite="lax",
    )


def _session_out(user: User, record: WebSession) -> SessionOut:
    return SessionOut(
        user=SessionUserOut(name=user.name, display_name=user.display_name, role=user.role),
        csrf_token=record.csrf_token,
        expires_at=record.expires_at,
    )


def _not_signed_in() -> Unauthorized:
    return Unauthorized(
        "this browser is not signed in", "Sign in at /sign-in (or send an API token)."
    )
