"""Actions' secrets are sealed with MultiFernet: the first key seals, every listed key opens, so
keys rotate without losing what was sealed."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from backend.actions import secrets
from backend.actions.secrets import Cipher, SecretUnreadable
from backend.runtime import Runtime


def test_a_sealed_secret_opens_and_is_not_readable_as_it_is() -> None:
    cipher = Cipher([Fernet.generate_key()])
    box = cipher.seal("whsec_abc")
    assert "whsec_abc" not in box
    assert cipher.open(box) == "whsec_abc"


def test_rotation_keeps_old_secrets_readable_until_the_old_key_goes() -> None:
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_before = Cipher([old]).seal("header-value")
    rotated = Cipher([new, old])

    assert rotated.open(sealed_before) == "header-value"
    sealed_after = rotated.seal("next")
    assert Cipher([new]).open(sealed_after) == "next"  # the first key seals
    with pytest.raises(SecretUnreadable, match="ACTIONS_SECRET_KEYS"):
        Cipher([new]).open(sealed_before)


async def test_keys_come_from_the_setting_or_one_kept_in_the_database(runtime: Runtime) -> None:
    kept = await secrets.cipher(runtime.settings, runtime.sessions)
    again = await secrets.cipher(runtime.settings, runtime.sessions)
    assert again.open(kept.seal("x")) == "x"  # the generated key is kept, not made anew

    key = Fernet.generate_key()
    configured = runtime.settings.model_copy(
        update={
            "actions_secret_keys": SecretStr(f"{key.decode()}, {Fernet.generate_key().decode()}")
        }
    )
    from_setting = await secrets.cipher(configured, runtime.sessions)
    assert Cipher([key]).open(from_setting.seal("y")) == "y"
