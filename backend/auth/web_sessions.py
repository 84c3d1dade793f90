"""Browser sessions: the `sales_session` cookie holds a random token; only its SHA-256 is kept
(as API tokens' are). The CSRF token a cookie-authenticated write must echo in X-CSRF-Token is
derived from the session's token, so it is known wherever the cookie is and nowhere else.

A session is recognised as a bearer token is, through the same 30-second cache: ending a
session (sign-out, sign-out everywhere, a new password, a disabled user) takes effect at once in
the process that ended it (it forgets its cached entries) and in every other process within
that time."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import string
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import tokens
from backend.auth.models import User, WebSession
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.auth.service import Found, TokenCache
from backend.db import SessionMaker, session_scope, utcnow
from backend.errors import DependencyUnavailable, Forbidden

COOKIE = "sales_session"
CSRF_HEADER = "X-CSRF-Token"
TOUCH_EVERY = dt.timedelta(minutes=5)
_LENGTH = 43  # secrets.token_urlsafe(32)
_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")


class CsrfTokenMissing(Forbidden):
    code = "csrf_token_missing"


@dataclass(frozen=True)
class Started:
    token: str  # the cookie's value: the only time it is seen
    record: WebSession

    @property
    def csrf_token(self) -> str:
        return self.record.csrf_token


def well_formed(token: str) -> bool:
    return len(token) == _LENGTH and all(c in _ALPHABET for c in token)


def csrf_of(token: str) -> str:
    """The CSRF token of the session whose cookie holds `token`."""
    return hashlib.sha256(b"csrf\0" + token.encode()).hexdigest()


def check_csrf(token: str, sent: str | None) -> None:
    """A cookie-authenticated write carries its session's CSRF token, or is refused."""
    if sent is None or not hmac.compare_digest(sent.encode(), csrf_of(token).encode()):
        raise CsrfTokenMissing(
            "a write signed in with the session cookie needs the X-CSRF-Token header",
            "Send the csrf_token GET /api/auth/session gives in the X-CSRF-Token header.",
        )


async def start(session: AsyncSession, user: User, hours: float) -> Started:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    record = WebSession(
        id=uuid.uuid4().hex,
        digest=tokens.digest(token),
        user_id=user.id,
        csrf_token=csrf_of(token),
        created_at=now,
        expires_at=now + dt.timedelta(hours=hours),
        last_seen_at=now,
    )
    session.add(record)
    if user.disabled_at is None and (
        user.last_seen_at is None or now - user.last_seen_at > dt.timedelta(minutes=1)
    ):
        user.last_seen_at = now
    await session.flush()
    return Started(token, record)


async def live(session: AsyncSession, token: str) -> tuple[WebSession, User] | None:
    """The session a cookie holds and its user, while both are usable."""
    if not well_formed(token):
        return None
    row = (
        await session.execute(
            select(WebSession, User)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.digest == tokens.digest(token))
        )
    ).first()
    if row is None:
        return None
    record, user = row
    if user.disabled_at is not None or record.expires_at <= utcnow():
        return None
    return record, user


async def lookup(session: AsyncSession, token: str) -> Found | None:
    found = await live(session, token)
    if found is None:
        return None
    record, user = found
    principal = Principal(
        id=f"session:{record.id}",
        name=user.name,
        role=Role(user.role) if user.role else None,
        kind="session",
        user=user.id,
    )
    stale = record.last_seen_at is None or utcnow() - record.last_seen_at > TOUCH_EVERY
    return Found(principal, record.id, record.expires_at, stale)


async def end(session: AsyncSession, token: str) -> None:
    await session.execute(delete(WebSession).where(WebSession.digest == tokens.digest(token)))


async def end_all(session: AsyncSession, user_id: str, keep: str | None = None) -> int:
    """Ends every session of a user but `keep` (sign-out everywhere, a new password)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    result = await session.execute(query)
    return int(getattr(result, "rowcount", 0) or 0)


def cache_key(token: str) -> str:
    """The key a session's principal is cached under in the token cache."""
    return "session:" + tokens.digest(token)


async def authenticate(
    sessions: SessionMaker, cache: TokenCache, token: str, touch: SessionMaker | None = None
) -> Principal | None:
    """The principal of a session cookie, through the token cache; None when it is not live."""
    if not well_formed(token):
        return None
    key, now = cache_key(token), cache.clock()
    cached = cache.get(key, now)
    if cached is not None:
        return cached
    try:
        async with session_scope(sessions) as session:
            found = await lookup(session, token)
        if found is not None and found.stale and touch is not None:
            async with session_scope(touch) as session:
                await session.execute(
                    update(WebSession)
                    .where(WebSession.id == found.token_id)
                    .values(last_seen_at=utcnow())
                )
    except (SQLAlchemyError, OSError) as exc:
        raise DependencyUnavailable(
            "credentials cannot be checked: the metadata database does not answer",
            "Try again shortly (Retry-After says when).",
        ) from exc
    if found is None:
        return None
    cache.put(key, found, now)
    return found.principal
