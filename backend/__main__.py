"""Command line: `python -m backend worker | migrate | seed FILE | assets | openapi | tokens | users ...`, and the
client of a running service: `upload | tasks | status | datasources` (also `sales-ingest`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

from prometheus_client import start_http_server

from backend import migrations
from backend.api import docs
from backend.client import cli as client_cli
from backend.commands import tokens as auth_cli
from backend.commands import users as users_cli
from backend.config import Settings, get_settings
from backend.db import SessionMaker, session_scope
from backend.errors import AppError
from backend.logging_setup import configure_logging
from backend.monitoring import tracing
from backend.runtime import Runtime
from backend.schema import graphiql
from backend.tasks import repository

log = logging.getLogger("backend")


async def run_worker() -> None:
    settings = get_settings()
    tracing.configure(settings, "worker")
    runtime = Runtime.build(settings)
    await runtime.start(with_workers=True)
    if settings.worker_metrics_port:
        # This process's own metrics (the API's /metrics has the API process's), for Prometheus.
        start_http_server(
            settings.worker_metrics_port,
            settings.worker_metrics_host,
            registry=runtime.metrics.registry.registry,
        )
        log.info(
            "worker metrics on http://%s:%d/metrics",
            settings.worker_metrics_host,
            settings.worker_metrics_port,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker running; Ctrl-C or SIGTERM stops it (running tasks are picked up again)")
    try:
        await stop.wait()
        log.info("worker stopping (running tasks are picked up again)")
    finally:
        started = time.monotonic()
        await runtime.stop()
        log.info("worker stopped in %.1f s", time.monotonic() - started)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, 8 * 1024 * 1024):
            yield chunk


async def seed(path: Path, datasource: str) -> None:
    """Queue `path` for `datasource` unless the datasource already has data or a pending upload."""
    runtime = Runtime.build(get_settings())
    await runtime.start(with_workers=False)
    try:
        async with session_scope(runtime.sessions) as session:
            existing = await repository.pending_for(session, datasource)
            if existing:
                log.info(
                    "datasource %s already has data (task %s); not seeding", datasource, existing
                )
                return
            accepted = await runtime.intake().upload(
                session, _file_chunks(path), path.name, datasource
            )
            log.info("queued %s for datasource %s as task %s", path, datasource, accepted.task.id)
    finally:
        await runtime.stop()


@contextlib.asynccontextmanager
async def _service_sessions(settings: Settings) -> AsyncIterator[SessionMaker]:
    """The service's metadata sessions (migrated, no workers) for one operator command."""
    runtime = Runtime.build(settings)
    await runtime.start(with_workers=False)
    try:
        yield runtime.sessions
    finally:
        await runtime.stop()


def openapi_json(settings: Settings) -> str:
    """The OpenAPI document the app serves, for the frontend's REST types (frontend/openapi.json;
    tests/schema/test_openapi_export.py fails while the committed file differs)."""
    from backend.main import create_app  # imported here: it builds an app on import

    document = create_app(settings, run_workers=False).openapi()
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("worker", help="run background workers (WORKER_CONCURRENCY of them)")
    commands.add_parser("migrate", help="apply database migrations")
    commands.add_parser(
        "assets",
        help="fetch GraphiQL's, Swagger UI's and ReDoc's files from the npm registry (once)",
    )
    openapi_cmd = commands.add_parser("openapi", help="write the OpenAPI document (JSON)")
    openapi_cmd.add_argument(
        "--out", type=Path, help="the file to write (default: standard output)"
    )
    seed_cmd = commands.add_parser("seed", help="queue a file for a datasource when it has no data")
    seed_cmd.add_argument("file", type=Path)
    seed_cmd.add_argument("--datasource", default="sales")
    auth_cli.add_commands(commands)
    users_cli.add_commands(commands)
    client_cli.add_client_commands(commands, client_cli.common_options())
    args = parser.parse_args(argv)
    if hasattr(args, "run"):  # a client command: talks to a running service over HTTP
        raise SystemExit(client_cli.run_command(args))
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "worker":
        asyncio.run(run_worker())
    elif args.command == "migrate":
        migrations.upgrade(settings.database_url)
    elif args.command == "assets":
        graphiql.fetch_assets()
        docs.fetch_assets()
    elif args.command == "openapi":
        document = openapi_json(settings)
        if args.out is None:
            print(document, end="")
        else:
            args.out.write_text(document, encoding="utf-8")
    elif args.command in ("tokens", "users"):
        command = auth_cli.run if args.command == "tokens" else users_cli.run
        try:
            asyncio.run(command(lambda: _service_sessions(settings), args))
        except AppError as exc:
            raise SystemExit(f"{exc.message}. {exc.detail or ''}".strip()) from None
    else:
        asyncio.run(seed(args.file, args.datasource))


if __name__ == "__main__":
    main()
