"""Single sign-on: OpenID Connect's authorization code flow with PKCE (S256), state and nonce,
driven by Authlib's client; the ID token is verified by our PyJWT verifier (backend/auth/oidc.py:
signature against the provider's JWKS, issuer, audience = our client id, expiry, nonce).

What the flow must remember between the redirect and the callback (state, code verifier,
nonce) travels in a short-lived HttpOnly cookie signed with the service's key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import warnings
from dataclasses import dataclass

import authlib.deprecate  # noqa: F401  (it installs its own "always" filter on import)
import httpx

with warnings.catch_warnings():
    # Authlib 1.9.10 warns on import that it would rather use the `httpx2` fork than httpx, which
    # this service already depends on and which it still supports; without this, every command
    # of `python -m backend` would print that warning.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from backend.auth.oidc import Identity, OidcConfig, OidcVerifier

PENDING_COOKIE = "sales_oidc"
PENDING_SECONDS = 600
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class ClientConfig:
    issuer: str
    client_id: str
    client_secret: str | None
    authorize_url: str | None
    token_url: str | None
    jwks_url: str | None
    role_claim: str
    scope: str = "openid profile email"


@dataclass(frozen=True)
class Endpoints:
    authorize_url: str
    token_url: str
    jwks_url: str


@dataclass(frozen=True)
class Pending:
    state: str
    verifier: str
    nonce: str
    redirect_url: str


class FlowFailed(Exception):
    """The provider's answer does not sign anyone in (the reason is logged, not shown)."""


class OidcSignIn:
    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        self._endpoints: Endpoints | None = None
        self._verifier: OidcVerifier | None = None

    async def endpoints(self) -> Endpoints:
        """The provider's endpoints: configured, else read once from its discovery document."""
        if self._endpoints is None:
            c = self.config
            found: dict[str, str] = {}
            if not (c.authorize_url and c.token_url and c.jwks_url):
                url = c.issuer.rstrip("/") + "/.well-known/openid-configuration"
                async with httpx.AsyncClient(timeout=TIMEOUT) as client:
                    answer = await client.get(url)
                    answer.raise_for_status()
                    found = answer.json()
            self._endpoints = Endpoints(
                c.authorize_url or str(found["authorization_endpoint"]),
                c.token_url or str(found["token_endpoint"]),
                c.jwks_url or str(found["jwks_uri"]),
            )
        return self._endpoints

    def _client(self, redirect_url: str) -> AsyncOAuth2Client:
        return AsyncOAuth2Client(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            scope=self.config.scope,
            redirect_uri=redirect_url,
            code_challenge_method="S256",
            timeout=TIMEOUT,
        )

    async def start(self, redirect_url: str) -> tuple[str, Pending]:
        """Where to send the browser, and what the callback will need."""
        endpoints = await self.endpoints()
        pending = Pending(
            secrets.token_urlsafe(24), secrets.token_urlsafe(48), secrets.token_urlsafe(24),
            redirect_url,
        )  # fmt: skip
        async with self._client(redirect_url) as client:
            url, _ = client.create_authorization_url(
                endpoints.authorize_url,
                state=pending.state,
                code_verifier=pending.verifier,
                nonce=pending.nonce,
            )
        return str(url), pending

    async def finish(self, pending: Pending, code: str, state: str) -> Identity:
        """The identity the provider vouches for, after exchanging the code."""
        if not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise FlowFailed("the state is not the one this browser was sent with")
        endpoints = await self.endpoints()
        async with self._client(pending.redirect_url) as client:
            token = await client.fetch_token(
                endpoints.token_url, code=code, code_verifier=pending.verifier
            )
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise FlowFailed("the provider's token answer has no id_token")
        identity = await self._id_tokens(endpoints).identity(id_token, nonce=pending.nonce)
        if identity is None:
            raise FlowFailed("the ID token does not verify")
        return identity

    def _id_tokens(self, endpoints: Endpoints) -> OidcVerifier:
        if self._verifier is None:
            c = self.config
            self._verifier = OidcVerifier(
                OidcConfig(c.issuer, c.client_id, endpoints.jwks_url, c.role_claim)
            )
        return self._verifier


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def seal(pending: Pending, key: bytes) -> str:
    """The pending flow as a cookie value: JSON, its expiry, an HMAC-SHA256 over both."""
    body = _b64(
        json.dumps({**pending.__dict__, "until": int(time.time()) + PENDING_SECONDS}).encode()
    )
    return f"{body}.{_b64(hmac.new(key, body.encode(), hashlib.sha256).digest())}"


def unseal(value: str | None, key: bytes) -> Pending | None:
    """The pending flow a cookie holds, when its signature holds and it has not expired."""
    body, _, signature = (value or "").partition(".")
    expected = _b64(hmac.new(key, body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if int(data.pop("until")) < time.time():
            return None
        return Pending(**data)
    except (ValueError, TypeError, KeyError):
        return None
