"""The operators' sign-in commands: set-password (from standard input, never argv), set-role,
enable, sign-in-link, and make run's first-admin link (printed while no admin has a password)."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import AsyncIterator

import httpx
import pytest

from backend.auth import users
from backend.commands import users as users_cli
from backend.db import SessionMaker, session_scope
from backend.runtime import Runtime
from tests.conftest import Backend, app_for


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    users_cli.add_commands(parser.add_subparsers(dest="command"))
    return parser.parse_args(["users", *argv])


async def cli(runtime: Runtime, *argv: str) -> None:
    @contextlib.asynccontextmanager
    async def sessions() -> AsyncIterator[SessionMaker]:
        yield runtime.sessions

    await users_cli.run(sessions, parse(*argv))


async def test_set_password_set_role_and_enable(
    embedded: Backend, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with app_for(embedded) as app:
        await cli(app.runtime, "create", "ida")
        monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
        await cli(app.runtime, "set-password", "ida")
        browser = httpx.AsyncClient(transport=app.transport, base_url="http://testserver")
        login = {"name": "ida", "password": "a long enough password"}
        assert (await browser.post("/api/auth/login", json=login)).json()["user"]["role"] == (
            "viewer"
        )
        await cli(app.runtime, "set-role", "ida", "uploader")
        await cli(app.runtime, "disable", "ida")
        assert (await browser.post("/api/auth/login", json=login)).status_code == 401
        await cli(app.runtime, "enable", "ida")
        assert (await browser.post("/api/auth/login", json=login)).json()["user"]["role"] == (
            "uploader"
        )
        assert "a long enough password" not in capsys.readouterr().out
        monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
        with pytest.raises(Exception, match="10 to 200 characters"):
            await cli(app.runtime, "set-password", "ida")


async def test_the_first_admin_link_signs_in_once(
    embedded: Backend, capsys: pytest.CaptureFixture[str]
) -> None:
    async with app_for(embedded) as app:
        await cli(app.runtime, "disable", "test-admin")  # no admin yet: one called admin is made
        capsys.readouterr()
        await cli(app.runtime, "ensure-admin-link", "--base-url", "http://127.0.0.1:8000")
        printed = capsys.readouterr().out.strip()
        assert printed.startswith("Open http://127.0.0.1:8000/api/auth/link/")
        assert printed.endswith("to sign in as admin (the link works once, for 15 minutes).")
        path = printed.split()[1].removeprefix("http://127.0.0.1:8000")
        browser = httpx.AsyncClient(transport=app.transport, base_url="http://testserver")
        assert (await browser.get(path)).headers["location"] == "/"
        assert (await browser.get("/api/auth/session")).json()["user"]["role"] == "admin"
        assert (await browser.get(path)).headers["location"] == "/sign-in?error=link"
        async with session_scope(app.runtime.sessions) as session:
            admin = await users.named(session, "admin")
            admin.password_hash = "set"
        await cli(app.runtime, "ensure-admin-link")
        assert "has a password" in capsys.readouterr().out
        await cli(app.runtime, "sign-in-link", "admin", "--base-url", "https://sales.example")
        assert capsys.readouterr().out.startswith("https://sales.example/api/auth/link/")
