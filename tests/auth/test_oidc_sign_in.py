"""Single sign-on: a tiny OpenID provider served here on 127.0.0.1 (discovery, authorize,
token, JWKS; an RS256 key generated here) signs a person in through the authorization code flow
with PKCE; the code verifier, state and nonce are checked; a wrong state fails to the sign-in
page."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.conftest import Backend, app_for

CLIENT_ID = "sales-web"


@dataclasses.dataclass
class Provider:
    issuer: str
    codes: dict[str, dict[str, str]]  # code -> the authorize request's parameters


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": "k1", "alg": "RS256"}
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(key, public))
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    server.issuer = issuer  # type: ignore[attr-defined]
    server.codes = {}  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield Provider(issuer, server.codes)  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def _handler(key: rsa.RSAPrivateKey, public: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _json(self, body: object, status: int = 200) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            issuer, url = self.server.issuer, urlsplit(self.path)  # type: ignore[attr-defined]
            if url.path == "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": issuer,
                        "authorization_endpoint": f"{issuer}/authorize",
                        "token_endpoint": f"{issuer}/token",
                        "jwks_uri": f"{issuer}/jwks",
                    }
                )
            elif url.path == "/jwks":
                self._json({"keys": [public]})
            elif url.path == "/authorize":
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                code = secrets.token_urlsafe(16)
                self.server.codes[code] = query  # type: ignore[attr-defined]
                back = {"code": code, "state": query["state"]}
                self.send_response(302)
                self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
                self.end_headers()
            else:
                self._json({"error": "not_found"}, 404)

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            asked = self.server.codes.pop(form.get("code", ""), None)  # type: ignore[attr-defined]
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if asked is None or asked["code_challenge"] != challenge.rstrip(b"=").decode():
                self._json({"error": "invalid_grant"}, 400)
                return
            now = int(time.time())
            claims = {
                "iss": self.server.issuer,  # type: ignore[attr-defined]
                "aud": CLIENT_ID,
                "sub": "subject-7",
                "preferred_username": "hana",
                "role": "uploader",
                "nonce": asked["nonce"],
                "iat": now,
                "exp": now + 300,
            }
            id_token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})
            self._json({"access_token": "a", "token_type": "Bearer", "id_token": id_token})

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def with_sso(backend: Backend, provider: Provider) -> Backend:
    update = {"oidc_issuer": provider.issuer, "oidc_client_id": CLIENT_ID}
    return dataclasses.replace(backend, settings=backend.settings.model_copy(update=update))


async def test_the_code_flow_with_pkce_signs_a_person_in(
    backend: Backend, provider: Provider
) -> None:
    async with app_for(with_sso(backend, provider)) as app:
        browser = httpx.AsyncClient(transport=app.transport, base_url="http://testserver")
        methods = (await browser.get("/api/auth/methods")).json()
        assert methods["oidc"]["start"] == "/api/auth/oidc/start"
        start = await browser.get("/api/auth/oidc/start")
        assert start.status_code == 302
        authorize = start.headers["location"]
        asked = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
        assert asked["code_challenge_method"] == "S256" and asked["nonce"]
        assert asked["client_id"] == CLIENT_ID and "openid" in asked["scope"]
        assert "HttpOnly" in start.headers["set-cookie"]
        async with httpx.AsyncClient() as outside:  # the provider, for real, over the network
            back = (await outside.get(authorize)).headers["location"]
        assert back.startswith("http://testserver/api/auth/oidc/callback?")
        done = await browser.get(back.removeprefix("http://testserver"))
        assert done.status_code == 303 and done.headers["location"] == "/"
        session = (await browser.get("/api/auth/session")).json()
        assert session["user"]["name"] == "hana" and session["user"]["role"] == "uploader"


async def test_a_callback_with_another_state_fails_to_the_sign_in_page(
    embedded: Backend, provider: Provider
) -> None:
    async with app_for(with_sso(embedded, provider)) as app:
        browser = httpx.AsyncClient(transport=app.transport, base_url="http://testserver")
        authorize = (await browser.get("/api/auth/oidc/start")).headers["location"]
        async with httpx.AsyncClient() as outside:
            back = (await outside.get(authorize)).headers["location"]
        code = parse_qs(urlsplit(back).query)["code"][0]
        forged = await browser.get(
            "/api/auth/oidc/callback", params={"code": code, "state": "another"}
        )
        assert forged.headers["location"] == "/sign-in?error=sso"
        stranger = httpx.AsyncClient(transport=app.transport, base_url="http://testserver")
        no_cookie = await stranger.get(back.removeprefix("http://testserver"))
        assert no_cookie.headers["location"] == "/sign-in?error=sso"
        assert (await stranger.get("/api/auth/session")).status_code == 401
