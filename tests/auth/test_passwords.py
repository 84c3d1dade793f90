"""Argon2 is slow on purpose (tens of milliseconds a hash): sign-in must not hold the event loop
while it runs, or anyone trying passwords would stall every other request."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from backend.auth import passwords, sign_in
from backend.db import session_scope
from tests.auth.test_sign_in import PASSWORD, make_person
from tests.conftest import Backend, app_for


async def test_password_hashes_run_off_the_event_loop(
    embedded: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    verify = passwords.verify

    def watched(*args: Any) -> bool:
        seen.append(threading.current_thread().name)
        return verify(*args)

    monkeypatch.setattr(passwords, "verify", watched)
    loop_thread = threading.current_thread().name
    async with app_for(embedded) as app:
        await make_person(app.runtime, "ola")
        async with session_scope(app.runtime.sessions) as session:
            assert await sign_in.check_password(session, "ola", PASSWORD) is not None
            assert await sign_in.check_password(session, "nobody", PASSWORD) is None
    assert len(seen) == 2
    assert loop_thread not in seen, seen
