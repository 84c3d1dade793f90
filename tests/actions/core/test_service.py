"""The service the doors call: everyone sees and changes their own actions (admins all), roles
decide which kinds one may create, and the signing secret is in the creation's answer only."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, update

from backend.actions import answers, service
from backend.actions.models import Action, ActionRun, ActionTrigger
from backend.actions.schemas import ActionIn, ActionPatch
from backend.auth.limits import TooManyRequests
from backend.auth.principal import Principal
from backend.auth.roles import Role
from backend.db import session_scope
from backend.errors import Conflict, Forbidden, InvalidInput, NotFound
from backend.monitoring.models import AuditEvent
from backend.runtime import Runtime
from tests.actions.core.conftest import alert_in, create, person, webhook_in


def import_in(**params: object) -> ActionIn:
    return ActionIn.model_validate(
        {
            "name": "pull",
            "kind": "import",
            "params": {
                "url": "https://files.example.com/sales.csv",
                "datasource": "sales",
                **params,
            },
        }
    )


async def test_a_viewer_creates_an_alert_but_not_a_webhook_or_an_import(runtime: Runtime) -> None:
    viewer = await person(runtime, Role.VIEWER)

    action, secret = await create(runtime, viewer, alert_in())
    assert (action.kind, secret) == ("alert", None)
    with pytest.raises(Forbidden, match="Only uploaders and admins may create webhook"):
        await create(runtime, viewer, webhook_in())
    with pytest.raises(Forbidden, match="import"):
        await create(runtime, viewer, import_in())
    with pytest.raises(Forbidden, match="alerts sent to a url"):
        await create(
            runtime,
            viewer,
            alert_in(params={**alert_in().params, "url": "https://x.example.com/h"}),
        )


async def test_an_uploader_imports_only_into_a_datasource_they_may_write(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    other = await person(runtime, Role.UPLOADER)
    mine = import_in(datasource="owned_by_me")
    async with session_scope(runtime.sessions) as session:
        from backend.ingestion import access as ingestion_access

        await ingestion_access.claim(session, "owned_by_me", owner)

    action, secret = await create(runtime, owner, mine)
    assert action.kind == "import" and secret is None
    with pytest.raises(Forbidden, match="belongs to someone else"):
        await create(runtime, other, mine)


async def test_an_import_into_a_new_datasource_makes_it_the_owners(runtime: Runtime) -> None:
    """As a first upload does: the name is the owner's from the action's creation on."""
    owner = await person(runtime, Role.UPLOADER)
    other = await person(runtime, Role.UPLOADER)

    action, _ = await create(runtime, owner, import_in(datasource="not_yet_loaded"))
    assert action.params["datasource"] == "not_yet_loaded"
    with pytest.raises(Forbidden, match="belongs to someone else"):
        await create(runtime, other, import_in(datasource="not_yet_loaded"))


async def test_another_persons_action_is_not_found_and_admins_see_all(runtime: Runtime) -> None:
    ana, bo = await person(runtime, Role.UPLOADER), await person(runtime, Role.VIEWER)
    admin = await person(runtime, Role.ADMIN)
    hers, _ = await create(runtime, ana, webhook_in())
    his, _ = await create(runtime, bo, alert_in())
    assert runtime.cipher is not None

    async with session_scope(runtime.sessions) as session:
        with pytest.raises(NotFound):
            await service.get(session, bo, hers.id)
        with pytest.raises(NotFound):
            await service.execute(session, bo, hers.id)
        with pytest.raises(NotFound):
            await service.update(session, bo, hers.id, ActionPatch(name="x"), runtime.cipher)
        with pytest.raises(NotFound):
            await service.delete(session, bo, hers.id)
        assert [a.id for a in (await service.listing(session, bo, limit=50, offset=0))[0]] == [
            his.id
        ]
        seen, total = await service.listing(session, admin, limit=50, offset=0)
        assert {a.id for a in seen} == {hers.id, his.id} and total == 2
        assert (await service.get(session, admin, hers.id)).id == hers.id


async def test_the_signing_secret_is_in_the_creation_answer_only(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, secret = await create(runtime, owner, webhook_in())
    assert secret is not None and secret.startswith("whsec_")

    async with session_scope(runtime.sessions) as session:
        created = await answers.created_out(session, action, secret)
        got = await service.get(session, owner, action.id)
        shown = (await answers.action_outs(session, [got]))[0]
        audit = list(await session.scalars(select(AuditEvent)))
    assert created.secret == secret
    assert secret not in shown.model_dump_json() and shown.secret_hint == "…" + secret[-4:]
    assert secret not in json.dumps([a.detail for a in audit])
    assert ("create_action", action.id) in {(a.action, a.target) for a in audit}

    assert runtime.cipher is not None
    async with session_scope(runtime.sessions) as session:
        rotated = await service.rotate_secret(session, owner, action.id, runtime.cipher)
    assert rotated != secret and rotated.startswith("whsec_")


async def test_an_import_header_is_sealed_masked_and_kept_when_left_out(runtime: Runtime) -> None:
    admin = await person(runtime, Role.ADMIN)
    header = {"name": "Authorization", "value": "Bearer s3cr3t-token"}
    action, _ = await create(runtime, admin, import_in(header=header))
    assert runtime.cipher is not None
    assert "s3cr3t" not in json.dumps(action.params)

    async with session_scope(runtime.sessions) as session:
        changed = await service.update(
            session,
            admin,
            action.id,
            ActionPatch(params={"url": "https://files.example.com/v2.csv", "datasource": "sales"}),
            runtime.cipher,
        )
        out = (await answers.action_outs(session, [changed]))[0]
    assert out.params["header"] == {"name": "Authorization", "set": True}
    assert out.params["url"].endswith("/v2.csv")
    assert changed.secret_box is not None
    assert runtime.cipher.open(changed.secret_box) == "Bearer s3cr3t-token"


async def test_changes_keep_the_kind_replace_triggers_and_are_audited(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    assert runtime.cipher is not None
    schedule = [{"type": "schedule", "cron": "0 8 * * 1-5", "timezone": "Europe/Berlin"}]

    async with session_scope(runtime.sessions) as session:
        await service.update(
            session, owner, action.id, ActionPatch(triggers=schedule, enabled=False), runtime.cipher
        )
    async with session_scope(runtime.sessions) as session:
        triggers = list(await session.scalars(select(ActionTrigger)))
        out = (await answers.action_outs(session, [await service.get(session, owner, action.id)]))[
            0
        ]
        audit = [a.action for a in await session.scalars(select(AuditEvent))]
    assert [(t.type, t.cron) for t in triggers] == [("schedule", "0 8 * * 1-5")]
    assert out.enabled is False and out.kind == "webhook"
    assert out.triggers[0].words and "Europe/Berlin" in out.triggers[0].words
    assert len(out.triggers[0].next_times) == 5
    assert audit == ["create_action", "update_action"]


async def test_one_person_owns_at_most_actions_per_owner(runtime: Runtime) -> None:
    owner = await person(runtime, Role.VIEWER)
    limited = runtime.settings.model_copy(update={"actions_per_owner": 2})
    assert runtime.cipher is not None
    for _ in range(2):
        async with session_scope(runtime.sessions) as session:
            await service.create(session, owner, alert_in(), runtime.cipher, settings=limited)
    with pytest.raises(Conflict, match="ACTIONS_PER_OWNER"):
        async with session_scope(runtime.sessions) as session:
            await service.create(session, owner, alert_in(), runtime.cipher, settings=limited)


async def test_deleting_removes_the_action_with_its_runs(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    async with session_scope(runtime.sessions) as session:
        await service.execute(session, owner, action.id)
    async with session_scope(runtime.sessions) as session:
        await service.delete(session, owner, action.id)
    async with session_scope(runtime.sessions) as session:
        assert await session.get(Action, action.id) is None
        assert [a.action for a in await session.scalars(select(AuditEvent))] == [
            "create_action",
            "execute_action",
            "delete_action",
        ]


async def _import_with_header(runtime: Runtime) -> tuple[Principal, Action]:
    owner = await person(runtime, Role.UPLOADER)
    header = {"name": "Authorization", "value": "Bearer kept-secret"}
    action, _ = await create(runtime, owner, import_in(datasource="review_headers", header=header))
    return owner, action


async def _patched(runtime: Runtime, owner: Principal, action_id: str, url: str) -> Action:
    assert runtime.cipher is not None
    patch = ActionPatch(params={"url": url, "datasource": "review_headers"})
    async with session_scope(runtime.sessions) as session:
        return await service.update(session, owner, action_id, patch, runtime.cipher)


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example.net/a.csv",
        "http://files.example.com/sales.csv",
        "https://files.example.com:8443/sales.csv",
    ],
)
async def test_a_kept_header_is_not_sent_to_a_new_host(runtime: Runtime, url: str) -> None:
    owner, action = await _import_with_header(runtime)

    with pytest.raises(InvalidInput) as refused:
        await _patched(runtime, owner, action.id, url)

    assert refused.value.message == (
        "The address moved to another host, so the stored header is not sent there: give the "
        "header again, or remove it."
    )
    moved = await _patched(runtime, owner, action.id, "https://FILES.example.com:443/b.csv")
    assert moved.params["header"] == {"name": "Authorization"} and moved.secret_box is not None


async def test_an_s3_import_of_a_bucket_not_allowed_is_refused_at_creation(
    runtime: Runtime,
) -> None:
    owner = await person(runtime, Role.UPLOADER)
    allowed = runtime.settings.model_copy(update={"actions_s3_buckets": ["shared"]})
    assert runtime.cipher is not None
    for bucket in ("secret-bucket", "shared"):
        body = import_in(url=None, s3_uri=f"s3://{bucket}/drops/", datasource="from_s3")
        body.params.pop("url", None)
        async with session_scope(runtime.sessions) as session:
            if bucket == "shared":
                await service.create(session, owner, body, runtime.cipher, settings=allowed)
                continue
            with pytest.raises(InvalidInput, match="ACTIONS_S3_BUCKETS"):
                await service.create(session, owner, body, runtime.cipher, settings=allowed)


async def test_run_now_twice_gives_the_run_still_waiting(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    async with session_scope(runtime.sessions) as session:
        first = await service.execute(session, owner, action.id)
    async with session_scope(runtime.sessions) as session:
        again = await service.execute(session, owner, action.id)

    assert again.id == first.id


async def test_manual_runs_and_sends_again_are_bounded_per_hour(runtime: Runtime) -> None:
    owner = await person(runtime, Role.UPLOADER)
    action, _ = await create(runtime, owner, webhook_in())
    bounded = runtime.settings.model_copy(update={"actions_max_manual_per_hour": 2})
    made = []
    for _ in range(2):
        async with session_scope(runtime.sessions) as session:
            run = await service.execute(session, owner, action.id, settings=bounded)
            made.append(run.id)
        async with session_scope(runtime.sessions) as session:  # a worker ended it
            await session.execute(
                update(ActionRun).where(ActionRun.id == run.id).values(status="succeeded")
            )

    with pytest.raises(TooManyRequests) as refused:
        async with session_scope(runtime.sessions) as session:
            await service.execute(session, owner, action.id, settings=bounded)
    with pytest.raises(TooManyRequests):
        async with session_scope(runtime.sessions) as session:
            await service.redeliver(session, owner, action.id, made[0], settings=bounded)

    assert refused.value.status_code == 429 and int(refused.value.headers["Retry-After"]) > 0
    assert refused.value.message.endswith("(ACTIONS_MAX_MANUAL_PER_HOUR).")


async def _ended_run(runtime: Runtime, action_id: str, output: dict[str, object]) -> str:
    run_id = uuid.uuid4().hex
    async with session_scope(runtime.sessions) as session:
        session.add(
            ActionRun(
                id=run_id, action_id=action_id, trigger="manual", trigger_key=f"manual:{run_id}",
                status="succeeded", output=output,
            )
        )  # fmt: skip
    return run_id


async def test_send_again_repeats_a_delivery_never_an_imports_or_an_alerts_work(
    runtime: Runtime,
) -> None:
    """Found by a new analyst: "send again" on an import's run fetched a new file under the old
    run, and on an alert's run evaluated it again."""
    owner = await person(runtime, Role.UPLOADER)
    pulled, _ = await create(runtime, owner, import_in(datasource="pulled"))
    quiet, _ = await create(runtime, owner, alert_in())
    fetched = await _ended_run(runtime, pulled.id, {"files": 0})
    calm = await _ended_run(runtime, quiet.id, {"state": "ok", "fired": False})

    async with session_scope(runtime.sessions) as session:
        with pytest.raises(Conflict, match="An import's run fetches files"):
            await service.redeliver(session, owner, pulled.id, fetched)
        with pytest.raises(Conflict, match="nothing to send again"):
            await service.redeliver(session, owner, quiet.id, calm)

    hook, _ = await create(runtime, owner, webhook_in())
    sent = await _ended_run(runtime, hook.id, {"http_status": 200})
    async with session_scope(runtime.sessions) as session:
        again = await service.redeliver(session, owner, hook.id, sent)
    assert again.status == "queued"


async def test_triggers_are_listed_in_the_order_given(runtime: Runtime) -> None:
    """They were listed by a random id: the CLI's list showed "run by hand; At 08:30 …" for a
    schedule given first, one time in two."""
    owner = await person(runtime, Role.VIEWER)
    given = [
        {"type": "schedule", "cron": "30 8 * * 1-5", "timezone": "Europe/Berlin"},
        {"type": "event", "event": "task.succeeded"},
        {"type": "manual"},
    ]
    for _ in range(3):
        action, _ = await create(runtime, owner, alert_in(triggers=given))
        async with session_scope(runtime.sessions) as session:
            shown = (await answers.action_outs(session, [action]))[0]
        assert [t.type for t in shown.triggers] == ["schedule", "event", "manual"]
