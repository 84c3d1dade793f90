"""An httpx transport whose connections resolve a host name once, check every address it
resolves to, and connect only to an address that passed the check (no second look-up, so no
DNS rebinding between the check and the connection).

httpx has no argument for httpcore's network backend, so GuardedTransport puts its own pool in
the transport's `_pool` (pyproject.toml pins httpx to 0.28; a test fails if the check is
bypassed). TLS keeps the URL's host name for SNI and certificate checks: httpcore takes it from
the request's origin, not from the address given to connect_tcp."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import httpcore
import httpx

from backend import threads
from backend.actions.outbound.guard import (
    Address,
    DestinationRefused,
    host_allowed,
    port_refused,
    refused,
)

# A host name and a port -> the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[Sequence[Address]]]
# socket.getaddrinfo's shape: a blocking look-up, run in the DNS threads.
AddrInfo = tuple[Any, Any, int, str, tuple[Any, ...]]
Lookup = Callable[..., Sequence[AddrInfo]]
SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)
# A name that does not resolve within this many seconds is a connection error (when httpcore
# gives no connect time-out of its own).
RESOLVE_SECONDS = 5.0


async def resolve(host: str, port: int, *, lookup: Lookup = socket.getaddrinfo) -> list[Address]:
    """The addresses the system resolver gives for a host name, in its order, without repeats.

    The look-up blocks a thread for as long as the name's DNS servers take (a server that never
    answers costs glibc's retries, seconds each): it runs in backend.threads.DNS, a few threads
    of its own, so stalled look-ups wait for each other and never hold the event loop's default
    pool (which the liveness check probes and sign-ins use)."""
    infos = await threads.DNS.run(lookup, host, port, type=socket.SOCK_STREAM)
    found: list[Address] = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    return found


def resolver_using(lookup: Lookup) -> Resolver:
    """A resolver that runs `lookup` (getaddrinfo's shape) in the DNS threads, for tests."""
    return functools.partial(resolve, lookup=lookup)


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, refuses when any address is refused, then connects to a checked one."""

    def __init__(
        self,
        allowed: Sequence[str],
        *,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allowed = tuple(allowed)
        self._resolver = resolver or resolve
        self._inner = inner or httpcore.AnyIOBackend()

    async def addresses(self, host: str, port: int, timeout: float | None) -> list[Address]:
        """The checked addresses for host:port; DestinationRefused names the first refused."""
        literal = _literal(host)
        found = [literal] if literal is not None else await self._lookup(host, port, timeout)
        if not found:
            raise httpcore.ConnectError(f"The host name {host} has no address.")
        if not host_allowed(host, self._allowed, port):
            for address in found:
                reason = refused(address, self._allowed, host, port)
                if reason is not None:
                    raise DestinationRefused(port_refused(host, self._allowed, port) or reason)
        return found

    async def _lookup(self, host: str, port: int, timeout: float | None) -> list[Address]:
        try:
            async with asyncio.timeout(timeout or RESOLVE_SECONDS):
                return list(await self._resolver(host, port))
        except TimeoutError:
            raise httpcore.ConnectTimeout(
                f"The host name {host} did not resolve in time."
            ) from None
        except OSError:
            raise httpcore.ConnectError(f"The host name {host} did not resolve.") from None

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await self.addresses(host, port, timeout)
        options = list(socket_options) if socket_options is not None else None
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise DestinationRefused("Outbound calls go over TCP only, never to a local socket.")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport with a pool whose every new connection goes through GuardedBackend.
    Proxies from the environment are never used (trust_env=False)."""

    def __init__(
        self,
        allowed: Sequence[str],
        *,
        resolver: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
        max_connections: int = 20,
    ) -> None:
        super().__init__(trust_env=False, retries=0)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=GuardedBackend(allowed, resolver=resolver, inner=inner),
        )
