"""One's e-mail address on the profile (where a viewer's reports may go): set, shown and cleared
over REST and GraphQL; anything but one plain address is refused with what to give (a report's
addresses too: `$` let a trailing line break through)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from backend.actions.schemas import ReportParams
from backend.auth.roles import Role
from tests.auth.test_users import graphql, user_token
from tests.conftest import App


async def test_the_profile_keeps_one_email_address(app: App) -> None:
    token = await user_token(app, "ana", Role.VIEWER)
    async with app.client_as(token) as ana:
        assert (await ana.get("/api/users/me")).json()["email"] is None
        changed = await ana.patch("/api/users/me", json={"email": "ana@example.com"})
        assert changed.status_code == 200 and changed.json()["email"] == "ana@example.com"
        for bad in ("Ana <ana@example.com>", "ana@example.com\r\nBcc: x@example.com", "a,b@x.io"):
            refused = await ana.patch("/api/users/me", json={"email": bad})
            assert refused.status_code == 422, refused.text
            assert "Give one address such as ana@example.com" in refused.text
        assert (await ana.get("/api/users/me")).json()["email"] == "ana@example.com"
        cleared = await ana.patch("/api/users/me", json={"email": None})
        assert cleared.json()["email"] is None


async def test_graphql_sets_the_same_email(app: App) -> None:
    token = await user_token(app, "ivo", Role.VIEWER)
    query = "mutation($e: String) { updateMe(input: {email: $e}) { email } }"
    changed: dict[str, Any] = await graphql(app, token, query, e="ivo@example.com")
    assert changed["data"]["updateMe"] == {"email": "ivo@example.com"}
    me = await graphql(app, token, "{ me { email } }")
    assert me["data"]["me"] == {"email": "ivo@example.com"}
    bad = await graphql(app, token, query, e="not an address")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_a_reports_address_with_a_trailing_line_break_is_refused() -> None:
    params = {"query": {"datasource": "shop", "measures": [{"aggregate": "count"}]}}
    with pytest.raises(ValidationError):
        ReportParams.model_validate({**params, "to": ["ana@example.com\n"]})
    assert ReportParams.model_validate({**params, "to": ["ana@example.com"]}).to
