"""GraphQL: actions (imports, webhooks, alerts, reports), with the same rules and functions as
REST (backend.actions.service); the types are derived from backend.actions.schemas, and an
input is checked by the REST body's models."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, TypeVar, cast

import strawberry
from pydantic import BaseModel, ValidationError
from strawberry.experimental import pydantic
from strawberry.scalars import JSON

from backend.actions import answers, schemas, service
from backend.actions.secrets import Cipher
from backend.actions.secrets import cipher as make_cipher
from backend.db import session_scope
from backend.errors import InvalidInput, NotFound
from backend.schema.context import Info
from backend.schema.permissions import IsViewer

Model = TypeVar("Model", bound=BaseModel)
_ID = re.compile(r"[0-9a-f]{32}")


@pydantic.type(model=schemas.TriggerOut, all_fields=True, description="When an action runs")
class ActionTrigger:
    id: strawberry.ID
    type: str = strawberry.field(description="manual, schedule or event")
    next_times: list[dt.datetime] = strawberry.field(description="A schedule's next five times")


@pydantic.type(
    model=schemas.DeliveryOut,
    all_fields=True,
    description="One attempt to deliver a run's result: the answer's status, latency and first "
    "1 KB",
)
class ActionDelivery:
    channel: str = strawberry.field(description="http or smtp")


@pydantic.type(model=schemas.RunOut, all_fields=True, description="One execution of an action")
class ActionRun:
    id: strawberry.ID
    action_id: strawberry.ID
    trigger: str = strawberry.field(description="manual, schedule or event")
    status: str = strawberry.field(description="queued, running, succeeded or failed")
    output: JSON | None = strawberry.field(description="task_ids, http_status, latency_ms, ...")
    error: JSON | None = strawberry.field(description="code, message, hint")
    delivery_log: list[ActionDelivery]
    event: JSON | None = strawberry.field(
        description="What started an event run: type, task_id, datasource, filename"
    )


@pydantic.type(
    model=schemas.ActionOut,
    all_fields=True,
    description="An import, webhook, alert or report that runs on its triggers",
)
class Action:
    id: strawberry.ID
    kind: str = strawberry.field(description="import, webhook, alert or report")
    params: JSON = strawberry.field(description="The kind's parameters (no secret)")
    triggers: list[ActionTrigger]
    last_run: ActionRun | None


@strawberry.type
class ActionPage:
    items: list[Action]
    total: int


@strawberry.type
class ActionRunPage:
    items: list[ActionRun]
    total: int


@strawberry.type(description="A schedule read: in words with its next times, or why it is not one")
class ScheduleDescription:
    valid: bool
    error: str | None = None
    words: str | None = None
    next_times: list[dt.datetime] = strawberry.field(default_factory=list)


@strawberry.type(description="A created action, and its signing secret (shown this once)")
class ActionCreated:
    action: Action
    secret: str | None


@strawberry.input(description="When an action runs: manual, schedule (cron, timezone) or event")
class TriggerInput:
    type: str
    cron: str | None = None
    timezone: str | None = None
    event: str | None = None
    datasource: str | None = None


@strawberry.input(description="An action, as the REST body of POST /api/actions")
class ActionInput:
    name: str
    kind: str
    params: JSON
    triggers: list[TriggerInput] | None = None
    enabled: bool = True


@strawberry.input(description="The fields to change; those left out keep their value")
class ActionPatchInput:
    name: str | None = None
    params: JSON | None = None
    triggers: list[TriggerInput] | None = None
    enabled: bool | None = None


def _checked(model: type[Model], value: dict[str, Any]) -> Model:
    """`value` read by the REST body's model, its problems said field by field."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        problems = " ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'input'}: "
            f"{str(e['msg']).removeprefix('Value error, ').rstrip('.')}."
            for e in exc.errors()[:10]
        )
        raise InvalidInput(f"The action is not valid. {problems}", "Change these fields.") from None


def _triggers(given: list[TriggerInput] | None) -> list[dict[str, Any]] | None:
    if given is None:
        return None
    return [{k: v for k, v in vars(t).items() if v is not None} for t in given]


def _fields(given: ActionInput | ActionPatchInput) -> dict[str, Any]:
    fields = {k: v for k, v in vars(given).items() if k != "triggers" and v is not None}
    found = _triggers(given.triggers)
    return fields if found is None else {**fields, "triggers": found}


def _id(value: strawberry.ID, what: str = "action") -> str:
    """An action's or run's id (32 hex digits); anything else names none."""
    text = str(value)
    if not _ID.fullmatch(text):
        raise NotFound(
            f"no {what} {text[:40].replace(chr(0), '')!r}", f"List the {what}s you may see."
        )
    return text


def _action(found: schemas.ActionOut) -> Action:
    action = Action.from_pydantic(found)
    action.params = cast(JSON, found.params)
    action.last_run = None if found.last_run is None else _run(found.last_run)
    return action


