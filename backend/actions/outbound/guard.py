"""Which addresses an outbound call may reach: pure functions over resolved addresses, so the
tests of the rule send no packet.

An address hidden inside another (IPv4-mapped, 6to4, Teredo, NAT64's 64:ff9b::/96) is judged
as the address it carries. An address is reached when ACTIONS_ALLOWED_HOSTS names it (an IP or
a network; an entry with a port, 10.0.0.5:8443 or [fd00::5]:443, allows that port only), or
when it is a public address: global and none of private, loopback, link-local, reserved,
multicast or unspecified."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# The first property that is true names the refusal (the order reads best to an operator).
_KINDS = (
    ("is_loopback", "a loopback address"),
    ("is_link_local", "a link-local address"),
    ("is_unspecified", "an unspecified address"),
    ("is_multicast", "a multicast address"),
    ("is_private", "a private address"),
    ("is_reserved", "a reserved address"),
)


class DestinationRefused(Exception):
    """The destination is not a public address and ACTIONS_ALLOWED_HOSTS does not name it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def unwrap(address: Address) -> Address:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo, NAT64), else itself."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def refused(
    address: Address, allowed: Sequence[str], host: str | None = None, port: int | None = None
) -> str | None:
    """A sentence saying why `address` (at `port`, when known) may not be reached, or None when
    it may. Given the host name it was resolved from, the sentence names the host and says
    only that it is not public: not what kind of address the name resolves to, which would
    tell a caller which internal names exist and where they point."""
    inner = unwrap(address)
    named = [
        entry
        for entry in allow_list(tuple(allowed))
        if entry.network is not None and (address in entry.network or inner in entry.network)
    ]
    if any(entry.admits(port) for entry in named):
        return None
    kind = _kind(inner)
    if kind is None:
        return None
    if host is not None and not _is_literal(host):
        what = f"{host} is not a public address"
    elif named:
        return (
            f"{address} may not be called on port {port}: ACTIONS_ALLOWED_HOSTS names it with "
            "other ports only."
        )
    elif inner != address:
        what = f"{address} carries {inner}, {kind}"
    else:
        what = f"{address} is {kind}"
    return (
        f"{what}; outbound calls go only to public addresses unless ACTIONS_ALLOWED_HOSTS names it."
    )


def _shown(host: str) -> str:
    return host.strip("[]")


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_allowed(host: str, allowed: Sequence[str], port: int | None = None) -> bool:
    """True when ACTIONS_ALLOWED_HOSTS names this host (an exact, case-insensitive match) with
    no port or with this port."""
    wanted = _name(host)
    return any(entry.name == wanted and entry.admits(port) for entry in allow_list(tuple(allowed)))


def port_refused(host: str, allowed: Sequence[str], port: int | None) -> str | None:
    """A sentence when ACTIONS_ALLOWED_HOSTS names this host name with other ports only."""
    wanted = _name(host)
    if any(entry.name == wanted for entry in allow_list(tuple(allowed))):
        return (
            f"{_shown(host)} may not be called on port {port}: ACTIONS_ALLOWED_HOSTS names it "
            "with other ports only."
        )
    return None


def _name(host: str) -> str:
    return host.strip("[]").rstrip(".").lower()


def _kind(address: Address) -> str | None:
    for attribute, words in _KINDS:
        if getattr(address, attribute):
            return words
    if not address.is_global:
        return "not a public address"
    return None


@dataclass(frozen=True)
class Entry:
    """One entry of ACTIONS_ALLOWED_HOSTS: a network or a host name, and the one port it
    allows (None: every port)."""

    network: Network | None
    name: str | None
    port: int | None

    def admits(self, port: int | None) -> bool:
        return self.port is None or self.port == port


def _network(entry: str) -> Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


def _split_port(text: str) -> tuple[str, int | None] | None:
    """(host, port) of "host", "host:port", "[v6]" or "[v6]:port"; None when the port is not a
    number from 1 to 65535 or the brackets do not close."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            return None
        return _with_port(host, rest[1:] if rest else None)
    if text.count(":") == 1:  # host:port (a bare IPv6 address has two colons or more)
        host, _colon, port = text.partition(":")
        return _with_port(host, port)
    return text, None


def _with_port(host: str, port: str | None) -> tuple[str, int | None] | None:
    if port is None:
        return host, None
    if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    return host, int(port)


def _entry(text: str) -> Entry | None:
    split = _split_port(text.strip())
    if split is None or not split[0].strip():
        return None
    host, port = split[0].strip(), split[1]
    network = _network(host)
    if network is not None:
        return Entry(network, None, port)
    return Entry(None, _name(host), port)


@functools.lru_cache(maxsize=16)
def allow_list(allowed: tuple[str, ...]) -> tuple[Entry, ...]:
    """The entries of ACTIONS_ALLOWED_HOSTS; one that cannot be read allows nothing."""
    found = (_entry(text) for text in allowed if text.strip())
    return tuple(entry for entry in found if entry is not None)
