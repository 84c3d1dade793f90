"""Three people on one app: two uploaders (alice, bob), a viewer (vic), and the admin's client;
a datasource `orders` with data, that widget queries are checked against."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from backend.auth.roles import Role
from tests.conftest import App
from tests.factories import upload, wait_for_task

ORDERS = b"sku,qty,price,day\nA1,2,9.5,2024-01-01\nB2,3,4.0,2024-02-01\n"


@dataclass
class People:
    app: App
    alice: httpx.AsyncClient  # uploader
    bob: httpx.AsyncClient  # uploader
    vic: httpx.AsyncClient  # viewer
    admin: httpx.AsyncClient


@pytest.fixture
async def people(app: App) -> AsyncIterator[People]:
    accepted = await upload(app.client, content=ORDERS, datasource="orders")
    task = await wait_for_task(app.client, accepted.json()["task_id"])
    assert task["status"] == "succeeded", task
    clients = [
        app.client_as(await app.token(role, name))
        for role, name in ((Role.UPLOADER, "alice"), (Role.UPLOADER, "bob"), (Role.VIEWER, "vic"))
    ]
    try:
        yield People(app, *clients, admin=app.client)
    finally:
        for client in clients:
            await client.aclose()


def widget(kind: str = "kpi", **query: Any) -> dict[str, Any]:
    return {
        "kind": kind,
        "title": f"a {kind}",
        "query": {
            "datasource": "orders",
            "measures": [{"aggregate": "sum", "column": "qty"}],
            **query,
        },
        "size": {"width": 6, "height": 4},
    }


def workbook(title: str = "Sales review", **fields: Any) -> dict[str, Any]:
    return {
        "title": title,
        "description": "Quarterly orders by product",
        "datasource": "orders",
        "filters": {"from": "2024-01-01", "skus": ["A1", "B2"]},
        "widgets": [widget("kpi"), widget("trend", granularity="month")],
        "tags": ["q4-review"],
        **fields,
    }


async def save(client: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    answer = await client.post("/api/workbooks", json=workbook(**fields))
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return body
