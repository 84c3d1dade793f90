"""Fixtures of the alerts and reports tests: a real SMTP server on 127.0.0.1 (aiosmtpd) keeping
what it receives, and the guarded outbound client allowed to call 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from backend.actions.outbound.client import OutboundClient
from tests.services import free_port


@dataclass
class Inbox:
    """aiosmtpd's handler: keeps each message; `reply` answers RCPT (None: accept) except for
    the `welcome` addresses."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    reply: str | None = None
    welcome: set[str] = field(default_factory=set)  # addresses accepted whatever `reply` says

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's name)
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.reply is not None and address not in self.welcome:
            return self.reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture
async def outbound() -> AsyncIterator[OutboundClient]:
    client = OutboundClient(["127.0.0.1"], timeout_seconds=2, max_redirects=0)
    yield client
    await client.aclose()
