"""A datasource belongs to someone: every write to it (upload, replace, contract change, retry,
drop; REST and GraphQL) is for its owner, those it is granted to and admins; everyone else gets
403. Reads stay open to viewers. Rejected rows are for the task's uploader and admins."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx

from backend.auth.roles import Role
from tests.conftest import App, Backend, app_for
from tests.factories import sales_csv, upload, wait_for_task

READINGS = b"day,amount,label\n2024-01-01,1.5,x\n2024-01-02,2.5,y\n"
UPLOAD = (
    "mutation($file: Upload!, $name: String!, $mode: LoadMode!) { uploadSalesData(file: $file, "
    "dataSourceName: $name, mode: $mode) { taskId } }"
)
PATCH = (
    "mutation($name: String!, $column: String!) { updateDatasourceContract(name: $name, "
    "addColumns: [{name: $column, type: STRING}]) { schemaVersion } }"
)
DROP = "mutation($name: String!) { dropDatasource(name: $name) { name } }"
GRANT = (
    "mutation($name: String!, $grantee: String!) { grantDatasourceAccess(name: $name, "
    "grantee: $grantee) { name owner grants } }"
)


@dataclass
class Callers:
    admin: httpx.AsyncClient
    owner: httpx.AsyncClient  # olga created both datasources
    granted: httpx.AsyncClient  # gina, granted by name
    other: httpx.AsyncClient  # otto, another uploader
    viewer: httpx.AsyncClient

    def each(self) -> list[tuple[str, httpx.AsyncClient]]:
        return [(n, getattr(self, n)) for n in ("admin", "owner", "granted", "other", "viewer")]


# Who may write: the others get 403 (REST) or FORBIDDEN (GraphQL).
WRITERS = {"admin", "owner", "granted"}


async def callers(app: App) -> Callers:
    async def as_role(role: Role, name: str) -> httpx.AsyncClient:
        return app.client_as(await app.token(role, name))

    return Callers(
        app.client,
        await as_role(Role.UPLOADER, "olga"),
        await as_role(Role.UPLOADER, "gina"),
        await as_role(Role.UPLOADER, "otto"),
        await as_role(Role.VIEWER, "vera"),
    )


async def gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def gql_upload(client: httpx.AsyncClient, name: str, content: bytes, mode: str) -> Any:
    operations = {"query": UPLOAD, "variables": {"file": None, "name": name, "mode": mode}}
    answer = await client.post(
        "/graphql",
        headers={"GraphQL-Preflight": "1"},
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("sales.csv", content, "text/csv")},
    )
    # A caller whose role cannot upload is refused before the file is read: 403, same errors.
    assert answer.status_code in (200, 403), answer.text
    return answer.json()


def refusal(body: dict[str, Any]) -> str | None:
    """The GraphQL error code, or None when the operation went through; a refusal is always
    FORBIDDEN (never a masked internal error)."""
    errors = body.get("errors")
    code = errors[0]["extensions"]["code"] if errors else None
    assert code in (None, "FORBIDDEN"), body
    return code


async def owned_datasources(app: App, who: Callers) -> str:
    """olga creates `olgas` (sales contract, ahead) and `olgas_readings` (by its first upload),
    grants gina; returns a failed task of gina's into olgas_readings."""
    created = await who.owner.post("/api/datasources", json={"name": "olgas", "contract": "sales"})
    assert created.status_code == 201, created.text
    first = await upload(who.owner, content=READINGS, datasource="olgas_readings")
    assert first.status_code == 202, first.text
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"
    for name in ("olgas", "olgas_readings"):
        granted = await who.owner.put(f"/api/datasources/{name}/grants/gina")
        assert granted.status_code == 200, granted.text
    bad = await upload(who.granted, content=b"a,b\n1,2\n1,2,3\n", datasource="olgas_readings")
    failed = await wait_for_task(app.client, bad.json()["task_id"])
    assert failed["status"] == "failed"
    return str(failed["task_id"])


