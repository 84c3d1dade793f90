"""REST: the Sigma mode, the audit log and the seed's actions routes, in a `{"status":
"success", "data": ...}` envelope (thin: calls backend.status.sigma, backend.monitoring.audit,
and the same functions as /api/actions)."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query

from backend.actions.schemas import ActionIn
from backend.api import actions
from backend.api.errors import ErrorBody
from backend.api.query_params import one_value_each
from backend.auth import visibility
from backend.deps import Admin, RuntimeDep, SessionDep, Viewer
from backend.monitoring import audit
from backend.paging import MAX_OFFSET
from backend.status import sigma

router = APIRouter(tags=["status"])
_ACTION_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}


def _success(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


@router.get("/api/sigma/status")
async def sigma_status(runtime: RuntimeDep, principal: Viewer) -> dict[str, Any]:
    found = await sigma.status(runtime)
    change = found.last_change
    shown = dataclasses.replace(
        change, changed_by=visibility.actor_shown(change.changed_by, principal)
    )
    return _success(_plain(dataclasses.replace(found, last_change=shown)))


@router.get("/api/sigma/capabilities")
async def sigma_capabilities(runtime: RuntimeDep, principal: Viewer) -> dict[str, Any]:
    return _success(_plain(await sigma.capabilities(runtime)))


@router.post(
    "/api/sigma/toggle-mode",
    responses={409: {"description": "The mode cannot be used now, and why"}},
)
async def toggle_mode(
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Admin,
    mode: Annotated[
        sigma.Mode | None, Body(embed=True, description="default: the other mode")
    ] = None,
) -> dict[str, Any]:
    if mode is None:
        now = (await sigma.current(session)).mode
        mode = sigma.Mode.WAREHOUSE if now is sigma.Mode.STANDALONE else sigma.Mode.STANDALONE
    return _success(_plain(await sigma.set_mode(session, runtime, mode, principal.label)))


@router.get(
    "/api/performance/data-sources/{source_id}/access-logs",
    dependencies=[Depends(one_value_each())],
)
@router.get("/api/access-logs", dependencies=[Depends(one_value_each())])
async def access_logs(
    session: SessionDep,
    principal: Admin,
    action: str | None = None,
    search: Annotated[
        str | None,
        Query(
            max_length=audit.MAX_SEARCH,
            description="Only entries whose actor, action or target starts with this text "
            "(any case; % and _ match themselves)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    source_id: str | None = None,
) -> dict[str, Any]:
    page = await audit.entries(session, action=action, search=search, limit=limit, offset=offset)
    items = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
        }
        for e in page.items
    ]
    return _success(
        {
            "items": items,
            "total": page.total,
            "limit": limit,
            "offset": offset,
            "next_offset": page.next_offset,
        }
    )


@router.get(
    "/api/sigma/actions",
    dependencies=[Depends(one_value_each())],
    responses=_ACTION_ERRORS,
    summary="Your actions (an admin's: everyone's), as GET /api/actions, in the Sigma envelope",
)
async def sigma_actions(
    session: SessionDep, principal: Viewer, limit: actions.Limit = 50, offset: actions.Offset = 0
) -> dict[str, Any]:
    page = await actions.list_actions(session, principal, limit, offset)
    return _success(page.model_dump(mode="json"))


@router.post(
    "/api/sigma/actions",
    status_code=201,
    responses=_ACTION_ERRORS,
    summary="Create an action, as POST /api/actions, in the Sigma envelope",
)
async def sigma_create_action(
    body: ActionIn, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> dict[str, Any]:
    created = await actions.create_action(body, session, runtime, principal)
    return _success(created.model_dump(mode="json"))


@router.post(
    "/api/sigma/actions/{action_id}/execute",
    status_code=202,
    responses=_ACTION_ERRORS,
    summary="Run an action now, as POST /api/actions/{id}/execute, in the Sigma envelope",
)
async def sigma_execute_action(
    action_id: actions.ActionId, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> dict[str, Any]:
    run = await actions.execute_action(action_id, session, runtime, principal)
    return _success(run.model_dump(mode="json"))
