"""People: create, list, disable, their profiles, and the user an API token or an OpenID Connect
subject stands for. REST (backend/api/users.py), GraphQL (backend/schema/users.py) and the CLI
(backend/commands/users.py) are thin doors over these functions."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth.models import ApiToken, SignInLink, User, WebSession
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.auth.schemas import ProfileIn, PublicUserOut, RawUserOut, UserOut
from backend.db import utcnow
from backend.errors import Conflict, InvalidInput, NotFound, Unauthorized
from backend.paging import check_page

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")  # as token names
# One address, as backend.actions.schemas checks a report's: no spaces, commas, angle brackets.
_EMAIL = re.compile(r"^[^@\s,;<>\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
RESERVED = frozenset({"me"})  # /api/users/me is one's own profile
# last_seen_at is written at most this often per user (not on every request).
SEEN_EVERY = dt.timedelta(minutes=1)
MAX_PAGE = 200  # users per page of the admins' list


def check_name(name: str) -> str:
    if not NAME.match(name) or name in RESERVED:
        raise InvalidInput(
            f"invalid user name {name[:70]!r}",
            "Up to 64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit "
            "('me' is reserved).",
        )
    return name


async def by_name(session: AsyncSession, name: str) -> User | None:
    return await session.scalar(select(User).where(User.name == name))


async def named(session: AsyncSession, name: str) -> User:
    """The user called `name`, or NotFound."""
    found = await by_name(session, name[:64]) if NAME.match(name) else None
    if found is None:
        raise NotFound(f"no user named {name[:70]!r}", "Check the name (it is case-sensitive).")
    return found


async def by_id(session: AsyncSession, user_id: str) -> User:
    found = await session.get(User, user_id)
    if found is None:
        raise NotFound("your user no longer exists", "Ask an admin to create it again.")
    return found


async def create(
    session: AsyncSession, name: str, role: Role | None, display_name: str | None = None
) -> User:
    check_name(name)
    if await by_name(session, name) is not None:
        raise Conflict(f"a user named {name!r} exists", "Choose another name.")
    user = User(
        id=uuid.uuid4().hex,
        name=name,
        display_name=_display(display_name or name),
        role=role.value if role else None,
        created_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    return user


def _display(text: str) -> str:
    text = text.strip()
    if not 1 <= len(text) <= 128:
        raise InvalidInput("a display name has 1 to 128 characters", "Give a shorter name.")
    return text


async def disable(session: AsyncSession, name: str) -> User:
    """A disabled user cannot sign in or use their tokens; their browser sessions and unused
    sign-in links end (enabling them again brings neither back)."""
    user = await named(session, name)
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    await session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    await session.execute(
        delete(SignInLink).where(SignInLink.user_id == user.id, SignInLink.used_at.is_(None))
    )
    await session.flush()
    return user


async def enable(session: AsyncSession, name: str) -> User:
    user = await named(session, name)
    user.disabled_at = None
    await session.flush()
    return user


async def set_role(session: AsyncSession, name: str, role: Role) -> User:
    """A user's role; their tokens never do more than it (backend/auth/service.py)."""
    user = await named(session, name)
    user.role = role.value
    await session.flush()
    return user


async def count_enabled(session: AsyncSession) -> int:
    query = select(func.count()).select_from(User).where(User.disabled_at.is_(None))
    return int(await session.scalar(query) or 0)


@dataclass(frozen=True)
class UserPage:
    items: list[RawUserOut]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        more = self.offset + len(self.items) < self.total
        return self.offset + len(self.items) if more else None


async def page(session: AsyncSession, limit: int, offset: int) -> UserPage:
    """Users by name, each with how many usable tokens they have (never the tokens)."""
    check_page(limit, offset, MAX_PAGE)
    total = int(await session.scalar(select(func.count()).select_from(User)) or 0)
    found = list(
        (await session.scalars(select(User).order_by(User.name).limit(limit).offset(offset))).all()
    )
    counts = await _usable_tokens(session, [u.id for u in found])
    items = [raw(u, counts.get(u.id, 0)) for u in found]
    return UserPage(items, total, limit, offset)


async def _usable_tokens(session: AsyncSession, user_ids: list[str]) -> dict[str, int]:
    if not user_ids:
        return {}
    rows = await session.execute(
        select(ApiToken.user_id, func.count())
        .where(
            ApiToken.user_id.in_(user_ids),
            ApiToken.revoked_at.is_(None),
            or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow()),
        )
        .group_by(ApiToken.user_id)
    )
    return {user_id: int(count) for user_id, count in rows}


def public(user: User) -> PublicUserOut:
    return PublicUserOut(
        name=user.name, display_name=user.display_name, role=user.role, created_at=user.created_at
    )


def own(user: User) -> UserOut:
    return UserOut(
        **public(user).model_dump(),
        last_seen_at=user.last_seen_at,
        default_datasource=user.default_datasource,
        time_zone=user.time_zone or "UTC",
        default_dashboard=user.default_dashboard,
        email=user.email,
    )


