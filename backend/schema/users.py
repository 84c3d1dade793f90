"""GraphQL for people: `me`, `updateMe`, `user(name)`, `userCount` and the admins' `users`. The
types are derived from backend.auth.schemas (what REST serves); the functions are
backend.auth.users'."""

from __future__ import annotations

import strawberry
from pydantic import ValidationError
from strawberry.experimental import pydantic
from strawberry.types.unset import UNSET

from backend.auth import schemas, users
from backend.auth.schemas import ProfileIn
from backend.db import session_scope
from backend.errors import InvalidInput
from backend.schema.context import Info
from backend.schema.permissions import IsAdmin, IsViewer
from backend.workbooks import documents, listing


@pydantic.type(
    model=documents.WorkbookSummaryOut, all_fields=True, description="A workbook on a profile"
)
class WorkbookSummary:
    id: strawberry.ID


@pydantic.type(
    model=documents.PublicProfileOut,
    all_fields=True,
    description="A user's public profile, with their most recent workbooks you may see",
)
class PublicUser:
    workbooks: list[WorkbookSummary]


@pydantic.type(model=schemas.MeOut, all_fields=True, description="Your profile and settings")
class User:
    pass


@pydantic.type(
    model=schemas.RawUserOut,
    all_fields=True,
    description="A user as admins see them: never a token, a token's digest or a password",
)
class RawUser:
    pass


@strawberry.type(description="A page of users, by name")
class UserPage:
    items: list[RawUser]
    total: int
    limit: int
    offset: int
    next_offset: int | None


@strawberry.input(description="A change to your profile: a field left out stays; null clears it")
class ProfileInput:
    display_name: str | None = UNSET
    default_datasource: str | None = UNSET
    time_zone: str | None = strawberry.field(
        default=UNSET, description="an IANA name such as Europe/Paris"
    )
    default_dashboard: str | None = UNSET
    email: str | None = strawberry.field(
        default=UNSET, description="where reports may e-mail you (ana@example.com)"
    )


def _profile(given: ProfileInput) -> ProfileIn:
    fields = {k: v for k, v in vars(given).items() if v is not UNSET}
    try:
        return ProfileIn.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InvalidInput(f"{where}: {first['msg']}", "Change that field and try again.") from None


@strawberry.type
class UsersQuery:
    @strawberry.field(permission_classes=[IsViewer], description="Your own profile")
    async def me(self, info: Info) -> User:
        context = info.context
        async with session_scope(context.runtime.reading()) as session:
            user = await users.by_id(session, users.own_id(context.principal))
        return User.from_pydantic(schemas.MeOut.of(users.own(user), context.principal.role))

    @strawberry.field(permission_classes=[IsViewer], description="A user's public profile")
    async def user(self, info: Info, name: str) -> PublicUser:
        async with session_scope(info.context.runtime.reading()) as session:
            person = users.public(await users.named(session, name))
            found = await listing.profile(session, info.context.principal, person)
        return PublicUser.from_pydantic(found)

    @strawberry.field(permission_classes=[IsViewer], description="How many users are enabled")
    async def user_count(self, info: Info) -> int:
        async with session_scope(info.context.runtime.reading()) as session:
            return await users.count_enabled(session)

    @strawberry.field(
        permission_classes=[IsAdmin], description="Every user, paged by name (never a token)"
    )
    async def users(self, info: Info, limit: int = 50, offset: int = 0) -> UserPage:
        async with session_scope(info.context.runtime.reading()) as session:
            page = await users.page(session, limit, offset)
        return UserPage(
            items=[RawUser.from_pydantic(u) for u in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_offset=page.next_offset,
        )


@strawberry.type
class UsersMutation:
    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Change your display name, default datasource, time zone, default dashboard "
        "or e-mail address",
    )
    async def update_me(self, info: Info, input: ProfileInput) -> User:  # noqa: A002
        context = info.context
        change = _profile(input)
        user = await users.update_profile(context.session, users.own_id(context.principal), change)
        return User.from_pydantic(schemas.MeOut.of(users.own(user), context.principal.role))
