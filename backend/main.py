"""The ASGI app: `uvicorn backend.main:app`. Starts on the embedded default with no configuration."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from backend.api import (
    actions,
    auth,
    datasources,
    docs,
    druid_files,
    edge,
    frontend,
    ingest,
    notifications,
    performance,
    rows,
    sigma,
    status,
    uploads,
    users,
    workbooks,
)
from backend.api.early_auth import AuthBeforeBody
from backend.api.edge import ClientAddress, HostGuard, SecurityHeaders
from backend.api.errors import install_error_handlers
from backend.api.graphql_limits import GraphQLGate
from backend.api.limits import BodyDeadline, BodyLimit, SmallBodies
from backend.auth.csrf import CrossSiteGuard
from backend.config import Settings, get_settings
from backend.logging_setup import RequestIds, configure_logging
from backend.monitoring import application, tracing
from backend.runtime import Runtime
from backend.schema import graphiql, graphql_router


def create_app(settings: Settings | None = None, *, run_workers: bool = True) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_format)
    tracing.configure(settings, "api")
    app = _fastapi_app(_lifespan(settings, run_workers))
    slots = _add_middlewares(app, settings)
    application.install_log_buffer()
    _include_routes(app, settings, slots)
    return app


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def _lifespan(settings: Settings, run_workers: bool) -> Lifespan:
    """Builds the runtime at start-up (with the metrics the middleware records) and stops it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime.build(settings, app.state.metrics)
        await runtime.start(with_workers=run_workers)
        app.state.runtime = runtime
        settle_heap()
        try:
            yield
        finally:
            await runtime.stop()

    return lifespan


def _fastapi_app(lifespan: Lifespan) -> FastAPI:
    return FastAPI(
        title="Sales ingestion and analytics",
        version="0.1.0",
        summary="Upload CSV, Excel and Parquet sales data; validate, store, load into Druid; query.",
        lifespan=lifespan,
        # Served by backend.api.docs from local files: FastAPI's own pages load them from a CDN.
        docs_url=None,
        redoc_url=None,
        # Traced by FastAPI itself once backend.monitoring.tracing has configured a provider.
        # Its own exporter set-up (FASTAPI_OTEL_AUTO_CONFIGURE) stays off: spans leave through
        # ours, scrubbed.
        telemetry={"exclude": tracing.untraced, "auto_configure": False},
    )


def _add_middlewares(app: FastAPI, settings: Settings) -> asyncio.Semaphore:
    """The middlewares, in their order; returns GraphQL's concurrency slots."""
    # Innermost first. GraphQL's concurrency slots are shared by HTTP requests (taken once their
    # body is in) and the websocket's operations; the gate reads bodies through the middlewares
    # outside it. The caller is known before a body is read (AuthBeforeBody), and BodyLimit
    # times out trickling bodies and closes the connection after any refusal sent while the
    # body is unread (the gate's 413 too).
    app.state.graphql_slots = slots = asyncio.Semaphore(settings.graphql_max_concurrent)
    app.add_middleware(
        GraphQLGate, path="/graphql", slots=slots, max_body=settings.graphql_max_body
    )
    app.add_middleware(SmallBodies, prefix="/api/auth/", cap=settings.auth_max_body_kb * 1024)
    app.add_middleware(AuthBeforeBody)
    deadline = BodyDeadline(settings.body_read_timeout_s, settings.body_min_kb_per_s * 1024)
    app.add_middleware(
        BodyLimit,
        limit=lambda: settings.max_upload_bytes,
        deadline=deadline,
        route_limit=uploads.part_route_limit(settings),
    )
    install_error_handlers(app)  # its catch-all middleware sits outside the body's guards
    app.add_middleware(CrossSiteGuard, allowed_origins=settings.cors_origins)
    if settings.cors_origins:  # the React frontend served from elsewhere, by configuration only
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "GraphQL-Preflight"],
        )
    app.state.metrics = application.Metrics()
    app.add_middleware(app.state.metrics.middleware)
    app.add_middleware(ClientAddress, trusted=edge.networks(settings.trusted_proxies))
    app.add_middleware(HostGuard, allowed=settings.host_names)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestIds)  # outermost: every line of a request carries its id
    return slots


def _include_routes(app: FastAPI, settings: Settings, slots: asyncio.Semaphore) -> None:
    app.include_router(graphql_router(settings, slots))  # first: routes are tried in order
    app.include_router(ingest.router)
    app.include_router(uploads.router)
    app.include_router(datasources.router)
    app.include_router(rows.router)
    app.include_router(status.router)
    app.include_router(sigma.router)
    app.include_router(performance.router)
    app.include_router(druid_files.router)
    app.include_router(auth.router)
    app.include_router(users.router)
    app.include_router(workbooks.router)
    app.include_router(notifications.router)
    app.include_router(actions.router)
    graphiql.mount(app)
    docs.mount(app)
    app.include_router(frontend.router)  # last: its catch-all serves client-side routes


def settle_heap() -> None:
    """Move everything alive after start-up (modules, the schema, compiled routes) out of the
    collector's reach. A full collection otherwise walks them all, with the event loop stopped:
    measured under load (tests/e2e/test_load.py) at up to 314 ms per collection, the largest
    share of /healthz's worst answer."""
    gc.collect()
    gc.freeze()


app = create_app()