async def test_every_write_door_is_for_the_owner_the_granted_and_admins(app: App) -> None:
    who = await callers(app)
    gina_failed = await owned_datasources(app, who)
    for caller, _ in who.each():  # a grant names a token (or, with OIDC, a user)
        for friend in (f"friend_of_{caller}", f"pal_of_{caller}"):
            await app.token(Role.VIEWER, friend)
    outcomes: dict[tuple[str, str], bool] = {}
    for seed, (caller, client) in enumerate(who.each(), start=1):
        content = sales_csv(rows=3, seed=900 + seed)
        rest = await upload(client, content=content, datasource="olgas")
        outcomes[("REST append", caller)] = rest.status_code == 202
        assert rest.status_code in (202, 403), rest.text
        replace = await upload(
            client, content=sales_csv(rows=2, seed=950 + seed), datasource="olgas",
            extra={"mode": "replace"},
        )  # fmt: skip
        outcomes[("REST replace", caller)] = replace.status_code == 202
        assert replace.status_code in (202, 403), replace.text
        body = await gql_upload(client, "olgas", sales_csv(rows=2, seed=970 + seed), "APPEND")
        outcomes[("GraphQL upload", caller)] = refusal(body) is None
        body = await gql_upload(client, "olgas", sales_csv(rows=2, seed=990 + seed), "REPLACE")
        outcomes[("GraphQL replace", caller)] = refusal(body) is None
        patch = await client.patch(
            "/api/datasources/olgas_readings",
            json={"add_columns": [{"name": f"rest_{caller}", "type": "string"}]},
        )
        assert patch.status_code in (200, 403), patch.text
        outcomes[("REST PATCH contract", caller)] = patch.status_code == 200
        body = await gql(client, PATCH, name="olgas_readings", column=f"gql_{caller}")
        outcomes[("GraphQL updateDatasourceContract", caller)] = refusal(body) is None
        grant = await client.put(f"/api/datasources/olgas/grants/friend_of_{caller}")
        assert grant.status_code in (200, 403), grant.text
        outcomes[("REST grant", caller)] = grant.status_code == 200
        body = await gql(client, GRANT, name="olgas", grantee=f"pal_of_{caller}")
        outcomes[("GraphQL grant", caller)] = refusal(body) is None
        if caller != "admin":  # the admin's drop comes last
            response = await client.delete("/api/datasources/olgas")
            assert response.status_code == 403, response.text
            outcomes[("REST drop", caller)] = False
            body = await gql(client, DROP, name="olgas")
            outcomes[("GraphQL drop", caller)] = refusal(body) is None
    expected = {
        (door, caller): caller in WRITERS
        for door, caller in outcomes
        if door not in ("REST grant", "GraphQL grant", "REST drop", "GraphQL drop")
    }
    # Grants are changed by the owner and admins; a datasource is dropped by admins only.
    expected |= {
        (door, caller): caller in {"admin", "owner"}
        for door in ("REST grant", "GraphQL grant")
        for caller in ("admin", "owner", "granted", "other", "viewer")
    }
    expected |= {
        (door, caller): False
        for door in ("REST drop", "GraphQL drop")
        for caller in ("owner", "granted", "other", "viewer")
    }
    assert outcomes == expected

    # A retry is a write too: gina's failed task is refused once her grant is taken back.
    revoked = await who.owner.delete("/api/datasources/olgas_readings/grants/gina")
    assert revoked.status_code == 200 and "gina" not in revoked.json()["grants"], revoked.text
    retried = await who.granted.post(f"/api/ingest/tasks/{gina_failed}/retry")
    assert retried.status_code == 403, retried.text
    assert "grant" in retried.json()["detail"]
    dropped = await app.client.delete("/api/datasources/olgas_readings")
    assert dropped.status_code == 200, dropped.text


async def test_another_uploader_cannot_change_or_replace_someone_elses_rows(app: App) -> None:
    """The review's case: bob PATCHed alice's contract and replaced her rows (rowCount 2 -> 1)."""
    alice = app.client_as(await app.token(Role.UPLOADER, "alice"))
    bob = app.client_as(await app.token(Role.UPLOADER, "bob"))
    first = await upload(alice, content=READINGS, datasource="alices")
    assert (await wait_for_task(app.client, first.json()["task_id"]))["status"] == "succeeded"
    patch = await bob.patch(
        "/api/datasources/alices", json={"add_columns": [{"name": "x", "type": "string"}]}
    )
    assert patch.status_code == 403, patch.text
    assert "belongs to someone else" in patch.json()["error"] and "token:" not in patch.text
    one_row = b"day,amount,label\n2024-01-01,9.5,z\n"
    replace = await upload(bob, content=one_row, datasource="alices", extra={"mode": "replace"})
    assert replace.status_code == 403, replace.text
    listed = (await bob.get("/api/datasources/alices")).json()  # reads stay open
    assert listed["row_count"] == 2 and listed["schema_version"] == 1
    assert listed["owner"] == "alice" and listed["grants"] == []


async def test_owner_and_grants_are_shown_in_both_faces_with_ids_for_admins_only(app: App) -> None:
    olga = app.client_as(await app.token(Role.UPLOADER, "olga"))
    viewer = app.client_as(await app.token(Role.VIEWER, "vera"))
    created = await olga.post("/api/datasources", json={"name": "olgas", "contract": "sales"})
    assert created.json()["owner"] == "olga", created.text
    granted = await olga.put("/api/datasources/olgas/grants/role:uploader")
    assert granted.json()["grants"] == ["role:uploader"]
    as_admin = (await app.client.get("/api/datasources/olgas")).json()
    assert as_admin["owner"].startswith("olga (token:"), as_admin
    as_viewer = (await viewer.get("/api/datasources/olgas")).json()
    assert as_viewer["owner"] == "olga" and as_viewer["grants"] == ["role:uploader"]
    query = '{ datasource(name: "olgas") { owner grants } }'
    assert (await gql(viewer, query))["data"]["datasource"] == {
        "owner": "olga",
        "grants": ["role:uploader"],
    }
    assert (await gql(app.client, query))["data"]["datasource"]["owner"] == as_admin["owner"]
    # role:uploader lets every uploader write; a bad grantee is a 422 saying what to give.
    otto = app.client_as(await app.token(Role.UPLOADER, "otto"))
    assert (await upload(otto, content=sales_csv(rows=2), datasource="olgas")).status_code == 202
    bad = await olga.put("/api/datasources/olgas/grants/role:superuser")
    assert bad.status_code == 422, bad.text
    missing = await olga.delete("/api/datasources/olgas/grants/nobody")
    assert missing.status_code == 404, missing.text