def raw(user: User, active_tokens: int) -> RawUserOut:
    return RawUserOut(
        **own(user).model_dump(),
        id=user.id,
        disabled_at=user.disabled_at,
        signs_in_with_oidc=user.oidc_subject is not None,
        active_tokens=active_tokens,
    )


async def update_profile(session: AsyncSession, user_id: str, change: ProfileIn) -> User:
    """Applies the fields `change` carries (a null clears a setting; a display name cannot be
    cleared)."""
    user = await by_id(session, user_id)
    given = change.model_fields_set
    if "display_name" in given:
        if change.display_name is None:
            raise InvalidInput("a display name cannot be empty", "Give one, or leave it out.")
        user.display_name = _display(change.display_name)
    if "time_zone" in given:
        user.time_zone = check_time_zone(change.time_zone) if change.time_zone else None
    if "default_datasource" in given:
        user.default_datasource = change.default_datasource
    if "default_dashboard" in given:
        user.default_dashboard = change.default_dashboard
    if "email" in given:
        user.email = check_email(change.email) if change.email else None
    await session.flush()
    return user


async def today_of(session: AsyncSession, principal: Principal) -> dt.date:
    """Today where the caller lives: in their profile's time zone (UTC without one), as the
    app counts a relative date range on their pages."""
    user = await session.get(User, principal.user) if principal.user else None
    zone = zoneinfo.ZoneInfo(user.time_zone) if user is not None and user.time_zone else dt.UTC
    return dt.datetime.now(zone).date()


def check_time_zone(name: str) -> str:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"unknown time zone {name[:70]!r}",
            "Give an IANA time zone name such as Europe/Paris, America/New_York or UTC.",
        ) from None
    return name


def check_email(address: str) -> str:
    """One plain address (a local part, @, a domain name): never a display name, a list or a
    line break, since it goes into a message's To header as it is."""
    if not _EMAIL.fullmatch(address):
        raise InvalidInput(
            f"{address[:80]!r} is not an e-mail address",
            "Give one address such as ana@example.com, without a name or angle brackets.",
        )
    return address


def seen_stale(user: User, now: dt.datetime) -> bool:
    return user.last_seen_at is None or now - user.last_seen_at > SEEN_EVERY


async def for_subject(
    session: AsyncSession, subject: str, wanted_name: str, role: Role | None
) -> User:
    """The user of an OpenID Connect subject, created the first time it signs in (its name from
    `wanted_name`, made valid and unique); its role follows the identity provider's claim, and
    last_seen_at is written at most once a minute."""
    user = await session.scalar(select(User).where(User.oidc_subject == subject))
    now = utcnow()
    if user is None:
        user = User(
            id=uuid.uuid4().hex,
            name=await _free_name(session, wanted_name),
            display_name=wanted_name.strip()[:128] or subject[:128],
            role=role.value if role else None,
            created_at=now,
            oidc_subject=subject,
            last_seen_at=now,
        )
        session.add(user)
        await session.flush()
        return user
    if user.disabled_at is None:
        if (role.value if role else None) != user.role:
            user.role = role.value if role else None
        if seen_stale(user, now):
            user.last_seen_at = now
    return user


async def _free_name(session: AsyncSession, wanted: str) -> str:
    """`wanted` as a valid handle, with -2, -3... when another user has it."""
    base = re.sub(r"[^A-Za-z0-9_.@-]", "-", wanted.strip())[:56].lstrip("_.@-") or "user"
    if base in RESERVED:
        base = f"{base}-user"
    for number in range(1, 20):
        name = base if number == 1 else f"{base}-{number}"
        if await by_name(session, name) is None:
            return name
    return f"{base[:40]}-{uuid.uuid4().hex[:12]}"


def own_id(principal: Principal) -> str:
    """The caller's user id; a caller without one (anonymous, the service) has no profile."""
    if principal.user is None:
        raise Unauthorized(
            "only a signed-in user has a profile",
            "Sign in at /sign-in; a script sends a token of its user in 'Authorization: Bearer "
            "<token>' (python -m backend tokens create --user NAME).",
        )
    return principal.user


async def enabled_named(session: AsyncSession, name: str) -> bool:
    """Whether an enabled user has this handle (what grants and owners name)."""
    user = await by_name(session, name[:64])
    return user is not None and user.disabled_at is None


async def require_enabled(session: AsyncSession, names: Iterable[str]) -> None:
    """Every handle in `names` is an enabled user's (what a workbook is shared with); else an
    InvalidInput that names the first one that is not."""
    wanted = sorted(set(names))
    if not wanted:
        return
    rows = await session.execute(
        select(User.name, User.disabled_at).where(User.name.in_([n[:64] for n in wanted]))
    )
    disabled = {name: at is not None for name, at in rows}
    for name in wanted:
        if name not in disabled:
            raise InvalidInput(
                f"No user is called {name[:70]!r}.",
                "Name users by their handle (it is case-sensitive); python -m backend users "
                "list shows them.",
            )
        if disabled[name]:
            raise InvalidInput(
                f"The user {name!r} is disabled.", "Share it with users who can sign in."
            )
