"""The client's address: one answer for the audit log, login throttling (django-axes) and the logs.

`X-Forwarded-For` is read only when the direct peer (REMOTE_ADDR) is one of TRUSTED_PROXIES, and then right to
left, skipping hops that are themselves trusted proxies: the first untrusted hop is the client. Anything left of
it was written by the client and may be forged. From any other peer the header is ignored, so a forged
`X-Forwarded-For` changes nothing.

Parsed with the standard library's `ipaddress` rather than django-ipware: ipware matches trusted proxies by
string prefix and looks for them inside the header, whereas this must decide from the peer's own address and
accept CIDR ranges (IPv4 and IPv6).
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_CACHED = "_kodexa_client_ip"


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """Addresses or CIDRs; ValueError names the first entry that is neither (the system check reports it)."""
    networks: list[Network] = []
    for entry in entries:
        text = entry.strip()
        if not text:
            continue
        try:
            # strict=False would silently widen 10.0.0.1/8 to all of 10/8: refuse host bits instead.
            networks.append(ipaddress.ip_network(text, strict=True))
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or CIDR network") from None
    return tuple(networks)


def configured_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """A list setting's networks (parsed once per distinct value)."""
    return _parsed(tuple(entries))


@functools.lru_cache(maxsize=8)
def _parsed(entries: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return parse_networks(entries)
    except ValueError:
        # The system check stops the server on a bad entry; if it runs anyway, trusting nobody is the safe side.
        return ()


def parse_address(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "192.0.2.1:5678"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # "::ffff:192.0.2.1" from a dual-stack socket is 192.0.2.1
    return address


def in_networks(address: Address, networks: Sequence[Network]) -> bool:
    return any(address.version == network.version and address in network for network in networks)


def resolve(remote_addr: str | None, forwarded_for: str | None, proxies: Sequence[Network]) -> str | None:
    """The client's address, given the peer's and the X-Forwarded-For header (several headers joined by ',')."""
    peer = parse_address(remote_addr or "")
    if peer is None:
        return None
    if not proxies or not forwarded_for or not in_networks(peer, proxies):
        return str(peer)
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        address = parse_address(hop)
        if address is None:
            break  # garbage (or "unknown"): the last hop a trusted proxy vouched for is the best answer
        client = address
        if not in_networks(address, proxies):
            break
    return str(client)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address for this request (computed once per request)."""
    cached = getattr(request, _CACHED, None)
    if cached is not None:
        return cached or None
    found = resolve(request.META.get("REMOTE_ADDR"), request.META.get("HTTP_X_FORWARDED_FOR"),
                    configured_networks(settings.TRUSTED_PROXIES))
    setattr(request, _CACHED, found or "")
    return found
