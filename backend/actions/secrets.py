"""Actions' secrets (a webhook's signing secret, an import's header value), encrypted with
Fernet: the keys come from ACTIONS_SECRET_KEYS, or one generated and kept in the database."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from backend.auth import secrets as service_secrets
from backend.config import Settings
from backend.db import SessionMaker

GENERATED = "actions_fernet"


class SecretUnreadable(RuntimeError):
    """A stored secret no configured key opens (the keys were changed without the old one)."""


class Cipher:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, box: str) -> str:
        try:
            return self._fernet.decrypt(box.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise SecretUnreadable(
                "the action's secret cannot be read with the configured ACTIONS_SECRET_KEYS"
            ) from None


def hint(secret: str) -> str:
    """What may be shown of a secret after its creation: its last four characters."""
    return "…" + secret[-4:]


async def cipher(settings: Settings, sessions: SessionMaker) -> Cipher:
    configured = settings.actions_secret_keys
    if configured is not None:
        keys = [k.strip().encode() for k in configured.get_secret_value().split(",") if k.strip()]
        return Cipher(keys)
    raw = await service_secrets.load_or_create(sessions, GENERATED)
    return Cipher([base64.urlsafe_b64encode(raw[:32])])
