"""The destination check on resolved addresses: pure functions and a network backend whose
inner backend only records, so no packet leaves this machine."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

import httpcore
import pytest

from backend import threads
from backend.actions.outbound.guard import Address, DestinationRefused, refused
from backend.actions.outbound.transport import (
    GuardedBackend,
    Resolver,
    SocketOption,
    resolver_using,
)

REFUSED = [
    "169.254.169.254",
    "::ffff:169.254.169.254",
    "::ffff:127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "100.64.0.1",
    "fe80::1",
    "fd00:ec2::254",
    "::1",
    "224.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:a9fe:a9fe::1",
    "0.0.0.0",
    "127.0.0.1",
    "::",
    "255.255.255.255",
    "::127.0.0.1",
]


@pytest.mark.parametrize("text", REFUSED)
def test_addresses_that_are_not_public_are_refused_with_a_sentence(text: str) -> None:
    reason = refused(ipaddress.ip_address(text), [])
    assert reason is not None
    assert reason.startswith(str(ipaddress.ip_address(text)))
    assert reason.endswith("unless ACTIONS_ALLOWED_HOSTS names it.")


def test_the_metadata_address_is_named_as_link_local_even_when_wrapped() -> None:
    for text in ("169.254.169.254", "::ffff:169.254.169.254", "64:ff9b::a9fe:a9fe"):
        reason = refused(ipaddress.ip_address(text), [])
        assert reason is not None and "link-local" in reason, text
        assert "169.254.169.254" in reason or text.startswith("64:ff9b"), reason


@pytest.mark.parametrize("text", ["8.8.8.8", "2606:4700::1", "64:ff9b::808:808", "1.1.1.1"])
def test_public_addresses_pass(text: str) -> None:
    assert refused(ipaddress.ip_address(text), []) is None


def test_loopback_passes_only_when_the_allow_list_names_it() -> None:
    loopback = ipaddress.ip_address("127.0.0.1")
    assert refused(loopback, []) is not None
    assert refused(loopback, ["10.0.0.0/8", "receiver.internal"]) is not None
    assert refused(loopback, ["127.0.0.1"]) is None
    assert refused(ipaddress.ip_address("::ffff:127.0.0.1"), ["127.0.0.1"]) is None
    # Naming one address does not open its neighbours.
    assert refused(ipaddress.ip_address("127.0.0.2"), ["127.0.0.1"]) is not None


def test_a_network_in_the_allow_list_allows_its_addresses() -> None:
    assert refused(ipaddress.ip_address("10.1.2.3"), [" 10.0.0.0/8 "]) is None
    assert refused(ipaddress.ip_address("fd00::5"), ["fd00::/8"]) is None
    assert refused(ipaddress.ip_address("192.168.1.1"), ["10.0.0.0/8"]) is not None


class Recording(httpcore.AsyncNetworkBackend):
    """An inner backend that records what it was asked to connect to and opens nothing."""

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connects.append((host, port))
        return httpcore.AsyncNetworkStream()

    async def sleep(self, seconds: float) -> None:
        return None


def answers(*texts: str) -> tuple[list[str], Resolver]:
    asked: list[str] = []

    async def resolver(host: str, port: int) -> Sequence[Address]:
        asked.append(host)
        return [ipaddress.ip_address(text) for text in texts]

    return asked, resolver


async def test_a_name_resolving_to_a_public_and_a_private_address_is_refused_unconnected() -> None:
    asked, resolver = answers("93.184.215.14", "10.0.0.7")
    inner = Recording()
    backend = GuardedBackend([], resolver=resolver, inner=inner)
    with pytest.raises(DestinationRefused) as refusal:
        await backend.connect_tcp("mixed.example", 443, timeout=1)
    assert asked == ["mixed.example"]
    assert inner.connects == []
    # The sentence does not tell the caller what the internal name resolves to, nor its kind.
    assert refusal.value.reason == (
        "mixed.example is not a public address; outbound calls go only to public addresses "
        "unless ACTIONS_ALLOWED_HOSTS names it."
    )


async def test_a_public_name_connects_to_the_address_that_was_checked() -> None:
    asked, resolver = answers("93.184.215.14")
    inner = Recording()
    backend = GuardedBackend([], resolver=resolver, inner=inner)
    await backend.connect_tcp("public.example", 443, timeout=1)
    # One look-up, and the connection goes to the address, not to the name (no second look-up).
    assert asked == ["public.example"]
    assert inner.connects == [("93.184.215.14", 443)]


async def test_an_ip_literal_is_checked_without_any_look_up() -> None:
    asked, resolver = answers("8.8.8.8")
    inner = Recording()
    backend = GuardedBackend([], resolver=resolver, inner=inner)
    with pytest.raises(DestinationRefused, match="169.254.169.254 is a link-local address"):
        await backend.connect_tcp("169.254.169.254", 80, timeout=1)
    await backend.connect_tcp("2606:4700::1", 80, timeout=1)
    assert asked == []
    assert inner.connects == [("2606:4700::1", 80)]


async def test_a_host_name_in_the_allow_list_allows_what_it_resolves_to() -> None:
    _asked, resolver = answers("10.0.0.5")
    inner = Recording()
    allowed = ["Receiver.Internal"]
    backend = GuardedBackend(allowed, resolver=resolver, inner=inner)
    await backend.connect_tcp("receiver.internal", 8080, timeout=1)
    assert inner.connects == [("10.0.0.5", 8080)]
    with pytest.raises(DestinationRefused):
        await backend.connect_tcp("other.internal", 8080, timeout=1)
    assert len(inner.connects) == 1


async def test_a_name_that_does_not_resolve_is_a_connection_error() -> None:
    async def failing(host: str, port: int) -> Sequence[Address]:
        raise OSError("no such name")

    inner = Recording()
    backend = GuardedBackend([], resolver=failing, inner=inner)
    with pytest.raises(httpcore.ConnectError, match="did not resolve"):
        await backend.connect_tcp("nowhere.example", 443, timeout=1)
    assert inner.connects == []


async def test_unix_sockets_are_refused() -> None:
    inner = Recording()
    backend = GuardedBackend(["127.0.0.1"], inner=inner)
    with pytest.raises(DestinationRefused, match="TCP only"):
        await backend.connect_unix_socket("/var/run/docker.sock")


@pytest.mark.parametrize("inside", ["127.0.0.1", "169.254.169.254", "10.0.0.7", "fe80::1", "::1"])
async def test_a_refused_name_reads_the_same_whatever_it_resolves_to(inside: str) -> None:
    # Loopback, link-local or private: the caller learns only that the name is not public.
    _asked, resolver = answers(inside)
    backend = GuardedBackend([], resolver=resolver, inner=Recording())
    with pytest.raises(DestinationRefused) as refusal:
        await backend.connect_tcp("files.internal", 443, timeout=1)
    assert refusal.value.reason == (
        "files.internal is not a public address; outbound calls go only to public addresses "
        "unless ACTIONS_ALLOWED_HOSTS names it."
    )


def test_an_entry_with_a_port_allows_that_port_only() -> None:
    loopback, v6 = ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")
    assert refused(loopback, ["127.0.0.1:8080"], port=8080) is None
    assert refused(loopback, ["127.0.0.1:8080"], port=5432) == (
        "127.0.0.1 may not be called on port 5432: ACTIONS_ALLOWED_HOSTS names it with other "
        "ports only."
    )
    assert refused(v6, ["[::1]:9000"], port=9000) is None
    assert refused(v6, ["[::1]:9000"], port=9001) is not None
    assert refused(ipaddress.ip_address("10.1.2.3"), ["10.0.0.0/8:443"], port=443) is None
    assert refused(ipaddress.ip_address("10.1.2.3"), ["10.0.0.0/8:443"], port=80) is not None
    # Without a port, every port; an entry whose port cannot be read allows nothing.
    assert refused(loopback, ["127.0.0.1"], port=5432) is None
    assert refused(v6, ["::1"], port=22) is None
    for unreadable in ("127.0.0.1:http", "127.0.0.1:0", "127.0.0.1:70000", "[::1", "[::1]x"):
        assert refused(loopback, [unreadable], port=80) is not None, unreadable
        assert refused(v6, [unreadable], port=80) is not None, unreadable


async def test_a_host_name_entry_with_a_port_allows_that_port_only() -> None:
    _asked, resolver = answers("10.0.0.5")
    inner = Recording()
    backend = GuardedBackend(["Files.Internal:443"], resolver=resolver, inner=inner)
    await backend.connect_tcp("files.internal", 443, timeout=1)
    with pytest.raises(DestinationRefused) as refusal:
        await backend.connect_tcp("files.internal", 22, timeout=1)
    assert refusal.value.reason == (
        "files.internal may not be called on port 22: ACTIONS_ALLOWED_HOSTS names it with "
        "other ports only."
    )
    assert inner.connects == [("10.0.0.5", 443)]


async def test_stalled_look_ups_hold_their_own_threads_not_the_default_pool() -> None:
    # An attacker's name server that never answers: each look-up blocks its thread for long.
    release = threading.Event()

    def stalled(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        release.wait(20)
        raise socket.gaierror("no answer")

    backend = GuardedBackend([], resolver=resolver_using(stalled), inner=Recording())
    try:
        # More look-ups than the default pool has threads (at most 32): each gives up in time.
        names = [f"h{i}.slow.test" for i in range(40)]
        started = time.monotonic()
        results = await asyncio.gather(
            *(backend.addresses(name, 443, 0.3) for name in names), return_exceptions=True
        )
        assert time.monotonic() - started < 3
        assert all(isinstance(result, httpcore.ConnectTimeout) for result in results), results
        # The default pool (the liveness probe, sign-ins) still answers at once.
        started = time.monotonic()
        await asyncio.wait_for(asyncio.to_thread(time.monotonic), 2)
        assert time.monotonic() - started < 0.5
        assert threads.DNS.running == threads.DNS.workers == 4
    finally:
        release.set()
        deadline = time.monotonic() + 10
        while (threads.DNS.running or threads.DNS.waiting) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
