"""Signing people in: passwords (set, changed, checked without saying whether a name exists) and
one-time sign-in links (15 minutes, used once)."""

from __future__ import annotations

import datetime as dt
import secrets

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import passwords, tokens, users, web_sessions
from backend.auth.models import SignInLink, User
from backend.db import utcnow
from backend.errors import Forbidden
from backend.threads import PASSWORDS

LINK_LIFETIME = dt.timedelta(minutes=15)


async def check_password(session: AsyncSession, name: str, password: str) -> User | None:
    """The user `name` and `password` sign in, or None. An unknown name, a user without a
    password and a disabled user are checked against the dummy hash: same answer, same time."""
    user = await users.by_name(session, name[:64]) if users.NAME.match(name) else None
    stored = user.password_hash if user is not None and user.disabled_at is None else None
    if (
        not await PASSWORDS.run(passwords.verify, stored, password)
        or user is None
        or stored is None
    ):
        return None
    if passwords.needs_rehash(stored):
        user.password_hash = await PASSWORDS.run(passwords.hash_password, password)
    return user


async def set_password(
    session: AsyncSession, user: User, new: str, keep: str | None = None
) -> None:
    """A new password; every browser session of the user ends (a stolen one included) but
    `keep`, the session that changed it."""
    user.password_hash = await PASSWORDS.run(passwords.hash_password, new)
    await web_sessions.end_all(session, user.id, keep)
    await session.flush()


async def change_password(
    session: AsyncSession,
    user_id: str,
    current: str | None,
    new: str,
    keep: str | None = None,
) -> User:
    """One's own password: the current one is required when one is set."""
    user = await users.by_id(session, user_id)
    passwords.check_new(new)
    if user.password_hash is not None and (
        current is None or not await PASSWORDS.run(passwords.verify, user.password_hash, current)
    ):
        # 403, not 422: the request is well formed; it is the proof of who asks that fails.
        raise Forbidden(
            "the current password is not right",
            "Give your current password as well as the new one; if you forgot it, an "
            "administrator can set a new one for you.",
        )
    await set_password(session, user, new, keep)
    return user


async def new_link(session: AsyncSession, user: User) -> str:
    """A one-time sign-in link's token (only its SHA-256 is stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(
        SignInLink(
            digest=tokens.digest(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
        )
    )
    await session.flush()
    return token


async def use_link(session: AsyncSession, token: str) -> User | None:
    """The user a link signs in, marking it used in the same statement (two clicks at once:
    one wins); None when it is unknown, used or expired, or its user is disabled."""
    if len(token) > 100:
        return None
    digest, now = tokens.digest(token), utcnow()
    result = await session.execute(
        update(SignInLink)
        .where(
            SignInLink.digest == digest,
            SignInLink.used_at.is_(None),
            SignInLink.expires_at > now,
        )
        .values(used_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        return None
    user_id = await session.scalar(select(SignInLink.user_id).where(SignInLink.digest == digest))
    user = await session.get(User, user_id) if user_id else None
    return user if user is not None and user.disabled_at is None else None
