"""Fixtures: every backend-facing test runs on the embedded default (SQLite + local folder) and on
PostgreSQL + S3 (a throwaway cluster and moto's server, both real and reached over the network).

`make test` runs two test processes (pytest-xdist): each starts its own cluster and S3 server and
they share one Druid, so a test writes only under its own temporary folders, binds only free
ports and names what it puts in Druid with a prefix of its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import httpx
import pytest

from backend import migrations
from backend.auth import service as auth_service
from backend.auth.roles import Role
from backend.config import Settings
from backend.db import session_scope
from backend.main import create_app
from backend.runtime import Runtime
from backend.storage.s3 import make_client
from tests.services import PostgresCluster, S3Server, start_postgres, start_s3

if TYPE_CHECKING:
    from tests.druid_local import LocalDruid

BACKENDS = ["embedded", "postgres_s3"]
TEMPLATE_DB = "template_migrated"
AWS_TEST_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def in_thread(function: Any, *args: Any) -> None:
    """Run blocking set-up that starts its own event loop (alembic) outside the test's loop."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            function(*args)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failure.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = start_postgres()
    try:
        in_thread(lambda: asyncio.run(_create_database(cluster, TEMPLATE_DB)))
        in_thread(migrations.upgrade, cluster.url(TEMPLATE_DB))
        yield cluster
    finally:
        cluster.stop()


async def _create_database(
    cluster: PostgresCluster, name: str, template: str | None = None
) -> None:
    connection = await asyncpg.connect(cluster.admin_url)
    try:
        suffix = f' TEMPLATE "{template}"' if template else ""
        await connection.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    server = start_s3()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "metadata.db"
    in_thread(migrations.upgrade, f"sqlite+aiosqlite:///{path}")
    return path


def create_bucket(endpoint_url: str) -> str:
    bucket = f"test-{uuid.uuid4().hex[:12]}"
    make_client(endpoint_url, "us-east-1", "testing", "testing").create_bucket(Bucket=bucket)
    return bucket


@dataclass
class Backend:
    name: str
    settings: Settings
    env: dict[str, str]  # the same configuration as environment variables, for subprocesses


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return await make_backend(request.param, request, tmp_path)


