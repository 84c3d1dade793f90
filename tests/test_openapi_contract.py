"""The OpenAPI document says what the service answers: error bodies in their one shape (422
included), the 503s of the health checks, Allow on 405, and JSON errors from /graphql's HTTP layer
whatever the request's Content-Type. Each answer is checked against the document the app serves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from backend.runtime import Runtime
from tests.conftest import App, Backend, app_for


@pytest.fixture
async def served(embedded: Backend) -> AsyncIterator[App]:
    """The app on the embedded default: what is checked here does not depend on the backends."""
    async with app_for(embedded) as running:
        yield running


async def _document(client: httpx.AsyncClient) -> dict[str, Any]:
    document: dict[str, Any] = (await client.get("/openapi.json")).json()
    return document


def _documented_schema(
    document: dict[str, Any], method: str, path: str, status: int
) -> dict[str, Any]:
    responses = document["paths"][path][method.lower()]["responses"]
    assert str(status) in responses, f"{method} {path} does not document {status}"
    schema: dict[str, Any] = responses[str(status)]["content"]["application/json"]["schema"]
    return schema


def assert_documented(
    document: dict[str, Any], method: str, path: str, response: httpx.Response
) -> None:
    """The answer's status is documented for the operation and its body fits the schema."""
    schema = _documented_schema(document, method, path, response.status_code)
    assert response.headers["content-type"].startswith("application/json"), response.text
    # The document is the root, so that its "#/components/schemas/..." references resolve.
    jsonschema.validate(response.json(), {**document, **schema})


async def test_a_422_answer_is_the_documented_422(served: App) -> None:
    document = await _document(served.client)
    response = await served.client.get("/api/ingest/tasks", params={"limit": "many"})

    assert response.status_code == 422
    assert_documented(document, "GET", "/api/ingest/tasks", response)
    assert "HTTPValidationError" not in document["components"]["schemas"]


async def test_every_error_status_of_every_operation_documents_its_body(served: App) -> None:
    document = await _document(served.client)
    undocumented = [
        f"{method.upper()} {path} {status}"
        for path, item in document["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status[0] in "45"
        and not response.get("content", {}).get("application/json", {}).get("schema")
    ]
    assert not undocumented
    assert document["components"]["schemas"]["ErrorBody"]["required"] == [
        "error",
        "detail",
        "code",
    ]


async def take_sqlite_away(runtime: Runtime, database: Path) -> None:
    """A folder where the database file was: SQLite cannot open it. The workers may reconnect
    (and so recreate the file) meanwhile: repeat until the folder is there, then drop every
    pooled connection to the old file."""
    for _ in range(100):
        database.unlink(missing_ok=True)
        try:
            database.mkdir()
            break
        except FileExistsError:
            continue
    for engine in {runtime.engine, runtime.reader or runtime.engine}:
        await engine.dispose()


async def test_health_checks_answer_their_documented_503_when_the_database_is_gone(
    served: App,
) -> None:
    document = await _document(served.client)
    # a monitoring client that polls: its token was verified before the outage (tokens are
    # cached for a short while; tests/auth covers a token first seen during one)
    assert (await served.client.get("/api/health")).status_code == 200
    database = Path(served.runtime.engine.url.database or "")
    await take_sqlite_away(served.runtime, database)

    for path in ("/api/health", "/api/database/health", "/readyz"):
        response = await served.client.get(path)
        assert response.status_code == 503, (path, response.text)
        assert_documented(document, "GET", path, response)


async def test_a_body_that_is_not_even_json_gets_the_documented_400(served: App) -> None:
    document = await _document(served.client)
    response = await served.client.post(
        "/api/sigma/toggle-mode",
        content=b"\x03\xff\x1d\xfe",
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert_documented(document, "POST", "/api/sigma/toggle-mode", response)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [("DELETE", "/healthz", "GET"), ("PUT", "/graphql", "GET, POST")],
)
async def test_a_405_names_every_method_the_path_takes(
    served: App, method: str, path: str, allowed: str
) -> None:
    response = await served.client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["code"] == "http_error"


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b'{"query": "{ __typename }"}', None, 415),
        (b'{"query": "{ __typename }"}', "text/plain", 415),
        (b"query=%7B__typename%7D", "application/x-www-form-urlencoded", 415),
        (b'"{ __typename }"', "application/json", 400),
        (b"null", "application/json", 400),
        (b'{"query": ', "application/json", 400),
        (b"\x87\x90", "application/json", 400),
        (b"[]", "application/json", 400),
        (b'{"query": "{ __typename }", "operationName": 1}', "application/json", 400),
    ],
)
async def test_graphql_requests_it_cannot_read_get_a_documented_json_error(
    served: App, content: bytes, content_type: str | None, status: int
) -> None:
    document = await _document(served.client)
    headers = {"content-type": content_type} if content_type else {}
    response = await served.client.post("/graphql", content=content, headers=headers)

    assert response.status_code == status, response.text
    assert_documented(document, "POST", "/graphql", response)
    assert response.json()["error"]


async def test_graphql_still_answers_json_requests(served: App) -> None:
    response = await served.client.post("/graphql", json={"query": "{ __typename }"})

    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/docs", "text/html"),
        ("/redoc", "text/html"),
        ("/docs-assets/swagger-ui-bundle.js", "text/javascript"),
        ("/docs-assets/swagger-ui.css", "text/css"),
        ("/docs-assets/redoc.standalone.js", "text/javascript"),
        ("/docs-assets/favicon-32x32.png", "image/png"),
    ],
)
async def test_the_docs_pages_and_their_files_are_served_here(
    served: App, path: str, content_type: str
) -> None:
    response = await served.client.get(path)

    assert response.status_code == 200, "fetch the files once: python -m backend assets"
    assert response.headers["content-type"].split(";")[0] == content_type
    if content_type == "text/html":
        assert "https://" not in response.text and "/openapi.json" in response.text
        assert "default-src 'self'" in response.headers["content-security-policy"]
