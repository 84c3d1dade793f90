"""API tokens from the command line to the request: created once and shown once, stored as a
hash, revoked and expired tokens refused, tasks owned by their uploader, refusals audited
without the token."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import create_async_engine

from backend.auth import tokens
from backend.auth.models import ApiToken
from backend.auth.roles import Role
from backend.db import session_scope
from tests.conftest import App, Backend, app_for
from tests.e2e.processes import ROOT, process_env
from tests.factories import sales_csv
from tests.test_openapi_contract import take_sqlite_away


def cli(backend: Backend, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "backend", "tokens", *args],
        cwd=ROOT,
        env=process_env(backend.env, AUTH_ANONYMOUS_ROLE="none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_token_format_is_recognisable_and_checksummed() -> None:
    token = tokens.new_token()
    assert token.startswith("sit_") and len(token) == 4 + 32 + 6
    assert tokens.well_formed(token)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert not tokens.well_formed(flipped), "a mistyped token is recognised without a lookup"
    assert tokens.digest(token) != token and token not in tokens.digest(token)


async def test_a_token_from_the_cli_works_until_it_is_revoked(embedded: Backend) -> None:
    printed = cli(embedded, "create", "--name", "loader", "--role", "uploader", "--expires", "90d")
    token = printed.splitlines()[0]
    assert tokens.well_formed(token), printed
    listing = cli(embedded, "list")
    assert "loader" in listing and "uploader" in listing
    assert token not in listing and token[4:] not in listing, "the list shows the secret"
    async with app_for(embedded) as app:
        loader = app.client_as(token)
        answer = await loader.post(
            "/api/ingest/upload",
            data={"datasource_name": "sales"},
            files={"file": ("s.csv", sales_csv(rows=5), "text/csv")},
        )
        assert answer.status_code == 202, answer.text
        assert (await loader.post("/api/sigma/toggle-mode")).status_code == 403
        # the database never holds the token itself
        async with session_scope(app.runtime.sessions) as session:
            stored = await session.get(ApiToken, _id_of(listing, "loader"))
            assert stored is not None and token not in repr(vars(stored))
    assert "revoked loader" in cli(embedded, "revoke", "loader")
    async with app_for(embedded) as app:
        refused = await app.client_as(token).get("/api/ingest/tasks")
        assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
        assert refused.headers["www-authenticate"].startswith("Bearer")


def _id_of(listing: str, name: str) -> str:
    line = next(line for line in listing.splitlines() if f" {name} " in line)
    return line.split()[0]


async def test_expired_and_unknown_tokens_are_refused(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        token = await app.token(Role.VIEWER, "short-lived")
        async with session_scope(app.runtime.sessions) as session:
            await session.execute(
                update(ApiToken)
                .where(ApiToken.name == "short-lived")
                .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
            )
        for bad in (token, tokens.new_token(), "not-a-token", "x" * 5000):
            answer = await app.client_as(bad).get("/api/ingest/tasks")
            assert answer.status_code == 401, (bad[:20], answer.text)
        basic = await app.client.get(
            "/api/ingest/tasks", headers={"Authorization": "Basic YWRtaW46YWRtaW4="}
        )
        assert basic.status_code == 401


async def test_refusals_are_audited_with_the_principal_and_never_the_token(
    embedded: Backend,
) -> None:
    async with app_for(embedded) as app:
        viewer = await app.token(Role.VIEWER, "reader")
        stolen = tokens.new_token()
        assert (await app.client_as(viewer).post("/api/sigma/toggle-mode")).status_code == 403
        assert (await app.client_as(stolen).get("/api/ingest/tasks")).status_code == 401
        assert (await app.client_as(None).get("/api/ingest/tasks")).status_code == 401
        log = (await app.client.get("/api/access-logs", params={"action": "denied"})).json()["data"]
    text = str(log)
    assert viewer not in text and stolen not in text and stolen[4:20] not in text
    actors = [entry["actor"] for entry in log["items"]]
    assert any("reader" in actor for actor in actors), log
    assert "unknown credentials" in actors
    targets = [entry["target"] for entry in log["items"]]
    assert "POST /api/sigma/toggle-mode" in targets and "GET /api/ingest/tasks" in targets


async def test_an_uploader_manages_its_own_tasks_and_only_admins_manage_others(
    embedded: Backend,
) -> None:
    async with app_for(embedded) as app:
        alice = app.client_as(await app.token(Role.UPLOADER, "alice"))
        bob = app.client_as(await app.token(Role.UPLOADER, "bob"))
        answer = await alice.post(
            "/api/ingest/upload",
            data={"datasource_name": "other"},
            files={"file": ("bad.csv", b"a,b\n1,2\n1,2,3\n", "text/csv")},
        )
        assert answer.status_code == 202, answer.text
        task = answer.json()["task_id"]
        await _until_finished(app, task)
        refused = await bob.post(f"/api/ingest/tasks/{task}/retry")
        assert refused.status_code == 403 and "alice" not in refused.text
        assert (await bob.post(f"/api/ingest/tasks/{task}/cancel")).status_code == 403
        query = "mutation($id: ID!) { retryIngestionTask(taskId: $id) { status } }"
        graphql = await bob.post("/graphql", json={"query": query, "variables": {"id": task}})
        assert graphql.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        mine = await alice.post(f"/api/ingest/tasks/{task}/retry")
        assert mine.status_code == 202, mine.text
        await _until_finished(app, task)
        assert (await app.client.post(f"/api/ingest/tasks/{task}/retry")).status_code == 202
        log = (await app.client.get("/api/access-logs")).json()["data"]["items"]
        writes = [(e["action"], e["actor"]) for e in log if e["target"] and task in e["target"]]
        assert writes, log
        assert all("bob" not in actor for action, actor in writes if action != "denied")
        assert any("alice" in actor for _, actor in writes), writes


async def _until_finished(app: App, task: str) -> None:
    import asyncio

    for _ in range(300):
        status = (await app.client.get(f"/api/ingest/status/{task}")).json()["status"]
        if status in ("succeeded", "failed", "cancelled"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"task {task} did not finish")


def test_ensure_admin_writes_a_private_file_once(embedded: Backend, tmp_path: Path) -> None:
    target = tmp_path / "var" / "admin-token"
    first = cli(embedded, "ensure-admin", "--file", str(target))
    assert str(target) in first and target.stat().st_mode & 0o777 == 0o600
    token = target.read_text().strip()
    assert tokens.well_formed(token) and token not in first
    second = cli(embedded, "ensure-admin", "--file", str(target))
    assert target.read_text().strip() == token, "a second run must not replace the token"
    assert "exists" in second


async def test_a_token_first_seen_while_the_database_is_down_gets_a_coded_503(
    embedded: Backend,
) -> None:
    async with app_for(embedded) as app:
        fresh = await app.token(Role.VIEWER, "fresh")
        database = Path(app.runtime.engine.url.database or "")
        await take_sqlite_away(app.runtime, database)
        answer = await app.client_as(fresh).get("/api/ingest/tasks")
        assert answer.status_code == 503, answer.text
        assert answer.json()["code"] == "service_unavailable"
        graphql = await app.client_as(fresh).post(
            "/graphql", json={"query": "{ datasources { name } }"}
        )
        assert graphql.status_code == 503, graphql.text
        database.rmdir()


REFUSE_AT_COMMIT = [
    "CREATE FUNCTION refuse_token() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'refused at commit'; END $$",
    "CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT ON api_tokens "
    "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_token()",
]


@pytest.mark.parametrize("backend", ["postgres_s3"], indirect=True)
async def test_a_token_whose_commit_fails_is_never_printed(backend: Backend) -> None:
    """PostgreSQL checks a deferred constraint at COMMIT: the INSERT goes through, the commit
    is refused (a real database's fault at the one moment that matters)."""
    engine = create_async_engine(backend.settings.database_url)
    async with engine.begin() as connection:
        for statement in REFUSE_AT_COMMIT:
            await connection.execute(text(statement))
    args = ["create", "--name", "never-stored", "--role", "uploader"]
    done = subprocess.run(
        [sys.executable, "-m", "backend", "tokens", *args],
        cwd=ROOT,
        env=process_env(backend.env, AUTH_ANONYMOUS_ROLE="none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "sit_" not in done.stdout + done.stderr and done.stdout == ""
    assert "did not store" in done.stderr and "Traceback" not in done.stderr, done.stderr
    async with engine.connect() as connection:
        stored = await connection.scalar(text("SELECT count(*) FROM api_tokens"))
    await engine.dispose()
    assert stored == 0


def test_a_token_name_is_taken_while_a_token_of_that_name_is_active(embedded: Backend) -> None:
    # Found by a hostile probe: a second "up2" was created, and grants name principals, so it
    # could write wherever the first "up2" may.
    cli(embedded, "create", "--name", "up2", "--role", "uploader")
    args = ["create", "--name", "up2", "--role", "uploader"]
    done = subprocess.run(
        [sys.executable, "-m", "backend", "tokens", *args],
        cwd=ROOT,
        env=process_env(embedded.env, AUTH_ANONYMOUS_ROLE="none"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0 and done.stdout == "", done.stdout
    assert "a token named 'up2' is active" in done.stderr, done.stderr
    assert "tokens revoke up2" in done.stderr and "Traceback" not in done.stderr
    assert sum(" up2 " in line for line in cli(embedded, "list").splitlines()) == 1
    cli(embedded, "revoke", "up2")
    assert cli(embedded, "create", "--name", "up2", "--role", "uploader").startswith("sit_")