@pytest.fixture
async def embedded(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """The embedded default only, for tests whose subject does not depend on the backends."""
    return await make_backend("embedded", request, tmp_path)


@pytest.fixture(scope="session")
def druid(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalDruid]:
    """A real Druid for the run (druid/local/druid.py), on ports of its own, shared by the
    run's pytest-xdist workers (their base temp folders have the run's as parent)."""
    from tests.druid_local import shared_druid

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent
    with shared_druid(root / "druid") as cluster:
        yield cluster


async def make_backend(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    common: dict[str, Any] = {
        "auto_migrate": False,
        "worker_poll_seconds": 0.05,
        "worker_lease_seconds": 10.0,
        "worker_concurrency": 2,
        "log_level": "INFO",
        # tests poll fast and upload at once from one principal; tests/auth sets the limits it
        # tests
        "rate_limit_per_minute": 0,
        "uploads_in_flight": 0,
    }
    if name == "embedded":
        database = tmp_path / "metadata.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), database)
        values = {
            "database_url": f"sqlite+aiosqlite:///{database}",
            "storage_url": str(tmp_path / "storage"),
        }
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        s3: S3Server = request.getfixturevalue("s3")
        name = f"t_{uuid.uuid4().hex[:16]}"
        await _create_database(cluster, name, template=TEMPLATE_DB)
        values = {
            "database_url": cluster.url(name),
            "storage_url": f"s3://{create_bucket(s3.endpoint_url)}/ingest",
            "s3_endpoint_url": s3.endpoint_url,
            "aws_region": "us-east-1",
            **AWS_TEST_CREDENTIALS,
        }
    settings = Settings(**common, **values)
    env = {key.upper(): str(value) for key, value in {**common, **values}.items()}
    return Backend(name, settings, env)


@dataclass
class App:
    """The app and a client that sends an admin token (tests of access control make their own
    tokens with `token`, and clear the header)."""

    client: httpx.AsyncClient
    runtime: Runtime
    backend: Backend

    transport: httpx.AsyncBaseTransport | None = None

    async def token(self, role: Role, name: str | None = None) -> str:
        return await make_token(self.runtime, role, name)

    def client_as(self, token: str | None) -> httpx.AsyncClient:
        """A client sending this bearer token, or none at all."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(
            transport=self.transport, base_url="http://testserver", timeout=60, headers=headers
        )


async def make_token(runtime: Runtime, role: Role, name: str | None = None) -> str:
    async with session_scope(runtime.sessions) as session:
        created = await auth_service.create(
            session,
            name=name or f"test-{role.value}-{uuid.uuid4().hex[:6]}",
            role=role,
            created_by="tests",
        )
    return created.token


async def fresh_token(runtime: Runtime, role: Role, name: str) -> str:
    """A token named `name`, revoking one of that name a previous app on this backend made
    (an active token's name is taken)."""
    async with session_scope(runtime.sessions) as session:
        if await auth_service.active_named(session, name):
            await auth_service.revoke(session, name)
    return await make_token(runtime, role, name)


@pytest.fixture
async def app(backend: Backend) -> AsyncIterator[App]:
    """The real app (lifespan, workers) over ASGI; see tests/e2e for a real uvicorn."""
    async with app_for(backend) as running:
        yield running


@contextlib.asynccontextmanager
async def app_for(backend: Backend) -> AsyncIterator[App]:
    application = create_app(backend.settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        runtime = application.state.runtime
        admin = await fresh_token(runtime, Role.ADMIN, "test-admin")
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            timeout=60,
            headers={"Authorization": f"Bearer {admin}"},
        ) as client:
            yield App(client, runtime, backend, transport)


@dataclass(frozen=True)
class DruidSales:
    """data.csv loaded once into the session's Druid by the real pipeline (uvicorn subprocess)."""

    druid: LocalDruid
    prefix: str  # the Druid datasource is f"{prefix}sales"


@pytest.fixture(scope="session")
def druid_sales(
    druid: LocalDruid, sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> DruidSales:
    from tests.e2e.processes import process_env, uvicorn_server
    from tests.services import free_port

    work = tmp_path_factory.mktemp("druid-sales")
    database = work / "metadata.db"
    shutil.copyfile(sqlite_template, database)
    prefix = f"s{uuid.uuid4().hex[:10]}_"
    port = free_port()
    env = process_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{database}",
            "STORAGE_URL": str(work / "storage"),
            "AUTO_MIGRATE": "false",
            "DRUID_URL": druid.url,
            "DRUID_BROKER_URL": druid.broker_url or "",
            "DRUID_DATASOURCE_PREFIX": prefix,
            "DRUID_DATA_BASE_URL": f"http://127.0.0.1:{port}",
            "DRUID_POLL_SECONDS": "0.5",
        }
    )
    with uvicorn_server(env, work / "server.log", port) as url:
        with Path("data.csv").open("rb") as data:
            accepted = httpx.post(
                f"{url}/api/ingest/upload",
                files={"file": ("data.csv", data)},
                data={"datasource_name": "sales"},
                timeout=60,
            ).json()
        deadline = time.monotonic() + 300
        while True:
            task = httpx.get(f"{url}/api/ingest/status/{accepted['task_id']}", timeout=30).json()
            # Succeeded (the raw rows are queryable), then its rolled-up rows recorded too.
            rollup = (task.get("druid_report") or {}).get("rollup") or {}
            if task["status"] == "succeeded" and "rows_queryable" in rollup:
                break
            assert task["status"] != "failed" and time.monotonic() < deadline, task
            assert "rollup_missing" not in (task.get("druid_report") or {}), task
            time.sleep(0.5)
    return DruidSales(druid, prefix)
