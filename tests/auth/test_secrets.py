"""Nothing internal in any answer, for any role: the service is configured with distinctive
secrets (database password, S3 secret key, signing secret, credentials in the Druid URL) and a
Druid that does not answer, gets a good and a bad upload, and then every GET route and every
status field is read by every role; no answer may carry a secret or a server path."""

from __future__ import annotations

import asyncio
import dataclasses
import re

from fastapi.routing import APIRoute
from pydantic import SecretStr

from backend.auth.roles import Role
from backend.main import create_app
from tests.auth.test_roles import endless, routes
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv

DB_PASSWORD = "Pg-pa55word-7d1e"
S3_SECRET = "S3-secret-key-4b2a9c"
SIGNING = "Signing-secret-9f3e1d7c"
DRUID_PASSWORD = "Druid-pa55-c0ffee"
SECRETS = (DB_PASSWORD, S3_SECRET, SIGNING, DRUID_PASSWORD)
STATUS_QUERY = """{
  health { status reasons checks { name status detail data } }
  sigmaStatus { mode engine engineDetail }
  sigmaCapabilities { name available reason }
  ingestionTasks { status error { message detail } report { rowsRead checks { message } }
                   events { message detail } druidReport }
  datasources { name }
}"""
ADMIN_QUERY = """{
  accessLogs { items { actor action target detail } }
  dataSources { id status reason description version uptimeReason sizeReason connectionsReason
                services { server tier } datasources { name } datasourcesReason }
  pipelines { datasource recent { filename status } }
  application { routes { route } process { rssReason } recentLogs { logger message } }
}"""


def hardened(backend: Backend) -> Backend:
    settings = backend.settings
    update: dict[str, object] = {
        "signing_secret": SecretStr(SIGNING),
        "druid_url": f"http://druid-user:{DRUID_PASSWORD}@127.0.0.1:9",
        "druid_broker_url": f"http://druid-user:{DRUID_PASSWORD}@127.0.0.1:9",
    }
    if settings.database_url.startswith("postgresql"):  # trust auth: the password is never used
        update["database_url"] = settings.database_url.replace(
            "//postgres@", f"//postgres:{DB_PASSWORD}@"
        )
    if settings.aws_secret_access_key:  # moto takes any key
        update["aws_secret_access_key"] = S3_SECRET
    return dataclasses.replace(backend, settings=settings.model_copy(update=update))


async def upload_two(app: App) -> None:
    good = await app.client.post(
        "/api/ingest/upload",
        data={"datasource_name": "sales"},
        files={"file": ("good.csv", sales_csv(rows=20), "text/csv")},
    )
    bad = await app.client.post(
        "/api/ingest/upload",
        data={"datasource_name": "sales"},
        files={"file": ("bad.csv", b"Invoice ID,Branch\nnope,Z\n", "text/csv")},
    )
    for answer in (good, bad):
        assert answer.status_code == 202, answer.text
        task = answer.json()["task_id"]
        for _ in range(300):
            status = (await app.client.get(f"/api/ingest/status/{task}")).json()["status"]
            if status in ("succeeded", "failed", "waiting_for_druid"):
                break
            await asyncio.sleep(0.1)


def leaks(text: str, backend: Backend) -> list[str]:
    found = [secret for secret in SECRETS if secret in text]
    storage = str(backend.settings.storage_url)
    if storage.startswith("/") and storage in text:
        found.append(f"the storage path {storage}")
    found += re.findall(r"(?:/tmp|/home|/root|/var|/usr)/[\w./-]+", text)
    found += re.findall(r"X-Amz-Signature=[0-9a-f]{16,}|[?&]sig=[\w-]{16,}", text)
    return found


async def test_no_answer_shows_a_secret_or_a_server_path(backend: Backend) -> None:
    configured = hardened(backend)
    gets = [
        route.path
        for route in routes(create_app(configured.settings, run_workers=False))
        if isinstance(route, APIRoute)
        and "GET" in route.methods
        and "{" not in route.path
        and not endless(route)  # streams until the client leaves; tests/notifications reads it
    ]
    async with app_for(configured) as app:
        await upload_two(app)
        tasks = (await app.client.get("/api/ingest/tasks")).json()["items"]
        gets += [f"/api/ingest/status/{t['task_id']}" for t in tasks]
        gets += ["/api/performance/data-sources/druid/access-logs", "/metrics"]
        # An uploader reads what a viewer reads; no token gets refusals only.
        for role in (None, Role.VIEWER, Role.ADMIN):
            client = app.client_as(await app.token(role) if role else None)
            for path in gets:
                answer = await client.get(path)
                assert not leaks(answer.text, configured), (
                    role,
                    path,
                    leaks(answer.text, configured),
                )
            for query in (STATUS_QUERY, ADMIN_QUERY):
                answer = await client.post("/graphql", json={"query": query})
                assert answer.status_code == 200
                assert not leaks(answer.text, configured), (role, query[:40], answer.text[:2000])
        admin_view = await app.client.post("/graphql", json={"query": STATUS_QUERY})
        assert "errors" not in admin_view.json(), admin_view.text[:2000]
        assert "druid" in admin_view.text.lower(), "the unreachable Druid should be reported"
