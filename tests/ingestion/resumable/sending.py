"""A client of the session API for the tests: what the CLI and the app do, step by step."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import httpx

from bench.generate_sales import HEADER, sales_rows
from tests.conftest import App

MIB = 1024 * 1024


@functools.cache
def csv_of_size(size: int, seed: int = 1) -> bytes:
    """A sales CSV of at least `size` bytes (whole rows)."""
    lines = [",".join(HEADER)]
    total = len(lines[0]) + 1
    batch = 0
    while total < size:
        for row in sales_rows(2000, seed + batch):
            line = ",".join(row)
            lines.append(line)
            total += len(line) + 1
            if total >= size:
                break
        batch += 1
    return ("\n".join(lines) + "\n").encode()


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def chunk(data: bytes, part_size: int, number: int) -> bytes:
    return data[(number - 1) * part_size : number * part_size]


async def create(app: App, data: bytes, **fields: Any) -> dict[str, Any]:
    body = {"filename": "big.csv", "size": len(data), "datasource_name": "sales", **fields}
    response = await app.client.post("/api/uploads", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def addresses(
    app: App, session: dict[str, Any], data: bytes, numbers: list[int]
) -> dict[int, dict[str, Any]]:
    size = session["part_size"]
    asked = [{"number": n, "sha256": b64_sha256(chunk(data, size, n))} for n in numbers]
    response = await app.client.post(f"/api/uploads/{session['id']}/parts", json={"parts": asked})
    assert response.status_code == 200, response.text
    return {p["number"]: p for p in response.json()["parts"]}


async def put(
    app: App, address: dict[str, Any], body: bytes | AsyncIterator[bytes]
) -> httpx.Response:
    """PUT a part where the service said, with no token (as a browser or the CLI does)."""
    if address["url"].startswith("http://testserver/"):
        async with app.client_as(None) as client:
            return await client.put(address["url"], content=body, headers=address["headers"])
    async with httpx.AsyncClient(timeout=60) as client:  # S3 itself
        return await client.put(address["url"], content=body, headers=address["headers"])


async def send_parts(
    app: App, session: dict[str, Any], data: bytes, numbers: list[int]
) -> list[httpx.Response]:
    """The parts `numbers`, all at once."""
    found = await addresses(app, session, data, numbers)
    size = session["part_size"]
    return list(await asyncio.gather(*(put(app, found[n], chunk(data, size, n)) for n in numbers)))


def part_bytes_received(app: App) -> float:
    value = app.runtime.metrics.registry.registry.get_sample_value("upload_part_bytes_total")
    return value or 0.0
