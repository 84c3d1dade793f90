"""The service's generated secrets: created once by whichever process needs one first."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from backend.auth.models import ServiceSecret
from backend.db import SessionMaker, session_scope, utcnow

URL_SIGNING = "url_signing"


async def load_or_create(sessions: SessionMaker, name: str) -> bytes:
    """The secret called `name`; two processes starting together end up with the same one."""
    async with session_scope(sessions) as session:
        found = await session.get(ServiceSecret, name)
        if found is not None:
            return bytes.fromhex(found.value)
    try:
        async with session_scope(sessions) as session:
            value = secrets.token_hex(32)
            session.add(ServiceSecret(name=name, value=value, created_at=utcnow()))
        return bytes.fromhex(value)
    except IntegrityError:  # another process created it first: use theirs
        async with session_scope(sessions) as session:
            found = await session.get(ServiceSecret, name)
            assert found is not None
            return bytes.fromhex(found.value)