def _run(found: schemas.RunOut) -> ActionRun:
    run = ActionRun.from_pydantic(found)
    run.output = cast(JSON, found.output)
    run.error = cast(JSON, found.error)
    return run


async def _cipher(info: Info) -> Cipher:
    runtime = info.context.runtime
    return runtime.cipher or await make_cipher(runtime.settings, runtime.sessions)


@strawberry.type
class ActionQuery:
    @strawberry.field(
        permission_classes=[IsViewer], description="Your actions (an admin's: everyone's)"
    )
    async def actions(self, info: Info, limit: int = 50, offset: int = 0) -> ActionPage:
        async with session_scope(info.context.runtime.reading()) as session:
            found, total = await service.listing(
                session, info.context.principal, limit=limit, offset=offset
            )
            items = await answers.action_outs(session, found)
        return ActionPage(items=[_action(a) for a in items], total=total)

    @strawberry.field(permission_classes=[IsViewer], description="One action")
    async def action(self, info: Info, id: strawberry.ID) -> Action | None:
        async with session_scope(info.context.runtime.reading()) as session:
            found = await service.get(session, info.context.principal, _id(id))
            (out,) = await answers.action_outs(session, [found])
        return _action(out)

    @strawberry.field(
        permission_classes=[IsViewer],
        description="An action's runs, newest first, each with its deliveries' answers",
    )
    async def action_runs(
        self, info: Info, action_id: strawberry.ID, limit: int = 20, offset: int = 0
    ) -> ActionRunPage:
        async with session_scope(info.context.runtime.reading()) as session:
            found, total = await service.runs(
                session, info.context.principal, _id(action_id), limit=limit, offset=offset
            )
            items = await answers.run_outs(session, found)
        return ActionRunPage(items=[_run(r) for r in items], total=total)

    @strawberry.field(
        permission_classes=[IsViewer],
        description="A schedule (cron in a time zone) in words with its next five times; a "
        "schedule that is not one is valid: false with the reason",
    )
    def describe_schedule(self, cron: str, timezone: str = "UTC") -> ScheduleDescription:
        try:
            said = service.describe(cron, timezone, dt.datetime.now(dt.UTC))
        except ValueError as exc:
            return ScheduleDescription(valid=False, error=str(exc))
        return ScheduleDescription(valid=True, words=said.words, next_times=said.next)


@strawberry.type
class ActionMutation:
    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="Create an action; a webhook's signing secret is in this answer only",
    )
    async def create_action(self, info: Info, input: ActionInput) -> ActionCreated:
        body = _checked(schemas.ActionIn, _fields(input))
        context = info.context
        settings = context.runtime.settings
        sealing = await _cipher(info)
        found, secret = await service.create(
            context.session,
            context.principal,
            body,
            sealing,
            settings=settings,
            analytics=context.runtime.analytics,
        )
        out = await answers.created_out(context.session, found, None)
        return ActionCreated(action=_action(out), secret=secret)

    @strawberry.mutation(permission_classes=[IsViewer], description="Change an action")
    async def update_action(self, info: Info, id: strawberry.ID, input: ActionPatchInput) -> Action:
        patch = _checked(schemas.ActionPatch, _fields(input))
        context = info.context
        sealing = await _cipher(info)
        found = await service.update(
            context.session,
            context.principal,
            _id(id),
            patch,
            sealing,
            settings=context.runtime.settings,
            analytics=context.runtime.analytics,
        )
        (out,) = await answers.action_outs(context.session, [found])
        return _action(out)

    @strawberry.mutation(permission_classes=[IsViewer], description="Delete an action")
    async def delete_action(self, info: Info, id: strawberry.ID) -> bool:
        await service.delete(info.context.session, info.context.principal, _id(id))
        return True

    @strawberry.mutation(
        permission_classes=[IsViewer], description="Run an action now: its run, queued"
    )
    async def execute_action(self, info: Info, id: strawberry.ID) -> ActionRun:
        context = info.context
        settings = context.runtime.settings
        found = await service.execute(
            context.session, context.principal, _id(id), settings=settings
        )
        return _run(answers.run_out(found))

    @strawberry.mutation(permission_classes=[IsViewer], description="Send a run's event again")
    async def redeliver_run(
        self, info: Info, action_id: strawberry.ID, run_id: strawberry.ID
    ) -> ActionRun:
        context = info.context
        found = await service.redeliver(
            context.session,
            context.principal,
            _id(action_id),
            _id(run_id, "run"),
            settings=context.runtime.settings,
        )
        (again,) = await answers.run_outs(context.session, [found])
        return _run(again)

    @strawberry.mutation(
        permission_classes=[IsViewer],
        description="A new signing secret for the action, shown this once",
    )
    async def rotate_action_secret(self, info: Info, id: strawberry.ID) -> str:
        context = info.context
        return await service.rotate_secret(
            context.session, context.principal, _id(id), await _cipher(info)
        )


__all__: list[Any] = ["ActionMutation", "ActionQuery"]
