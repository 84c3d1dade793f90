"""API tokens: create (shown once), list, revoke, and recognise them on requests."""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import tokens, users
from backend.auth.models import ApiToken, User
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput, NotFound

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
# last_used_at is written at most this often per token (not on every request).
TOUCH_EVERY = dt.timedelta(minutes=5)
_DURATION = re.compile(r"^(\d{1,5})([dhm])$")


@dataclass(frozen=True)
class Created:
    record: ApiToken
    token: str  # the only time it is seen


def parse_duration(text: str) -> dt.timedelta:
    """`90d`, `12h`, `30m`."""
    match = _DURATION.match(text.strip())
    if not match:
        raise InvalidInput(
            f"not a duration: {text[:20]!r}", "Give days, hours or minutes: 90d, 12h, 30m."
        )
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": dt.timedelta(days=amount), "h": dt.timedelta(hours=amount)}.get(
        unit, dt.timedelta(minutes=amount)
    )


async def create(
    session: AsyncSession,
    *,
    name: str | None,
    role: Role | None,
    created_by: str,
    expires_in: dt.timedelta | None = None,
    user: str | None = None,
) -> Created:
    """A token for the user called `user` (its role at most theirs, theirs when not given), or
    without one for the user of the token's name (created when missing; an existing one's role
    stays, and the token's is at most it)."""
    owner = await _owner(session, name, role, user)
    name = name or f"{owner.name[:55]}-{uuid.uuid4().hex[:8]}"
    role = role or Role(owner.role or Role.VIEWER.value)
    if not NAME.match(name):
        raise InvalidInput(
            f"invalid token name {name[:70]!r}",
            "Up to 64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit.",
        )
    if await active_named(session, name):
        # Grants name a principal (backend/ingestion/access.py): a second token of the same
        # name would write wherever the first may.
        raise Conflict(
            f"a token named {name!r} is active",
            f"Choose another name, or revoke that token first (python -m backend tokens revoke "
            f"{name}).",
        )
    return await _store(session, name, role, created_by, expires_in, owner)


async def _owner(
    session: AsyncSession, name: str | None, role: Role | None, user: str | None
) -> User:
    """The token's user: `user`, or the user of the token's name (created with the token's
    role when missing). An existing user's role never changes here; a token cannot have more."""
    if user is None:
        if name is None or role is None:
            raise InvalidInput("a token needs a name and a role, or a user", "Give --user NAME.")
        if not NAME.match(name):
            users.check_name(name)
        found = await users.by_name(session, name)
        if found is None:
            return await users.create(session, name, role)
        owner = found
    else:
        owner = await users.named(session, user)
    if owner.disabled_at is not None:
        raise Conflict(
            f"the user {owner.name!r} is disabled", "Tokens of a disabled user do not work."
        )
    if role is not None and (owner.role is None or not Role(owner.role).allows(role)):
        raise InvalidInput(
            f"the user {owner.name!r} has the role {owner.role or 'none'}; a token cannot have more",
            "Give a lower --role, or leave it out to use the user's (python -m backend users "
            "set-role changes a user's role).",
        )
    return owner


async def _store(
    session: AsyncSession,
    name: str,
    role: Role,
    created_by: str,
    expires_in: dt.timedelta | None,
    owner: User,
) -> Created:
    token = tokens.new_token()
    now = utcnow()
    record = ApiToken(
        id=uuid.uuid4().hex,
        name=name,
        role=role.value,
        user_id=owner.id,
        digest=tokens.digest(token),
        hint=tokens.hint(token),
        created_at=now,
        created_by=created_by,
        expires_at=now + expires_in if expires_in else None,
    )
    session.add(record)
    await session.flush()
    return Created(record, token)


async def active_named(session: AsyncSession, name: str) -> bool:
    """Whether a usable (not revoked, not expired) token has this name."""
    return bool(await session.scalar(_usable().where(ApiToken.name == name)))


def _usable() -> Select[int]:
    return select(func.count()).where(
        ApiToken.revoked_at.is_(None),
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
    )


async def listed(session: AsyncSession) -> list[ApiToken]:
    found = await session.scalars(select(ApiToken).order_by(ApiToken.created_at))
    return list(found.all())


async def count_usable(session: AsyncSession, role: Role | None = None) -> int:
    query = _usable()
    if role is not None:
        query = query.where(ApiToken.role == role.value)
    return int(await session.scalar(query) or 0)


async def revoke(session: AsyncSession, id_or_name: str) -> list[ApiToken]:
    found = list(
        (
            await session.scalars(
                select(ApiToken).where(
                    or_(ApiToken.id == id_or_name, ApiToken.name == id_or_name),
                    ApiToken.revoked_at.is_(None),
                )
            )
        ).all()
    )
    if not found:
        raise NotFound(
            f"no usable token with id or name {id_or_name[:70]!r}", "List them with tokens list."
        )
    for record in found:
        record.revoked_at = utcnow()
    await session.flush()
    return found


@dataclass(frozen=True)
class Found:
    principal: Principal
    token_id: str
    expires_at: dt.datetime | None
    stale: bool  # last_used_at is older than TOUCH_EVERY


async def lookup(session: AsyncSession, token: str) -> Found | None:
    """The principal a bearer token stands for, or None (unknown, revoked or expired). Reads
    only: `touch` records the use."""
    if not tokens.well_formed(token):
        return None
    row = (
        await session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.digest == tokens.digest(token))
        )
    ).first()
    now = utcnow()
    if row is None:
        return None
    record, user = row
    if record.revoked_at is not None or user.disabled_at is not None:
        return None
    if record.expires_at is not None and record.expires_at <= now:
        return None
    principal = Principal(
        id=f"token:{record.id}",
        name=user.name,
        role=_lower(Role(record.role), user.role),
        kind="token",
        user=user.id,
    )
    stale = record.last_used_at is None or now - record.last_used_at > TOUCH_EVERY
    return Found(principal, record.id, record.expires_at, stale)


def _lower(token_role: Role, user_role: str | None) -> Role | None:
    """A token never does more than its user may (an admin may lower a user's role)."""
    if user_role is None:
        return None
    return min(token_role, Role(user_role), key=lambda r: r.rank)


async def touch(session: AsyncSession, token_id: str) -> None:
    await session.execute(
        update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=utcnow())
    )


class TokenCache:
    """Recently verified tokens, by digest, for CACHE_SECONDS: most requests then need no
    database round trip, and a request carrying a recently seen token is answered while the
    database is briefly away. The price: a revoked token keeps working for up to CACHE_SECONDS
    in a process that has just seen it (documented)."""

    CACHE_SECONDS = 30.0
    MAX_ENTRIES = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[str, tuple[Principal, float]] = {}
        self.clock = clock  # what session lookups read the time from (tests move it on)

    def get(self, digest: str, now: float) -> Principal | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry[1] <= now:
            del self._entries[digest]
            return None
        return entry[0]

    def put(self, digest: str, found: Found, now: float) -> None:
        until = now + self.CACHE_SECONDS
        if found.expires_at is not None:
            until = min(until, now + (found.expires_at - utcnow()).total_seconds())
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.pop(next(iter(self._entries)))
        self._entries[digest] = (found.principal, until)

    def forget(self, key: str) -> None:
        """Drops one cached credential (a session that just ended)."""
        self._entries.pop(key, None)

    def forget_user(self, user_id: str) -> None:
        """Drops this process's cached principals of a user (they signed out everywhere, or
        changed their password)."""
        for key in [k for k, (p, _) in self._entries.items() if p.user == user_id]:
            del self._entries[key]
