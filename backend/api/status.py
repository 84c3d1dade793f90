"""REST: health for operators and load balancers (thin: calls backend.status.health)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from backend.deps import RuntimeDep, Viewer
from backend.monitoring import liveness as liveness_check
from backend.status import health as health_service

router = APIRouter(tags=["status"])
log = logging.getLogger(__name__)


@dataclass
class ProbeCheck:
    name: str
    status: health_service.Status


@dataclass
class Readiness:
    """Open to anyone (load balancers, orchestrators), so it names each check and its status and
    nothing else; the details are in /api/health for viewers."""

    ready: bool
    checks: list[ProbeCheck]


def _answers(model: type[Any], up: str, down: str) -> dict[int | str, dict[str, Any]]:
    """The body is the same whether the answer is 200 or 503: only the status tells."""
    return {200: {"model": model, "description": up}, 503: {"model": model, "description": down}}


def _body(result: health_service.Health) -> dict[str, Any]:
    body = dataclasses.asdict(result)
    body["checked_at"] = result.checked_at.isoformat()
    return body


@router.get(
    "/api/health",
    summary="Every part of the chain, checked now, with latencies",
    responses=_answers(
        health_service.Health,
        "Healthy, or degraded but serving",
        "Down: a part the service cannot work without does not answer",
    ),
)
async def api_health(runtime: RuntimeDep, principal: Viewer) -> JSONResponse:
    result = await health_service.health(runtime)
    status = 503 if result.status is health_service.Status.DOWN else 200
    return JSONResponse(_body(result), status_code=status)


@router.get(
    "/api/database/health",
    summary="The metadata database round trip",
    responses=_answers(
        health_service.Check, "The database answers", "The database does not answer"
    ),
)
async def database_health(runtime: RuntimeDep, principal: Viewer) -> JSONResponse:
    check = await health_service.check_database(runtime)
    status = 200 if check.status is health_service.Status.HEALTHY else 503
    return JSONResponse(dataclasses.asdict(check), status_code=status)


@dataclass
class Alive:
    """Open to anyone: alive, or stalled with why (no path, no address)."""

    status: str
    reason: str | None = None


@router.get(
    "/healthz",
    summary="Liveness: the event loop turns on time and the shared thread pools run calls",
    responses=_answers(Alive, "Alive", "Stalled: the process cannot serve; restart it"),
)
async def liveness(runtime: RuntimeDep) -> JSONResponse:
    found = await liveness_check.check(runtime.loop_lag, runtime.settings.liveness_timeout_seconds)
    if found.alive:
        return JSONResponse({"status": "alive"})
    log.error("liveness failed: %s", found.reason)
    return JSONResponse({"status": "stalled", "reason": found.reason}, status_code=503)


@router.get(
    "/readyz",
    summary="Readiness: the database and storage answer",
    responses=_answers(
        Readiness, "Ready", "Not ready: the database or the storage does not answer"
    ),
)
async def readiness(runtime: RuntimeDep) -> JSONResponse:
    checks = [
        await health_service.check_database(runtime),
        await health_service.check_storage(runtime),
    ]
    ready = all(c.status is health_service.Status.HEALTHY for c in checks)
    body = dataclasses.asdict(Readiness(ready, [ProbeCheck(c.name, c.status) for c in checks]))
    return JSONResponse(body, status_code=200 if ready else 503)