def bad_rows() -> bytes:
    """Three sales rows, one with a Quantity that is not a number."""
    lines = sales_csv(rows=3, seed=5).decode().splitlines()
    cells = lines[2].split(",")
    cells[7] = "SECRET-VALUE"
    lines[2] = ",".join(cells)
    return ("\n".join(lines) + "\n").encode()


async def test_rejected_rows_are_for_the_uploader_and_admins(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        await rejected_rows_for_the_uploader_and_admins(app)


async def rejected_rows_for_the_uploader_and_admins(app: App) -> None:
    who = await callers(app)
    accepted = await upload(who.owner, content=bad_rows(), datasource="sales")
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["rows_rejected"] == 1, task
    route = f"/api/ingest/tasks/{task['task_id']}/rejected"
    query = (
        "query($id: ID!) { ingestionTask(taskId: $id) { rejectedRowsUrl "
        "report { checks { samples { value } } } } }"
    )
    for caller, client in who.each():
        allowed = caller in {"admin", "owner"}
        csv = await client.get(route)
        assert csv.status_code == (200 if allowed else 403), (caller, csv.text)
        assert ("SECRET-VALUE" in csv.text) is allowed
        status = await client.get(f"/api/ingest/status/{task['task_id']}")
        assert ("SECRET-VALUE" in status.text) is allowed, caller
        assert (status.json()["rejected_rows_url"] is not None) is allowed, caller
        shown = (await gql(client, query, id=task["task_id"]))["data"]["ingestionTask"]
        assert (shown["rejectedRowsUrl"] is not None) is allowed, caller
        assert ("SECRET-VALUE" in json.dumps(shown)) is allowed, caller


def stalled_form(boundary: str, datasource: str, started: asyncio.Event) -> Any:
    """A multipart body naming the datasource first, then 1 MB of a file, then nothing more:
    a client still sending (or one that never finishes)."""

    async def body() -> AsyncIterator[bytes]:
        yield (
            f'--{boundary}\r\nContent-Disposition: form-data; name="datasource_name"\r\n\r\n'
            f'{datasource}\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="big.csv"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        yield sales_csv(rows=1).splitlines(keepends=True)[0] + b"x" * 1_000_000
        started.set()
        await asyncio.Event().wait()  # the rest never comes

    return body()


async def test_an_upload_to_someone_elses_datasource_is_refused_before_its_body(app: App) -> None:
    """The refusal comes after the datasource's name, not after the whole file (which could be
    gigabytes): here the body never ends, and the 403 still comes."""
    olga = app.client_as(await app.token(Role.UPLOADER, "olga"))
    otto = app.client_as(await app.token(Role.UPLOADER, "otto"))
    created = await olga.post("/api/datasources", json={"name": "olgas", "contract": "sales"})
    assert created.status_code == 201, created.text
    started = asyncio.Event()
    answer = await asyncio.wait_for(
        otto.post(
            "/api/ingest/upload",
            content=stalled_form("b0undary", "olgas", started),
            headers={"Content-Type": "multipart/form-data; boundary=b0undary"},
        ),
        timeout=20,
    )
    assert answer.status_code == 403, answer.text
    assert "belongs to someone else" in answer.json()["error"]


def configured(backend: Backend, **settings: Any) -> Backend:
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=settings))


async def test_a_grant_names_an_active_token_unless_users_sign_in_with_oidc(
    backend: Backend,
) -> None:
    # Found by a hostile probe: a grant to a name nobody had was accepted (200), and the first
    # token later created with that name could write.
    async with app_for(backend) as app:
        olga = app.client_as(await app.token(Role.UPLOADER, "olga"))
        assert (
            await olga.post("/api/datasources", json={"name": "olgas", "contract": "sales"})
        ).status_code == 201
        nobody = await olga.put("/api/datasources/olgas/grants/nobody_yet")
        assert nobody.status_code == 404, nobody.text  # the token it names is not there
        assert "no active token is named 'nobody_yet'" in nobody.json()["error"]
        assert "tokens list" in nobody.json()["detail"]
        await app.token(Role.UPLOADER, "nobody_yet")
        assert (await olga.put("/api/datasources/olgas/grants/nobody_yet")).status_code == 200
    oidc = {
        "oidc_issuer": "https://id.example.test/",
        "oidc_audience": "sales-ingest",
        "oidc_jwks_url": "https://id.example.test/jwks.json",
    }
    async with app_for(configured(backend, **oidc)) as app:
        olga = app.client_as(await app.token(Role.UPLOADER, "olga2"))
        assert (
            await olga.post("/api/datasources", json={"name": "olgas2", "contract": "sales"})
        ).status_code == 201
        user = await olga.put("/api/datasources/olgas2/grants/grace@example.test")
        assert user.status_code == 200, user.text  # a user who has not signed in yet
