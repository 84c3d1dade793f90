"""`python -m backend tokens create | list | revoke | ensure-admin`: API tokens for operators."""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import service
from backend.auth.models import ApiToken
from backend.auth.roles import Role
from backend.db import SessionMaker, session_scope, utcnow
from backend.errors import ServiceUnavailable

ADMIN_TOKEN_FILE = Path("var") / "admin-token"
Done = Callable[[], None]
# Opens the metadata database for one command (the service's sessions, migrated) and closes it.
Sessions = Callable[[], AbstractAsyncContextManager[SessionMaker]]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tokens = commands.add_parser("tokens", help="API tokens: create, list, revoke")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a token (printed once)")
    create.add_argument("--name", help="the token's name (default with --user: USER-<random>)")
    create.add_argument("--user", help="the user it belongs to (default: the user of its name)")
    create.add_argument(
        "--role", choices=[r.value for r in Role], help="its role (default with --user: theirs)"
    )
    create.add_argument("--expires", help="lifetime such as 90d, 12h, 30m (default: none)")
    actions.add_parser("list", help="list tokens (never the tokens themselves)")
    revoke = actions.add_parser("revoke", help="revoke a token by id or name")
    revoke.add_argument("token", help="the token's id or name")
    ensure = actions.add_parser(
        "ensure-admin", help="create an admin token into a file when no admin token exists"
    )
    ensure.add_argument("--file", type=Path, default=ADMIN_TOKEN_FILE)


async def run(sessions: Sessions, args: argparse.Namespace) -> int:
    return await in_transaction(sessions, lambda session: _act(session, args))


async def in_transaction(sessions: Sessions, act: Callable[[AsyncSession], Awaitable[Done]]) -> int:
    """Runs the action in one transaction; what it prints (a new token above all) is printed,
    and the admin token file written, only once that transaction has committed: a token that
    was never stored is never shown."""
    async with sessions() as maker:
        try:
            async with session_scope(maker) as session:
                done = await act(session)
        except SQLAlchemyError as exc:
            raise ServiceUnavailable(
                f"the metadata database did not store the change ({type(exc).__name__}); "
                "nothing was created or changed",
                "Check that the database answers (python -m backend migrate), then run the "
                "command again.",
            ) from None
    done()
    return 0


async def _act(session: AsyncSession, args: argparse.Namespace) -> Done:
    """Does the action in `session`; returns what to show once it has committed."""
    if args.action == "create":
        expires = service.parse_duration(args.expires) if args.expires else None
        created = await service.create(
            session,
            name=args.name,
            role=Role(args.role) if args.role else None,
            created_by="cli",
            expires_in=expires,
            user=args.user,
        )
        return lambda: _print_created(created)
    if args.action == "list":
        lines = [_listed(record) for record in await service.listed(session)]
    elif args.action == "revoke":
        revoked = await service.revoke(session, args.token)
        lines = [f"revoked {record.name} ({record.id})" for record in revoked]
    else:
        return await ensure_admin(session, args.file)
    return lambda: print("\n".join(lines)) if lines else None


def _print_created(created: service.Created) -> None:
    print(created.token)
    print(
        f"# {created.record.role} token {created.record.name!r} (id "
        f"{created.record.id}); shown once, keep it secret",
        flush=True,
    )


def _listed(record: ApiToken) -> str:
    state = "revoked" if record.revoked_at else "active"
    until = record.expires_at.isoformat() if record.expires_at else "never"
    used = record.last_used_at.isoformat() if record.last_used_at else "never"
    return (
        f"{record.id}  {record.name:<24} {record.role:<9} {record.hint}  "
        f"{state}, expires {until}, last used {used}"
    )


async def ensure_admin(session: AsyncSession, path: Path) -> Done:
    """Creates an admin token when none is usable; the file is written after the commit."""
    if await service.count_usable(session, Role.ADMIN):
        if path.exists():
            return lambda: print(f"an admin token exists; yours is in {path}")
        return lambda: print(
            "an admin token exists (create more with: python -m backend tokens create)"
        )
    name = "admin"
    if await service.active_named(session, name):  # a token of another role took the name
        name = f"admin-{utcnow():%Y%m%d%H%M%S}"
    created = await service.create(session, name=name, role=Role.ADMIN, created_by="first run")
    return lambda: _write_admin_token(path, created.token)


def _write_admin_token(path: Path, token: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(token + "\n")
    os.chmod(path, 0o600)
    print(
        f"created an admin token in {path} (readable by you only); use it as "
        f"'Authorization: Bearer $(cat {path})'"
    )
