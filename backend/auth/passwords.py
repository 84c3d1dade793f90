"""Passwords: Argon2id hashes from argon2-cffi (its default parameters, RFC 9106's low-memory
choice). A user without a password, or a name nobody has, is checked against a fixed dummy hash,
so a wrong name takes as long and answers the same as a wrong password."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from backend.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 200
_HASHER = PasswordHasher()
# The hash of a password nobody knows (made once per process): verifying against it costs what
# verifying a real one costs.
_DUMMY = _HASHER.hash("no user has this password: it only spends the time a check takes")


def check_new(password: str) -> str:
    """A new password's rules: 10 to 200 characters."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"a password has {MIN_LENGTH} to {MAX_LENGTH} characters",
            "Choose a longer one; a few unrelated words make a good one.",
        )
    return password


def hash_password(password: str) -> str:
    return _HASHER.hash(check_new(password))


def verify(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with no stored hash, the dummy is checked (and the
    answer is no), so the time spent says nothing."""
    try:
        return _HASHER.verify(stored or _DUMMY, password[:MAX_LENGTH]) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash on the next sign-in)."""
    try:
        return _HASHER.check_needs_rehash(stored)
    except (InvalidHashError, ValueError):
        return True
