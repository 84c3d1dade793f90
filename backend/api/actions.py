"""REST for actions (imports, webhooks, alerts, reports): the definitions, running one now, its
runs with each delivery's answer, sending a run again, a new signing secret, and a schedule read
in words. Thin: the rules live in backend.actions.service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field
from starlette.convertors import Convertor, register_url_convertor

from backend.actions import access, answers, cron, service
from backend.actions.schemas import (
    ActionCreatedOut,
    ActionIn,
    ActionOut,
    ActionPage,
    ActionPatch,
    RunOut,
    RunPage,
    ScheduleOut,
)
from backend.actions.secrets import Cipher
from backend.actions.secrets import cipher as make_cipher
from backend.api.errors import ErrorBody
from backend.api.query_params import one_value_each
from backend.deps import RuntimeDep, SessionDep, Viewer
from backend.errors import InvalidInput
from backend.paging import MAX_OFFSET
from backend.runtime import Runtime


class _HexId(Convertor[str]):
    """An action's id (32 hex digits) in a route's path, so that /api/actions/schedule-preview
    is no action's path (nor does a 405's Allow list an action's methods for it)."""

    regex = "[0-9a-f]{32}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class _NotAction(Convertor[str]):
    """Any other path under /api/actions/ (not an id, nor the schedule preview)."""

    regex = "(?![0-9a-f]{32}(?:/|$))(?!schedule-preview$).+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("hex_id", _HexId())
register_url_convertor("not_action", _NotAction())

router = APIRouter(
    prefix="/api/actions", tags=["actions"], dependencies=[Depends(one_value_each())]
)
_ERROR: dict[str, Any] = {"model": ErrorBody}
_MISSING: dict[int | str, dict[str, Any]] = {404: _ERROR, 422: _ERROR}
_HEX = "^[0-9a-f]{32}$"
ActionId = Annotated[str, Path(pattern=_HEX, description="The action's id")]
RunId = Annotated[str, Path(pattern=_HEX, description="The run's id")]
Limit = Annotated[int, Query(ge=1, le=service.MAX_PAGE)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]


class SecretOut(BaseModel):
    secret: str = Field(description="The new signing secret (whsec_...): shown in this answer only")


async def secrets_cipher(runtime: Runtime) -> Cipher:
    """The cipher that seals actions' secrets (ACTIONS_SECRET_KEYS, or the generated key)."""
    return runtime.cipher or await make_cipher(runtime.settings, runtime.sessions)


def schedule(cron_text: str, timezone: str, now: dt.datetime | None = None) -> ScheduleOut:
    """A schedule in words and its next five times; InvalidInput (422) with the sentence."""
    try:
        said = service.describe(cron_text, timezone, now or dt.datetime.now(dt.UTC))
    except ValueError as exc:
        raise InvalidInput(
            str(exc),
            "Give 5 fields, such as '0 8 * * 1-5', and an IANA time zone, such as Europe/Berlin.",
        ) from None
    return ScheduleOut(
        cron=" ".join(cron_text.split()), timezone=timezone, words=said.words, next_times=said.next
    )


@router.get(
    "/schedule-preview",
    responses={401: _ERROR, 422: _ERROR},
    summary="A schedule (cron and time zone) in words, with its next five times",
)
async def schedule_preview(
    principal: Viewer,
    cron_text: Annotated[
        str,
        Query(
            alias="cron",
            min_length=1,
            max_length=cron.MAX_EXPRESSION,
            description="5 fields (minute hour day month weekday), or 6 with seconds first",
        ),
    ],
    timezone: Annotated[
        str, Query(min_length=1, max_length=64, description="An IANA name: Europe/Berlin")
    ] = "UTC",
) -> ScheduleOut:
    return schedule(cron_text, timezone)


@router.get(
    "",
    responses={401: _ERROR, 422: _ERROR},
    summary="Your actions (an admin's: everyone's), newest first",
)
async def list_actions(
    session: SessionDep, principal: Viewer, limit: Limit = 50, offset: Offset = 0
) -> ActionPage:
    found, total = await service.listing(session, principal, limit=limit, offset=offset)
    return await answers.action_page(session, found, total, limit=limit, offset=offset)


