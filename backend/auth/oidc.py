"""External identity: JWTs from an OpenID Connect provider, verified with PyJWT against the
provider's JWKS (fetched over HTTPS, cached, refreshed when an unknown key id appears).

A token is accepted when its signature is one of the provider's keys (RS/ES/PS algorithms only,
never `none` or a shared secret), it is not expired (60 s leeway), and its issuer and audience
are the configured ones. The role comes from a claim (a string or a list of strings; the highest
known role wins); a token without a known role gets none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from typing import Any

import jwt

from backend.auth.roles import Role

ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256", "PS384", "PS512"]
LEEWAY_SECONDS = 60


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks_url: str
    role_claim: str = "role"


class OidcVerifier:
    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self._keys = jwt.PyJWKClient(config.jwks_url, cache_keys=True, lifespan=300, timeout=10)

    def _verify(self, token: str) -> dict[str, Any]:
        key = self._keys.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=ALGORITHMS,
            audience=self.config.audience,
            issuer=self.config.issuer,
            leeway=LEEWAY_SECONDS,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return claims

    async def identity(self, token: str, nonce: str | None = None) -> Identity | None:
        """Who a valid JWT speaks for, or None when the token does not verify (an ID token of
        the sign-in flow: also when its nonce is not the one the flow sent)."""
        try:
            claims = await asyncio.to_thread(self._verify, token)
        except (jwt.PyJWTError, ValueError):
            return None
        if nonce is not None and claims.get("nonce") != nonce:
            return None
        subject = str(claims["sub"])[:100]
        expires = claims.get("exp")
        return Identity(
            subject=subject,
            username=str(claims.get("preferred_username") or subject)[:100],
            role=role_of(claims.get(self.config.role_claim)),
            expires_at=dt.datetime.fromtimestamp(expires, dt.UTC)
            if isinstance(expires, int | float)
            else None,
        )


@dataclass(frozen=True)
class Identity:
    """A verified JWT: its subject, the handle it asks for, its role, when it expires."""

    subject: str
    username: str
    role: Role | None
    expires_at: dt.datetime | None


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def role_of(claim: Any) -> Role | None:
    values = claim if isinstance(claim, list) else [claim]
    roles = [Role(v) for v in values if isinstance(v, str) and v in Role.__members__.values()]
    return max(roles, key=lambda r: r.rank) if roles else None
