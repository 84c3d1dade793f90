"""Which addresses an outbound call may reach: pure functions over resolved addresses, so the
tests of the rule send no packet.

An address hidden inside another (IPv4-mapped, 6to4, Teredo, NAT64's 64:ff9b::/96) is judged
as the address it carries. An address is reached when ACTIONS_ALLOWED_HOSTS names it (an IP or
a network), or when it is a public address: global and none of private, loopback, link-local,
reserved, multicast or unspecified."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

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


def refused(address: Address, allowed: Sequence[str], host: str | None = None) -> str | None:
    """A sentence saying why `address` may not be reached, or None when it may. Given the host
    name it was resolved from, the sentence names the host and not the address."""
    inner = unwrap(address)
    networks = allowed_networks(tuple(allowed))
    if any(candidate in net for net in networks for candidate in {address, inner}):
        return None
    kind = _kind(inner)
    if kind is None:
        return None
    if host is not None and not _is_literal(host):
        what = f"{host} resolves to {kind}"
    elif inner != address:
        what = f"{address} carries {inner}, {kind}"
    else:
        what = f"{address} is {kind}"
    return (
        f"{what}; outbound calls go only to public addresses unless ACTIONS_ALLOWED_HOSTS names it."
    )


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def host_allowed(host: str, allowed: Sequence[str]) -> bool:
    """True when ACTIONS_ALLOWED_HOSTS names this host (an exact, case-insensitive match)."""
    wanted = host.strip("[]").rstrip(".").lower()
    return wanted in allowed_names(tuple(allowed))


def _kind(address: Address) -> str | None:
    for attribute, words in _KINDS:
        if getattr(address, attribute):
            return words
    if not address.is_global:
        return "not a public address"
    return None


def _network(entry: str) -> Network | None:
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None


@functools.lru_cache(maxsize=16)
def allowed_networks(allowed: tuple[str, ...]) -> tuple[Network, ...]:
    """The IP and CIDR entries of an allow-list."""
    found = (_network(entry.strip()) for entry in allowed if entry.strip())
    return tuple(net for net in found if net is not None)


@functools.lru_cache(maxsize=16)
def allowed_names(allowed: tuple[str, ...]) -> frozenset[str]:
    """The host-name entries of an allow-list, lower-cased."""
    names = (entry.strip().rstrip(".").lower() for entry in allowed)
    return frozenset(name for name in names if name and _network(name) is None)
