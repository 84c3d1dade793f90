"""Fixtures for tests against the real local Druid: the app served by a real uvicorn inside the
test's event loop (Druid fetches our signed dataset URLs from it), and a TCP proxy in front of
Druid's router that a test can cut to make Druid unreachable and bring back."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import urllib.parse
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from backend.auth.roles import Role
from backend.config import Settings
from backend.main import create_app
from backend.runtime import Runtime
from tests.conftest import make_token
from tests.druid_local import STARTED, LocalDruid
from tests.services import free_port


@contextlib.asynccontextmanager
async def served(application: FastAPI, port: int) -> AsyncIterator[str]:
    """Serve `application` (lifespan included) on a loopback port in this event loop."""
    config = uvicorn.Config(
        application, host="127.0.0.1", port=port, lifespan="on", log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise AssertionError("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 60)


@dataclass
class DruidApp:
    client: httpx.AsyncClient  # talks to the real server over HTTP
    url: str
    runtime: Runtime
    settings: Settings
    prefix: str  # prepended to every Druid datasource of this test

    def druid_name(self, datasource: str) -> str:
        return f"{self.prefix}{datasource}"


def druid_settings(
    base: Settings, druid_url: str, port: int, data_path: str = "", **overrides: Any
) -> Settings:
    values = base.model_dump()
    values.update(
        druid_url=druid_url,
        druid_datasource_prefix=f"t{uuid.uuid4().hex[:10]}_",
        druid_data_base_url=f"http://127.0.0.1:{port}{data_path}",
        druid_poll_seconds=0.5,
        druid_retry_max_seconds=2.0,
        druid_load_timeout_seconds=180.0,
        druid_request_timeout_seconds=15.0,
    )
    values.update(overrides)
    return Settings(**values)


@contextlib.asynccontextmanager
async def druid_app(
    base: Settings, druid_url: str, data_path: str = "", **overrides: Any
) -> AsyncIterator[DruidApp]:
    """The app with Druid configured, served over HTTP; `data_path` is appended to the base URL
    Druid is told to read our files from (a wrong one makes the dataset URLs unreadable)."""
    port = free_port()
    settings = druid_settings(base, druid_url, port, data_path, **overrides)
    application = create_app(settings)
    try:
        async with served(application, port) as url:
            runtime = application.state.runtime
            headers = {"Authorization": f"Bearer {await make_token(runtime, Role.ADMIN)}"}
            async with httpx.AsyncClient(base_url=url, timeout=60, headers=headers) as client:
                yield DruidApp(client, url, runtime, settings, settings.druid_datasource_prefix)
    finally:
        await end_druid_work(settings.druid_datasource_prefix)


async def end_druid_work(prefix: str) -> None:
    """Shut down the Druid tasks still running for this test's datasources once its app is gone.

    A test often ends as soon as its upload succeeds, with the rolled-up copy's task just
    submitted: that task then retried reading from the stopped app for minutes, holding one of
    the indexer's two slots (4.5 min in an official CI run). On an outside Druid the test's
    datasources are dropped too (the local one is thrown away with the session)."""
    if not STARTED:
        return
    try:
        await _end_druid_work(STARTED[0], prefix)
    except httpx.HTTPError as exc:  # never in place of the test's own failure
        print(f"could not end the Druid tasks of {prefix}*: {exc!r}", file=sys.stderr)


async def _end_druid_work(druid: LocalDruid, prefix: str) -> None:
    async with httpx.AsyncClient(base_url=druid.url, timeout=30) as client:
        active: list[dict[str, Any]] = []
        for state in ("pending", "waiting", "running"):
            response = await client.get("/druid/indexer/v1/tasks", params={"state": state})
            response.raise_for_status()
            active += response.json()
        for task in active:
            if str(task.get("dataSource", "")).startswith(prefix):
                quoted = urllib.parse.quote(str(task["id"]), safe="")
                await client.post(f"/druid/indexer/v1/task/{quoted}/shutdown")
        if druid.var_dir is None:
            response = await client.get("/druid/coordinator/v1/metadata/datasources")
            response.raise_for_status()
            for name in response.json():
                if str(name).startswith(prefix):
                    quoted = urllib.parse.quote(str(name), safe="")
                    await client.delete(f"/druid/coordinator/v1/datasources/{quoted}")


class Proxy:
    """A TCP forwarder to Druid's router that can be cut (connections refused) and restored."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )

    async def cut(self) -> None:
        """Druid is gone: the port refuses connections and open ones are dropped."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._open):
            writer.close()
        self._open.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._open |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._open -= {writer, up_writer}
