"""A GraphQL request's transaction is committed before its response is sent, as a REST route's
is: an answer that says a mutation was done means it is recorded (a commit that fails answers an
error instead). The app is called as ASGI directly, so that the order of the database commit and
the response's first message can be seen."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from backend.auth.roles import Role
from backend.main import create_app
from backend.monitoring.models import SigmaSetting
from tests.conftest import Backend, make_token


async def test_a_mutation_is_committed_before_its_answer_is_sent(embedded: Backend) -> None:
    settings = embedded.settings.model_copy(update={"worker_concurrency": 0})
    application = create_app(settings, run_workers=False)
    order: list[str] = []

    def flushed(session: Session, _: object) -> None:
        if any(isinstance(o, SigmaSetting) for o in (*session.new, *session.dirty)):
            session.info["mode written"] = True

    def committed(session: Session) -> None:
        if session.info.pop("mode written", False):  # the mutation's transaction, no other
            order.append("commit")

    body = json.dumps({"query": "mutation { setSigmaMode(mode: STANDALONE) { mode } }"}).encode()
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            order.append("response")
        sent.append(message)

    async with application.router.lifespan_context(application):
        token = await make_token(application.state.runtime, Role.ADMIN)
        scope["headers"].append((b"authorization", f"Bearer {token}".encode()))
        event.listen(Session, "after_flush", flushed)
        event.listen(Session, "after_commit", committed)
        try:
            await application(scope, receive, send)
        finally:
            event.remove(Session, "after_flush", flushed)
            event.remove(Session, "after_commit", committed)

    answer = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert answer == {"data": {"setSigmaMode": {"mode": "STANDALONE"}}}, answer
    assert "commit" in order and order.index("commit") < order.index("response"), order