@router.post(
    "",
    status_code=201,
    responses={401: _ERROR, 403: _ERROR, 409: _ERROR, 422: _ERROR},
    summary="Create an action; a webhook's signing secret is in this answer only",
)
async def create_action(
    body: ActionIn, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> ActionCreatedOut:
    sealing = await secrets_cipher(runtime)
    found, secret = await service.create(
        session, principal, body, sealing, settings=runtime.settings, analytics=runtime.analytics
    )
    return await answers.created_out(session, found, secret)


@router.get("/{action_id:hex_id}", responses={401: _ERROR, **_MISSING}, summary="One action")
async def get_action(action_id: ActionId, session: SessionDep, principal: Viewer) -> ActionOut:
    (found,) = await answers.action_outs(
        session, [await service.get(session, principal, action_id)]
    )
    return found


@router.patch(
    "/{action_id:hex_id}",
    responses={401: _ERROR, 403: _ERROR, 409: _ERROR, **_MISSING},
    summary="Change an action: the fields given (enabled: false stops its triggers)",
)
async def update_action(
    action_id: ActionId,
    body: ActionPatch,
    session: SessionDep,
    runtime: RuntimeDep,
    principal: Viewer,
) -> ActionOut:
    sealing = await secrets_cipher(runtime)
    found = await service.update(
        session,
        principal,
        action_id,
        body,
        sealing,
        settings=runtime.settings,
        analytics=runtime.analytics,
    )
    (changed,) = await answers.action_outs(session, [found])
    return changed


@router.delete(
    "/{action_id:hex_id}",
    status_code=204,
    responses={401: _ERROR, **_MISSING},
    summary="Delete an action and its runs",
)
async def delete_action(action_id: ActionId, session: SessionDep, principal: Viewer) -> Response:
    await service.delete(session, principal, action_id)
    return Response(status_code=204)


@router.post(
    "/{action_id:hex_id}/execute",
    status_code=202,
    responses={401: _ERROR, 403: _ERROR, 409: _ERROR, 429: _ERROR, **_MISSING},
    summary="Run an action now: the run, queued (its runs show how it ends)",
)
async def execute_action(
    action_id: ActionId, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> RunOut:
    run = await service.execute(session, principal, action_id, settings=runtime.settings)
    return answers.run_out(run)


@router.get(
    "/{action_id:hex_id}/runs",
    responses={401: _ERROR, **_MISSING},
    summary="An action's runs, newest first, each with its deliveries' answers",
)
async def list_runs(
    action_id: ActionId,
    session: SessionDep,
    principal: Viewer,
    limit: Limit = 20,
    offset: Offset = 0,
) -> RunPage:
    found, total = await service.runs(session, principal, action_id, limit=limit, offset=offset)
    return await answers.run_page(session, found, total, limit=limit, offset=offset)


@router.post(
    "/{action_id:hex_id}/runs/{run_id}/redeliver",
    responses={401: _ERROR, 403: _ERROR, 409: _ERROR, **_MISSING},
    summary="Send a run's event again (a new delivery, signed afresh)",
)
async def redeliver_run(
    action_id: ActionId, run_id: RunId, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> RunOut:
    run = await service.redeliver(session, principal, action_id, run_id, settings=runtime.settings)
    (again,) = await answers.run_outs(session, [run])
    return again


@router.post(
    "/{action_id:hex_id}/rotate-secret",
    responses={401: _ERROR, 403: _ERROR, 409: _ERROR, **_MISSING},
    summary="A new signing secret for the action, shown in this answer only (the old one stops "
    "being used)",
)
async def rotate_secret(
    action_id: ActionId, session: SessionDep, runtime: RuntimeDep, principal: Viewer
) -> SecretOut:
    sealing = await secrets_cipher(runtime)
    return SecretOut(secret=await service.rotate_secret(session, principal, action_id, sealing))


@router.api_route(
    "/{rest:not_action}",
    methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
    include_in_schema=False,
)
async def no_such_action(rest: str, principal: Viewer) -> Response:
    """A path that names no action: 404 whatever the method (as an unknown id is)."""
    raise access.not_found(rest.partition("/")[0])
