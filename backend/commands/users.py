"""`python -m backend users create | list | disable | enable | set-role | set-password |
sign-in-link | ensure-admin-link`: people, for operators."""

from __future__ import annotations

import argparse
import getpass
import sys

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.auth import passwords, sign_in, users
from backend.auth.models import User
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
    enable = actions.add_parser("enable", help="enable a disabled user again")
    enable.add_argument("name")
    role = actions.add_parser("set-role", help="change a user's role")
    role.add_argument("name")
    role.add_argument("role", choices=[r.value for r in Role])
    password = actions.add_parser(
        "set-password", help="set a user's password (read from standard input or a prompt)"
    )
    password.add_argument("name")
    link = actions.add_parser("sign-in-link", help="print a sign-in link (15 minutes, used once)")
    link.add_argument("name")
    link.add_argument("--base-url", default="http://127.0.0.1:8000", help="the service's URL")
    first = actions.add_parser(
        "ensure-admin-link",
        help="when no admin has a password: make sure an admin user exists, print a link for it",
    )
    first.add_argument("--base-url", default="http://127.0.0.1:8000", help="the service's URL")


async def run(sessions: Sessions, args: argparse.Namespace) -> int:
    if args.action == "set-password":
        args.password = read_password()  # before the database is opened: never from argv
    return await in_transaction(sessions, lambda session: _act(session, args))


def read_password() -> str:
    """The new password: a prompt (typed twice) on a terminal, else standard input's first line."""
    if sys.stdin.isatty():
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            raise SystemExit("The two passwords differ; nothing was changed.")
        return passwords.check_new(first)
    return passwords.check_new(sys.stdin.readline().rstrip("\r\n"))


async def _act(session: AsyncSession, args: argparse.Namespace) -> Done:
    if args.action in _SIGN_IN:
        return await _SIGN_IN[args.action](session, args)
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


async def _enable(session: AsyncSession, args: argparse.Namespace) -> Done:
    user = await users.enable(session, args.name)
    audit.record(session, "cli", "enable_user", user.name, None)
    return lambda: print(f"enabled {user.name}")


async def _set_role(session: AsyncSession, args: argparse.Namespace) -> Done:
    user = await users.set_role(session, args.name, Role(args.role))
    audit.record(session, "cli", "set_role", user.name, {"role": user.role})
    return lambda: print(f"{user.name} is now {user.role} (within 30 seconds everywhere)")


async def _set_password(session: AsyncSession, args: argparse.Namespace) -> Done:
    user = await users.named(session, args.name)
    await sign_in.set_password(session, user, args.password)
    audit.record(session, "cli", "set_password", user.name, None)
    return lambda: print(f"set the password of {user.name}; their browser sessions ended")


async def _link(session: AsyncSession, args: argparse.Namespace) -> Done:
    user = await users.named(session, args.name)
    url = await _link_for(session, user, args.base_url)
    return lambda: print(url)


async def _link_for(session: AsyncSession, user: User, base_url: str) -> str:
    token = await sign_in.new_link(session, user)
    audit.record(session, "cli", "sign_in_link", user.name, None)
    return f"{base_url.rstrip('/')}/api/auth/link/{token}"


async def _first_admin(session: AsyncSession, args: argparse.Namespace) -> Done:
    """`make run`: while no admin can sign in with a password, a link for the first admin."""
    admins = list(
        (
            await session.scalars(
                select(User).where(User.role == Role.ADMIN.value, User.disabled_at.is_(None))
            )
        ).all()
    )
    if any(a.password_hash for a in admins):
        return lambda: print("an admin has a password; sign in at the app's sign-in page")
    admin = next((a for a in admins if a.name == "admin"), admins[0] if admins else None)
    if admin is None:
        admin = await users.by_name(session, "admin") or await users.create(
            session, "admin", Role.ADMIN
        )
        admin.role, admin.disabled_at = Role.ADMIN.value, None
    url = await _link_for(session, admin, args.base_url)
    return lambda: print(
        f"Open {url} to sign in as {admin.name} (the link works once, for 15 minutes)."
    )


_SIGN_IN = {
    "enable": _enable,
    "set-role": _set_role,
    "set-password": _set_password,
    "sign-in-link": _link,
    "ensure-admin-link": _first_admin,
}


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
