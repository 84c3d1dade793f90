"""REST: the performance page's paths, in the `{"status": "success", "data": ...}` envelope, and
Prometheus text at /metrics (thin: calls backend.status.performance and backend.monitoring)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response

from backend.deps import Admin, RuntimeDep
from backend.ingestion.service import queue_state
from backend.monitoring import application
from backend.monitoring.metrics import CONTENT_TYPE
from backend.status import performance

router = APIRouter(tags=["status"])


def _success(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


@router.get("/api/performance/data-sources")
async def data_sources(runtime: RuntimeDep, principal: Admin) -> dict[str, Any]:
    return _success(await performance.dependencies(runtime))


@router.get("/api/performance/data-sources/{source_id}/active-queries")
async def active_queries(source_id: str, runtime: RuntimeDep, principal: Admin) -> dict[str, Any]:
    return _success(await performance.active_queries(runtime, source_id))


@router.get("/api/performance/data-sources/{source_id}/slow-queries")
async def slow_queries(source_id: str, runtime: RuntimeDep, principal: Admin) -> dict[str, Any]:
    return _success(await performance.slow_queries(runtime, source_id))


@router.get("/api/performance/pipelines")
async def pipelines(runtime: RuntimeDep, principal: Admin) -> dict[str, Any]:
    return _success(await performance.pipelines(runtime))


@router.get("/api/performance/application")
async def application_metrics(request: Request, principal: Admin) -> dict[str, Any]:
    return _success(application.summary(request.app.state.metrics, application.LOG_BUFFER))


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus text format")
async def metrics(request: Request, runtime: RuntimeDep, principal: Admin) -> Response:
    measured: application.Metrics = request.app.state.metrics
    depth, oldest = await queue_state(runtime.reading())
    measured.registry.queue_depth.set(depth)
    measured.registry.queue_oldest.set(oldest)
    return Response(measured.registry.exposition(), media_type=CONTENT_TYPE)
