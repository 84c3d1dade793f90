"""REST for people: one's own profile (read, change), anyone's public profile, the user count,
and the admins' paged list of users (never a token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from backend.api.errors import TOO_MANY_ATTEMPTS, ErrorBody
from backend.auth import sign_in, users
from backend.auth.schemas import MeOut, PasswordChangeIn, ProfileIn, UserCountOut, UserPageOut
from backend.db import after_commit
from backend.deps import Admin, RuntimeDep, SessionDep, Viewer
from backend.paging import MAX_OFFSET
from backend.workbooks import listing
from backend.workbooks.documents import PublicProfileOut

router = APIRouter(prefix="/api", tags=["users"])
_ERROR: dict[str, Any] = {"model": ErrorBody}
Name = Annotated[str, Path(pattern=users.NAME.pattern, description="The user's handle")]


@router.get("/users/me", responses={401: _ERROR}, summary="Your own profile and settings")
async def get_me(session: SessionDep, principal: Viewer) -> MeOut:
    profile = users.own(await users.by_id(session, users.own_id(principal)))
    return MeOut.of(profile, principal.role)


@router.patch(
    "/users/me",
    responses={401: _ERROR, 422: _ERROR},
    summary="Change your display name, default datasource, time zone, default dashboard or "
    "e-mail (a field left out stays; null clears it)",
)
async def update_me(body: ProfileIn, session: SessionDep, principal: Viewer) -> MeOut:
    profile = users.own(await users.update_profile(session, users.own_id(principal), body))
    return MeOut.of(profile, principal.role)


@router.post(
    "/users/me/password",
    status_code=204,
    responses={
        401: _ERROR,
        403: {
            **_ERROR,
            "description": "The current password is not right, or a write from another site or "
            "without its session's CSRF token",
        },
        422: _ERROR,
        429: TOO_MANY_ATTEMPTS,
    },
    summary="Set or change your password (the current one is required when one is set); your "
    "other browser sessions end",
)
async def change_password(
    body: PasswordChangeIn, session: SessionDep, principal: Viewer, runtime: RuntimeDep
) -> Response:
    keep = principal.id.removeprefix("session:") if principal.kind == "session" else None
    user_id = users.own_id(principal)
    # Checking the current password is guessing it: limited as signing in is, per user.
    await runtime.limits.password_check(principal.name)
    await sign_in.change_password(session, user_id, body.current, body.new, keep)
    await runtime.limits.password_right(principal.name)
    # The ended sessions stop working in this process at once (in others within 30 s).
    after_commit(session, lambda: runtime.token_cache.forget_user(user_id))
    return Response(status_code=204)


@router.get(
    "/users/{name}",
    responses={404: _ERROR},
    summary="A user's public profile, with their most recent workbooks you may see",
)
async def get_user(name: Name, session: SessionDep, principal: Viewer) -> PublicProfileOut:
    person = users.public(await users.named(session, name))
    return await listing.profile(session, principal, person)


@router.get("/user-count", summary="How many users are enabled")
async def user_count(session: SessionDep, principal: Viewer) -> UserCountOut:
    return UserCountOut(users=await users.count_enabled(session))


@router.get(
    "/raw-user-data",
    responses={422: _ERROR},
    summary="Every user, paged by name, with their settings and how many usable tokens they "
    "have (never a token) (admin)",
)
async def raw_user_data(
    session: SessionDep,
    principal: Admin,
    limit: Annotated[int, Query(ge=1, le=users.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> UserPageOut:
    page = await users.page(session, limit, offset)
    return UserPageOut(
        items=page.items,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        next_offset=page.next_offset,
    )
