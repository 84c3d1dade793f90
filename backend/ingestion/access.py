"""Who may write to a datasource, and who may read a task's rejected rows: the one rule both
faces (REST and GraphQL) and every write path (upload, replace, evolve, contract change, retry,
drop) go through.

A datasource belongs to its creator (the principal that created it, or whose first upload did)
and to those it is granted to (a principal's name, or `role:<role>` for everyone with that
role). Admins may write to any datasource; everyone else gets 403. Reads stay open to viewers.
A datasource with no owner (older than owners, or seeded by the service) is for admins only."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service as auth_service
from backend.auth import users, visibility
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.contracts.sales import SALES
from backend.contracts.stored import DatasourceSchema
from backend.db import SessionMaker, session_scope, utcnow
from backend.errors import Forbidden, InvalidInput, NotFound
from backend.ingestion.models import DatasourceAccess
from backend.monitoring import audit
from backend.tasks import repository

MAX_GRANTS = 100
ROLE_PREFIX = "role:"
# A principal's name (token names, a JWT's username or email) or role:<role>.
GRANTEE = re.compile(r"^(?:role:(?:viewer|uploader|admin)|[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127})$")


@dataclass(frozen=True)
class Ownership:
    owner_id: str | None = None  # None: admins only
    owner_name: str | None = None
    grants: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: DatasourceAccess | None) -> Ownership:
        if row is None:
            return cls()
        return cls(row.owner_id, row.owner_name, tuple(row.grants or ()))


def owner_shown(ownership: Ownership, viewer: Principal | None) -> str | None:
    """The owner as `viewer` may see it (the principal's id for admins only); None: admins."""
    if ownership.owner_id is None:
        return None
    return visibility.principal_shown(ownership.owner_name, ownership.owner_id, viewer)


def identity(actor: Principal) -> str:
    """What ownership records of a principal: its stable id; every anonymous caller is one."""
    return "anonymous" if actor.kind == "anonymous" else actor.id


def _granted(grant: str, actor: Principal) -> bool:
    if grant.startswith(ROLE_PREFIX):
        return actor.allows(Role(grant.removeprefix(ROLE_PREFIX)))
    return actor.kind != "anonymous" and grant == actor.name


def may_write(ownership: Ownership, actor: Principal) -> bool:
    """Admins always; an uploader that owns the datasource or is granted it."""
    if actor.allows(Role.ADMIN):
        return True
    if not actor.allows(Role.UPLOADER):
        return False
    if ownership.owner_id is not None and ownership.owner_id == identity(actor):
        return True
    return any(_granted(grant, actor) for grant in ownership.grants)


def may_manage(ownership: Ownership, actor: Principal) -> bool:
    """Grants are changed by admins and the owner (not by those granted)."""
    return actor.allows(Role.ADMIN) or (
        actor.allows(Role.UPLOADER)
        and ownership.owner_id is not None
        and ownership.owner_id == identity(actor)
    )


def may_read_rejected(created_by: str | None, actor: Principal) -> bool:
    """A task's rejected rows hold raw values never loaded: its uploader and admins only."""
    return actor.allows(Role.ADMIN) or (created_by is not None and created_by == actor.id)


def refused(name: str, action: str) -> Forbidden:
    return Forbidden(
        f"datasource {name!r} belongs to someone else: only its owner, those it is granted to "
        f"and admins may {action}",
        f"Ask its owner or an admin to grant you access (PUT /api/datasources/{name}/grants/"
        "<your name>), or use a datasource of your own.",
    )


async def refuse_early(sessions: SessionMaker, name: str, actor: Principal) -> None:
    """Before an upload's bytes are read: refuses a datasource that belongs to others, so a
    refused upload costs no transfer and no storage. Reads only (the check that counts runs
    again, and claims a new name, when the task is recorded)."""
    if actor.allows(Role.ADMIN):
        return
    async with session_scope(sessions) as session:
        row = await session.get(DatasourceAccess, name)
    if row is not None and not may_write(Ownership.of(row), actor):
        raise refused(name, "upload to it")


async def _exists(session: AsyncSession, name: str) -> bool:
    """Known as data or a record (so not free to be claimed by a first upload; `sales` is
    claimed like any other name, by `make run`'s seed for the service itself)."""
    if await session.get(DatasourceSchema, name) is not None:
        return True
    return bool(await repository.count_for(session, name, previews=False))


async def claim(session: AsyncSession, name: str, actor: Principal) -> None:
    """Records `actor` as the owner of a new datasource, unless another caller did first (two
    first uploads at once: the later one then meets the earlier one's ownership)."""
    values = {
        "datasource": name,
        "owner_id": identity(actor),
        "owner_name": actor.name[:128],
        "grants": [],
        "created_at": utcnow(),
    }
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(DatasourceAccess).values(**values)
    await session.execute(insert.on_conflict_do_nothing(index_elements=["datasource"]))


async def require_write(
    session: AsyncSession,
    name: str,
    actor: Principal,
    action: str,
    *,
    claim_new: bool = False,
    preview: bool = False,
) -> None:
    """Raises Forbidden unless `actor` may write to `name`. `claim_new`: a datasource nobody
    has yet becomes `actor`'s (a first upload, createDatasource); `preview`: a datasource
    nobody has yet may be previewed by an uploader, and stays unclaimed."""
    row = await session.get(DatasourceAccess, name, populate_existing=True)
    if row is None and preview and actor.allows(Role.UPLOADER) and not await _exists(session, name):
        return  # a new name: a preview may, without claiming it (its upload will)
    if row is None and claim_new and not await _exists(session, name):
        await claim(session, name, actor)
        row = await session.get(DatasourceAccess, name, populate_existing=True)
    if not may_write(Ownership.of(row), actor):
        raise refused(name, action)


async def forget(session: AsyncSession, name: str) -> None:
    """A dropped datasource's name is free again."""
    row = await session.get(DatasourceAccess, name)
    if row is not None:
        await session.delete(row)


def check_grantee(grantee: str) -> str:
    if not GRANTEE.match(grantee):
        raise InvalidInput(
            f"not a grantee: {grantee[:140]!r}",
            "Give a principal's name (a token's name, a user's name or email) or "
            "role:uploader (every uploader).",
        )
    return grantee


async def _check_token_named(session: AsyncSession, grantee: str) -> None:
    # A principal's name is its user's handle: an enabled user, or an active token's name.
    if not await users.enabled_named(session, grantee) and not await auth_service.active_named(
        session, grantee
    ):
        raise NotFound(
            f"no active token is named {grantee!r}",
            "Grant to a token's name (python -m backend tokens list shows them; create the "
            "token first) or to role:uploader. With OpenID Connect configured, a user's name or "
            "email is accepted too.",
        )


async def _managed(
    session: AsyncSession, name: str, actor: Principal, known: bool
) -> DatasourceAccess:
    row = await session.get(DatasourceAccess, name, with_for_update=True)
    if row is None:
        if not known and not await _exists(session, name):
            raise NotFound(f"no datasource {name!r}", "GET /api/datasources lists them.")
        row = DatasourceAccess(datasource=name, owner_id=None, grants=[], created_at=utcnow())
        session.add(row)
    if not may_manage(Ownership.of(row), actor):
        raise Forbidden(
            f"only the owner of datasource {name!r} and admins may change who may write to it",
            "Ask its owner or an admin.",
        )
    return row


async def grant(
    session: AsyncSession,
    name: str,
    grantee: str,
    actor: Principal,
    *,
    known: bool = False,
    users: bool = False,
) -> Ownership:
    """Lets `grantee` write to the datasource (idempotent; audited). `known`: the caller has
    seen the datasource exist (sales, or one the engine serves). `users`: OpenID Connect is on,
    so a name may be a user's who has not signed in yet; without it a name is a token's."""
    grantee = check_grantee(grantee)
    if not (users or grantee.startswith(ROLE_PREFIX)):
        await _check_token_named(session, grantee)
    row = await _managed(session, name, actor, known or name == SALES)
    grants = list(row.grants or ())
    if grantee not in grants:
        if len(grants) >= MAX_GRANTS:
            raise InvalidInput(
                f"datasource {name!r} has {MAX_GRANTS} grants already",
                "Revoke some, or grant a role (role:uploader).",
            )
        row.grants = [*grants, grantee]
        audit.record(session, actor.label, "grant_datasource", name, {"grantee": grantee})
    await session.flush()
    return Ownership.of(row)


async def revoke(session: AsyncSession, name: str, grantee: str, actor: Principal) -> Ownership:
    """Takes a grant back (audited); 404 when there was none."""
    grantee = check_grantee(grantee)
    row = await _managed(session, name, actor, name == SALES)
    grants = list(row.grants or ())
    if grantee not in grants:
        raise NotFound(
            f"datasource {name!r} has no grant for {grantee!r}",
            f"Its grants are listed in GET /api/datasources/{name}.",
        )
    row.grants = [g for g in grants if g != grantee]
    audit.record(session, actor.label, "revoke_datasource_grant", name, {"grantee": grantee})
    await session.flush()
    return Ownership.of(row)
