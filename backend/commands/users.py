"""`python -m backend users create | list | disable`: people, for operators."""

from __future__ import annotations

import argparse

from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import users
from backend.auth.roles import Role
from backend.commands.tokens import Done, Sessions, in_transaction
from backend.monitoring import audit


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    people = commands.add_parser("users", help="people: create, list, disable")
    actions = people.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a user")
    create.add_argument("name", help="the unique handle (the rules of token names)")
    create.add_argument("--role", choices=[r.value for r in Role], default=Role.VIEWER.value)
    create.add_argument("--display-name", help="how people read it (default: the name)")
    actions.add_parser("list", help="list users (never their tokens)")
    disable = actions.add_parser("disable", help="disable a user: their tokens stop working")
    disable.add_argument("name")


async def run(sessions: Sessions, args: argparse.Namespace) -> int:
    return await in_transaction(sessions, lambda session: _act(session, args))


async def _act(session: AsyncSession, args: argparse.Namespace) -> Done:
    if args.action == "create":
        user = await users.create(session, args.name, Role(args.role), args.display_name)
        audit.record(session, "cli", "create_user", user.name, {"role": user.role})
        lines = [f"created {user.role} user {user.name!r} (id {user.id})"]
    elif args.action == "disable":
        user = await users.disable(session, args.name)
        audit.record(session, "cli", "disable_user", user.name, None)
        lines = [f"disabled {user.name}: their tokens stop working within 30 seconds"]
    else:
        lines = await _listing(session)
    return lambda: print("\n".join(lines)) if lines else None


async def _listing(session: AsyncSession) -> list[str]:
    lines: list[str] = []
    offset = 0
    while True:
        page = await users.page(session, users.MAX_PAGE, offset)
        for user in page.items:
            state = f"disabled {user.disabled_at:%Y-%m-%d}" if user.disabled_at else "enabled"
            seen = user.last_seen_at.isoformat() if user.last_seen_at else "never"
            lines.append(
                f"{user.name:<24} {user.role or 'no role':<9} {state}, "
                f"{user.active_tokens} usable tokens, last seen {seen}"
            )
        if page.next_offset is None:
            return lines
        offset = page.next_offset
