"""JWTs from an OpenID Connect provider: a key pair generated here, its JWKS served over HTTP on
loopback, tokens signed with it accepted with the role in their claim; tokens with another key,
another audience or issuer, expired, unsigned (`alg: none`) or HMAC-signed are refused."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import Backend, app_for
from tests.factories import sales_csv

ISSUER = "https://id.example.test/realm"
AUDIENCE = "sales-ingest"


@dataclasses.dataclass
class Provider:
    jwks_url: str
    key: rsa.RSAPrivateKey
    kid: str = "key-1"

    def token(self, key: rsa.RSAPrivateKey | None = None, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "user-42", "iat": now, "exp": now + 300}
        body.update(claims)
        return jwt.encode(body, key or self.key, algorithm="RS256", headers={"kid": self.kid})


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwks = json.dumps({"keys": [{**public, "kid": "key-1", "use": "sig", "alg": "RS256"}]})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(jwks.encode())

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key)
    finally:
        server.shutdown()


def with_oidc(backend: Backend, provider: Provider) -> Backend:
    settings = backend.settings.model_copy(
        update={
            "oidc_issuer": ISSUER,
            "oidc_audience": AUDIENCE,
            "oidc_jwks_url": provider.jwks_url,
        }
    )
    return dataclasses.replace(backend, settings=settings)


async def test_a_provider_token_carries_its_role(embedded: Backend, provider: Provider) -> None:
    async with app_for(with_oidc(embedded, provider)) as app:
        uploader = app.client_as(provider.token(role="uploader", preferred_username="ana"))
        answer = await uploader.post(
            "/api/ingest/upload",
            data={"datasource_name": "sales"},
            files={"file": ("s.csv", sales_csv(rows=5), "text/csv")},
        )
        assert answer.status_code == 202, answer.text
        assert (await uploader.post("/api/sigma/toggle-mode")).status_code == 403
        several = app.client_as(provider.token(role=["viewer", "admin", "unknown"]))
        assert (await several.get("/api/access-logs")).status_code == 200
        roleless = app.client_as(provider.token())
        assert (await roleless.get("/api/ingest/tasks")).status_code == 401
        log = (await app.client.get("/api/access-logs")).json()["data"]["items"]
        assert any(e["action"] == "upload" and "ana" in e["actor"] for e in log), log


async def test_tokens_that_do_not_verify_are_refused(embedded: Backend, provider: Provider) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    forged = [
        provider.token(key=stranger, role="admin"),
        provider.token(role="admin", aud="another-service"),
        provider.token(role="admin", iss="https://evil.example"),
        provider.token(role="admin", exp=now - 3600, iat=now - 7200),
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "role": "admin"},
            key=None,
            algorithm="none",
            headers={"kid": "key-1"},
        ),
        jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "x", "exp": now + 60, "role": "admin"},
            "a-guessed-shared-secret-of-some-length",
            algorithm="HS256",
            headers={"kid": "key-1"},
        ),
    ]
    async with app_for(with_oidc(embedded, provider)) as app:
        for token in forged:
            answer = await app.client_as(token).get("/api/ingest/tasks")
            assert answer.status_code == 401, (jwt.get_unverified_header(token), answer.text)


async def test_without_oidc_settings_a_jwt_is_just_an_unknown_token(
    embedded: Backend, provider: Provider
) -> None:
    async with app_for(embedded) as app:
        answer = await app.client_as(provider.token(role="admin")).get("/api/ingest/tasks")
    assert answer.status_code == 401
