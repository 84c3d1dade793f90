"""API tokens: `sit_` + 32 random base62 characters + a 6-character checksum.

The prefix lets secret scanners find a leaked token, and the checksum lets them (and us) tell a
real token from a random string without a database lookup. Only a SHA-256 of the token is stored;
the token itself is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib

PREFIX = "sit_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BODY = 32
_CHECK = 6
LENGTH = len(PREFIX) + _BODY + _CHECK


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return "".join(reversed(digits))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), _CHECK)


def new_token() -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_BODY))
    return f"{PREFIX}{body}{_checksum(body)}"


def well_formed(token: str) -> bool:
    """Looks like one of ours (prefix, length, alphabet, checksum): cheap, before any lookup."""
    if len(token) != LENGTH or not token.startswith(PREFIX):
        return False
    body, check = token[len(PREFIX) : -_CHECK], token[-_CHECK:]
    return all(c in _ALPHABET for c in body) and secrets.compare_digest(check, _checksum(body))


def digest(token: str) -> str:
    """What is stored: a random 190-bit token needs no slow hash, SHA-256 is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def hint(token: str) -> str:
    """A harmless way to recognise a token in lists: its prefix and last four characters."""
    return f"{PREFIX}…{token[-4:]}"
