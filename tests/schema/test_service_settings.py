"""CURRENCY: an ISO 4217 code the app shows on money figures, read by viewers from the GraphQL
field serviceSettings; unset, money figures are plain numbers."""

from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from backend.auth.roles import Role
from backend.config import Settings
from tests.conftest import Backend, app_for

QUERY = {"query": "{ serviceSettings { currency } }"}


async def test_a_viewer_reads_the_currency_the_service_was_given(embedded: Backend) -> None:
    with_euros = dataclasses.replace(
        embedded, settings=embedded.settings.model_copy(update={"currency": "EUR"})
    )
    async with app_for(with_euros) as app:
        viewer = app.client_as(await app.token(Role.VIEWER))
        answer = (await viewer.post("/graphql", json=QUERY)).json()
        assert answer == {"data": {"serviceSettings": {"currency": "EUR"}}}

        anonymous = (await app.client_as(None).post("/graphql", json=QUERY)).json()
        assert anonymous["data"] is None
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"


async def test_without_a_currency_money_is_plain_numbers(embedded: Backend) -> None:
    async with app_for(embedded) as app:
        answer = (await app.client.post("/graphql", json=QUERY)).json()
        assert answer == {"data": {"serviceSettings": {"currency": None}}}


def test_the_currency_is_three_letters_in_capitals(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CURRENCY", " eur ")
    assert Settings().currency == "EUR"
    monkeypatch.setenv("CURRENCY", "")
    assert Settings().currency is None
    for wrong in ("EURO", "E1R", "€", "ÉUR"):
        monkeypatch.setenv("CURRENCY", wrong)
        with pytest.raises(ValidationError, match="CURRENCY must be an ISO 4217 code"):
            Settings()
