"""Actions over GraphQL keep REST's rules: the same checks (a field named in the error), roles,
whose actions one sees, the secret in createAction's answer only, runs, and a schedule in words
(a schedule that is not one is valid: false with the reason, not an error)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.test_actions import People, alert, people, unreachable, webhook

__all__ = ["people"]  # the fixture, shared with the REST tests

ACTION = (
    "id name kind params enabled owner secretHint createdAt updatedAt "
    "triggers { id type cron timezone event datasource words nextTimes } "
    "lastRun { id status trigger }"
)
RUN = (
    "id actionId trigger status attempts deliveries output error createdAt "
    "deliveryLog { attempt at channel target statusCode latencyMs responseHead error refused }"
)
CREATE = f"mutation CreateAction($i: ActionInput!) {{ createAction(input: $i) {{ secret action {{ {ACTION} }} }} }}"


async def ask(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    answer = await client.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def code(body: dict[str, Any]) -> str:
    assert body.get("errors"), body
    found: str = body["errors"][0]["extensions"]["code"]
    return found


async def test_graphql_creates_lists_runs_and_deletes_like_rest(people: People) -> None:
    made = await ask(people.vera, CREATE, i=alert())
    assert "errors" not in made, made
    action = made["data"]["createAction"]["action"]
    assert made["data"]["createAction"]["secret"] is None
    assert action["kind"] == "alert" and action["params"]["datasource"] == "sales"
    trigger = action["triggers"][0]
    assert trigger["type"] == "schedule" and trigger["timezone"] == "Europe/Berlin"
    assert trigger["words"] and len(trigger["nextTimes"]) == 5

    listed = await ask(
        people.vera, f"query ListActions {{ actions {{ total items {{ {ACTION} }} }} }}"
    )
    assert listed["data"]["actions"]["total"] == 1
    assert listed["data"]["actions"]["items"][0]["id"] == action["id"]
    rest = (await people.vera.get(f"/api/actions/{action['id']}")).json()
    assert rest["name"] == action["name"] and rest["params"] == action["params"]

    ran = await ask(
        people.vera,
        f"mutation ExecuteAction($id: ID!) {{ executeAction(id: $id) {{ {RUN} }} }}",
        id=action["id"],
    )
    assert ran["data"]["executeAction"]["status"] == "queued", ran
    runs = await ask(
        people.vera,
        f"query ActionRuns($id: ID!) {{ actionRuns(actionId: $id) {{ total items {{ {RUN} }} }} }}",
        id=action["id"],
    )
    assert runs["data"]["actionRuns"]["total"] == 1
    assert runs["data"]["actionRuns"]["items"][0]["id"] == ran["data"]["executeAction"]["id"]

    off = await ask(
        people.vera,
        "mutation UpdateAction($id: ID!, $p: ActionPatchInput!) { updateAction(id: $id, input: $p) { enabled name } }",
        id=action["id"],
        p={"enabled": False, "name": "Quiet"},
    )
    assert off["data"]["updateAction"] == {"enabled": False, "name": "Quiet"}
    hidden = await ask(people.otto, "query($id: ID!) { action(id: $id) { id } }", id=action["id"])
    assert code(hidden) == "NOT_FOUND"
    deleted = await ask(
        people.vera, "mutation DeleteAction($id: ID!) { deleteAction(id: $id) }", id=action["id"]
    )
    assert deleted["data"]["deleteAction"] is True
    gone = await ask(people.vera, "query($id: ID!) { action(id: $id) { id } }", id=action["id"])
    assert code(gone) == "NOT_FOUND"


async def test_graphql_keeps_the_roles_and_the_checks(people: People) -> None:
    refused = await ask(people.vera, CREATE, i=webhook(unreachable()))
    assert code(refused) == "FORBIDDEN"
    assert "uploader" in refused["errors"][0]["message"]

    bad = await ask(
        people.ulla, CREATE, i=alert() | {"triggers": [{"type": "schedule", "cron": "61 * * * *"}]}
    )
    assert code(bad) == "INVALID_INPUT"
    assert "cron" in bad["errors"][0]["message"], bad
    unknown = await ask(
        people.ulla,
        CREATE,
        i=webhook(unreachable()) | {"triggers": [{"type": "event", "event": "moon.rose"}]},
    )
    assert code(unknown) == "INVALID_INPUT" and "event" in unknown["errors"][0]["message"]


async def test_the_secret_is_in_create_actions_answer_only(people: People) -> None:
    made = await ask(people.ulla, CREATE, i=webhook(unreachable()))
    secret = made["data"]["createAction"]["secret"]
    action = made["data"]["createAction"]["action"]
    assert secret.startswith("whsec_") and secret.endswith(action["secretHint"].lstrip("…"))
    read = await people.ulla.post(
        "/graphql",
        json={
            "query": f'{{ actions {{ items {{ {ACTION} }} }} action(id: "{action["id"]}") {{ {ACTION} }} }}'
        },
    )
    assert read.status_code == 200 and secret not in read.text, read.text
    rotated = await ask(
        people.ulla,
        "mutation RotateActionSecret($id: ID!) { rotateActionSecret(id: $id) }",
        id=action["id"],
    )
    assert rotated["data"]["rotateActionSecret"].startswith("whsec_")
    assert rotated["data"]["rotateActionSecret"] != secret


async def test_describe_schedule_says_words_or_why_not(people: People) -> None:
    query = (
        "query DescribeSchedule($c: String!, $z: String!) { describeSchedule(cron: $c, timezone: $z) "
        "{ valid error words nextTimes } }"
    )
    good = (await ask(people.vera, query, c="0 8 * * 1-5", z="Europe/Berlin"))["data"]
    assert good["describeSchedule"]["valid"] is True
    assert "Europe/Berlin" in good["describeSchedule"]["words"]
    assert len(good["describeSchedule"]["nextTimes"]) == 5
    bad = await ask(people.vera, query, c="0 8 * *", z="UTC")
    assert "errors" not in bad, bad
    said = bad["data"]["describeSchedule"]
    assert said["valid"] is False and said["nextTimes"] == [] and said["words"] is None
    assert said["error"].endswith(".") and "cron" in said["error"]
    zone = (await ask(people.vera, query, c="0 8 * * *", z="Nowhere/Town"))["data"]
    assert zone["describeSchedule"]["valid"] is False
    assert "Nowhere/Town" in zone["describeSchedule"]["error"]
