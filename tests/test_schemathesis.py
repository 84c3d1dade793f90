"""schemathesis against a real uvicorn: every REST operation of /openapi.json and every GraphQL field
of /graphql's introspection, with all of schemathesis's checks (no server error, status codes, content
types, headers and bodies as documented, negative data rejected, ...), a fixed seed and a bounded
number of examples per operation. A failure names the check and the request to replay (curl)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql as gql
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig

from backend.main import app
from backend.schema import build_schema
from tests.e2e.processes import cli_admin_token, process_env, uvicorn_server

pytestmark = pytest.mark.slow

SEED = 20261123
ACCEPTED = ["2xx", "3xx", 401, 403, 404, 409, 429, "5xx"]  # schemathesis's default
CONFIG: dict[str, Any] = {
    "seed": SEED,
    # Unknown query parameters are ignored (as FastAPI does), not refused: not negative data.
    "generation": {"max-examples": 12, "database": "none", "allow-extra-parameters": False},
    "operations": [
        {
            # Any bytes fit `format: binary`; the service reads the file's bytes to tell its
            # format (415 when it is none it reads) and validates its rows (422).
            "include-path": "/api/ingest/upload",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 415, 422]}},
        },
        {
            # A declaration is checked for sense beyond what JSON Schema says (a declared
            # contract needs columns, the time column must be a declared date column, the unique
            # key a declared column, minimum <= maximum): 422 with the reason.
            "include-name": "POST /api/datasources",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
        },
        {
            # A workbook's datasource must exist and its widgets' queries must be ones the
            # datasource's columns answer (backend/workbooks/service.py): 422 with the reason.
            "include-name-regex": "^(POST|PATCH) /api/workbooks",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
        },
        {
            # A profile's time zone must be one the IANA database knows (Europe/Paris), and a
            # default datasource a valid name (backend/auth/users.py): 422 with the reason.
            "include-name": "PATCH /api/users/me",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
        },
        {
            # The rows CSV's filters are a JSON list checked as the analytics query's are (a
            # known column, values of its type) and more rows than the setting are refused:
            # 422 with the reason (backend/analytics/rows_csv.py).
            "include-name": "GET /api/datasources/{name}/rows.csv",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
        },
        {
            # An action's parameters are checked by its kind, a schedule by cron's rules and
            # time zones by the IANA database, an import's datasource for write access
            # (backend/actions/schemas.py, service.py): 422 with the sentence naming the field.
            "include-name-regex": "^((POST|PATCH) /api/(sigma/)?actions|GET /api/actions/schedule)",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 422]}},
        },
        {
            # An upload session's options are checked as the upload form's are, its part
            # numbers against its part count, a part's bytes against its size and signature,
            # its content at complete (backend/ingestion/resumable): 415 or 422 with the reason.
            "include-path-regex": "^/api/uploads",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 415, 422]}},
        },
        {
            # What the OpenAPI schema cannot say about a GraphQL request (a document that is
            # not one, a mutation sent with GET, an upload without its CSRF header) answers 400;
            # the GraphQL test below covers GraphQL itself.
            "include-path": "/graphql",
            "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, 400]}},
        },
    ],
}


@dataclass(frozen=True)
class Server:
    url: str
    auth: dict[str, str]  # an admin token made by the CLI: every operation is reachable


@pytest.fixture(scope="module")
def server(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The embedded default served by uvicorn, access control as shipped; the module's tests
    share it."""
    work = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(sqlite_template, work / "metadata.db")
    env = process_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{work / 'metadata.db'}",
            "STORAGE_URL": str(work / "storage"),
            "AUTO_MIGRATE": "false",
            "WORKER_POLL_SECONDS": "0.05",
            "AUTH_ANONYMOUS_ROLE": "none",
            "RATE_LIMIT_PER_MINUTE": "0",
        }
    )
    token = cli_admin_token(env, work / "admin-token")
    with uvicorn_server(env, work / "server.log") as url:
        yield Server(url, {"Authorization": f"Bearer {token}"})


def _json_values() -> st.SearchStrategy[gql.ValueNode]:
    """JSON arguments (a workbook, an edit): text, or an object with a workbook's fields."""
    text = st.text(max_size=30).map(lambda v: gql.StringValueNode(value=v))
    version = st.integers(0, 5).map(lambda v: gql.IntValueNode(value=str(v)))

    def field(name: str, value: gql.ValueNode) -> gql.ObjectFieldNode:
        return gql.ObjectFieldNode(name=gql.NameNode(value=name), value=value)

    objects = st.builds(
        lambda title, datasource, number: gql.ObjectValueNode(
            fields=(
                field("title", title),
                field("datasource", datasource),
                field("version", number),
            )
        ),
        text,
        text,
        version,
    )
    return st.one_of(text, objects)


schemathesis.graphql.scalar("JSON", _json_values())


# The documents the app serves (GET /openapi.json, GraphQL introspection), taken from the app at
# import time: schemathesis makes one test per operation at collection. The requests go to `server`.
_CONFIG = SchemathesisConfig.from_dict(CONFIG)
rest = schemathesis.openapi.from_dict(app.openapi(), config=_CONFIG).exclude(
    path="/api/notifications/stream"  # streams until the client leaves (tests/notifications)
)
graphql = schemathesis.graphql.from_dict(build_schema().introspect(), config=_CONFIG).exclude(
    name="Mutation.uploadSalesData"  # its file is a multipart part, which JSON cannot carry
)


@rest.parametrize()
def test_rest_api_answers_as_its_openapi_document_says(case: Any, server: Server) -> None:
    case.call_and_validate(base_url=server.url, headers=server.auth)


@graphql.parametrize()
def test_graphql_api_answers_without_server_errors(case: Any, server: Server) -> None:
    response = case.call(base_url=f"{server.url}/graphql", headers=server.auth)
    # A field that refuses its arguments (an unknown datasource, an impossible range) answers an
    # error carrying its 4xx status in `extensions`: the client's to fix, not a server fault.
    rejected = _all_client_errors(response.json()) if response.status_code == 200 else False
    case.validate_response(response, excluded_checks=[not_a_server_error] if rejected else [])


def _all_client_errors(body: Any) -> bool:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not errors:
        return False
    statuses = [(e.get("extensions") or {}).get("status") for e in errors]
    return all(isinstance(s, int) and 400 <= s < 500 for s in statuses)
