"""The HTTP edge, before any route runs: which host names the service answers to, who the
client is (its address, believed from X-Forwarded-For only through configured proxies), and the
headers every answer carries (no `server`, no framing, no sniffing)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.api.limits import json_answer

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The client address of a request whose X-Forwarded-For the server (uvicorn started with its
# default --forwarded-allow-ips) already believed while no proxy is trusted here: the real peer
# is unknown, so every such request shares one per-address budget.
UNVERIFIED = "unverified-forwarded"


def host_name(header: str) -> str:
    """The host of a Host header, without its port: `[::1]:8000` -> `::1`."""
    value = header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    name, _, _ = value.partition(":") if value.count(":") == 1 else (value, "", "")
    return name.rstrip(".")


PROBES = ("/healthz", "/readyz")


class HostGuard:
    """Answers 400 to a request whose Host is not one of ALLOWED_HOSTS (a page on another name,
    DNS rebinding), before any route runs, so no absolute URL is ever built on such a name. A
    request without a Host header (HTTP/1.0) is addressed by the server's own address. The
    probes answer any name: orchestrators call them by the container's address."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        names = {host_name(name) for name in allowed}
        self.any = "*" in names
        self.allowed = frozenset(names)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.any
            or scope["type"] not in ("http", "websocket")
            or scope["path"] in PROBES
            or self._allowed(scope)
        ):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        for message in json_answer(
            400,
            "this server does not answer to the host name in the request",
            "Call the service by one of its configured names; an operator adds a name to "
            "ALLOWED_HOSTS on the server.",
            "bad_request",
        ):
            await send(message)

    def _allowed(self, scope: Scope) -> bool:
        hosts = [v for k, v in scope["headers"] if k == b"host"]
        if not hosts:
            return True
        return len(hosts) == 1 and host_name(hosts[0].decode("latin-1")) in self.allowed


def networks(entries: Iterable[str]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def _trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_of(peer: str | None, forwarded: list[str], trusted: tuple[Network, ...]) -> str | None:
    """The client's address: the peer, unless the peer is a trusted proxy; then the last
    X-Forwarded-For hop that is not one."""
    if not forwarded or peer is None:
        return peer
    if peer in forwarded:  # the server already took the peer from X-Forwarded-For
        return peer if trusted else UNVERIFIED
    hops = [*forwarded, peer]
    for hop in reversed(hops):
        if not _trusted(hop, trusted):
            return hop
    return hops[0]


class ClientAddress:
    """Sets the request's client address (`scope["client"]`, which the per-address limits, the
    audit log and the access log read) from the connection's peer and TRUSTED_PROXIES, whatever
    the server was told to believe."""

    def __init__(self, app: ASGIApp, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            forwarded = [
                hop.strip()
                for name, value in scope["headers"]
                if name == b"x-forwarded-for"
                for hop in value.decode("latin-1").split(",")
                if hop.strip()
            ]
            peer, port = scope.get("client") or (None, 0)
            client = client_of(peer, forwarded, self.trusted)
            if client != peer:
                scope["client"] = (client, 0)
            if peer is not None and _trusted(peer, self.trusted):
                _forwarded_scheme(scope)
        await self.app(scope, receive, send)


def _forwarded_scheme(scope: Scope) -> None:
    """A trusted proxy's X-Forwarded-Proto (TLS ended at the proxy): links say https."""
    proto = dict(scope["headers"]).get(b"x-forwarded-proto", b"").decode("latin-1").strip()
    if proto in ("http", "https"):
        secure = proto == "https"
        if scope["type"] == "websocket":
            scope["scheme"] = "wss" if secure else "ws"
        else:
            scope["scheme"] = proto


# Every answer: never framed (clickjacking), never sniffed as another type, no Referer beyond
# this origin, and no `server` header naming what serves it.
SECURITY_HEADERS = (
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
# Answers that set no policy of their own (JSON, files) may run nothing and be framed by no one.
DEFAULT_CSP = b"default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """Adds SECURITY_HEADERS (and DEFAULT_CSP where a page set no Content-Security-Policy) to
    every answer, and drops any `server` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                if not any(k.lower() == b"content-security-policy" for k, _ in headers):
                    headers.append((b"content-security-policy", DEFAULT_CSP))
                message["headers"] = [*headers, *SECURITY_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)
