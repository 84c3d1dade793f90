"""The shapes of people that clients see, defined once: REST serves them and the GraphQL types
are derived from them (backend/schema/users.py)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from backend.auth.roles import Role

DATASOURCE_NAME = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"  # the rule of datasource names (glossary)


class PublicUserOut(BaseModel):
    """What anyone signed in may see of a person."""

    name: str = Field(description="the unique handle")
    display_name: str
    role: str | None = Field(description="viewer, uploader or admin; null: no role")
    created_at: dt.datetime


class UserOut(PublicUserOut):
    """A person's own view of themselves: the public profile and their settings."""

    last_seen_at: dt.datetime | None
    default_datasource: str | None
    time_zone: str = Field(description="an IANA time zone name, UTC unless set")
    default_dashboard: str | None
    email: str | None = Field(description="where reports may e-mail you; null: not set")


class MeOut(UserOut):
    """One's own profile as this request sees it."""

    effective_role: str | None = Field(
        description="the role this request acts with: its token's, which may be lower than "
        "the user's role; null: no role"
    )

    @classmethod
    def of(cls, profile: UserOut, role: Role | None) -> MeOut:
        return cls(**profile.model_dump(), effective_role=role.value if role else None)


class RawUserOut(UserOut):
    """What an admin sees of a person: never a token, a token's digest or a password."""

    id: str
    disabled_at: dt.datetime | None
    signs_in_with_oidc: bool = Field(description="an OpenID Connect subject is linked")
    active_tokens: int = Field(description="how many usable API tokens the person has")


class UserPageOut(BaseModel):
    items: list[RawUserOut]
    total: int
    limit: int
    offset: int
    next_offset: int | None


class UserCountOut(BaseModel):
    users: int = Field(description="people whose account is not disabled")


class ProfileIn(BaseModel):
    """A change to one's own profile: a field left out stays as it is; null clears it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    default_datasource: str | None = Field(default=None, pattern=DATASOURCE_NAME)
    time_zone: str | None = Field(
        default=None, min_length=1, max_length=64, description="an IANA name such as Europe/Paris"
    )
    default_dashboard: str | None = Field(
        default=None,
        max_length=2000,
        description="the workbook the app opens first (its id); null: the built-in sales dashboard",
    )
    email: str | None = Field(
        default=None,
        min_length=3,
        max_length=254,
        description="where reports may e-mail you (ana@example.com); null clears it",
    )


class SessionUserOut(BaseModel):
    name: str
    display_name: str
    role: str | None


class SessionOut(BaseModel):
    """A live browser session: who is signed in, the CSRF token its writes send, its end."""

    user: SessionUserOut
    csrf_token: str = Field(description="send it as X-CSRF-Token on every write")
    expires_at: dt.datetime


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class OidcMethodOut(BaseModel):
    label: str = Field(description="the button's words, such as 'Sign in with Keycloak'")
    start: str = Field(description="where the button goes")


class MethodsOut(BaseModel):
    password: bool
    oidc: OidcMethodOut | None


class PasswordChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current: str | None = Field(
        default=None, max_length=200, description="required when a password is set"
    )
    new: str = Field(min_length=10, max_length=200)
