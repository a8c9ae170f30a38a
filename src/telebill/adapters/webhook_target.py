"""Where a webhook delivery may connect: a customer's URL must never reach the platform's own
network (loopback, private ranges, link-local such as the cloud metadata address, shared,
reserved, multicast), written as IPv4, as IPv6, or as IPv4 inside IPv6 (mapped, compatible,
6to4, Teredo, NAT64). The host is resolved once and the request goes to an address that was
checked, with the original Host header and TLS server name: a name that resolves elsewhere a
moment later (DNS rebinding) gains nothing."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_V4_COMPATIBLE = ipaddress.ip_network("::/96")


class WebhookRefused(ValueError):
    """The webhook's host is not one a delivery may go to (a private or local address)."""


@dataclass(frozen=True, slots=True)
class Target:
    """The URLs to try in order (one per checked address of the host), and the Host header
    and TLS server name (IDNA, ASCII) of the URL as the customer wrote it."""

    urls: tuple[str, ...]
    host_header: str
    server_name: str


def public(address: Address) -> bool:
    """Whether `address`, and any IPv4 address written inside it, is a public unicast one."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.is_site_local:
            return False
        inside: list[ipaddress.IPv4Address | None] = [address.ipv4_mapped, address.sixtofour]
        inside += list(address.teredo or ())
        if any(address in net for net in _NAT64) or (address in _V4_COMPATIBLE and int(address) > 1):
            inside.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        if any(v4 is not None and not public(v4) for v4 in inside):
            return False
    return address.is_global and not address.is_multicast


def pinned_target(url: str, allow_private: bool = False) -> Target:
    """Where to deliver `url` (an http(s) URL with a host). WebhookRefused if the host does
    not resolve, or resolves to any address that is not public (unless `allow_private`: for
    receivers on a private network, TELEBILL_WEBHOOK_ALLOW_PRIVATE)."""
    parts = urlsplit(url)
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise WebhookRefused(f"webhook host {parts.hostname!r} is not a valid name: {exc}") from None
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise WebhookRefused(f"webhook host {host[:100]!r} does not resolve: {exc}") from None
    addresses: list[Address] = []
    for info in found:
        address = ipaddress.ip_address(str(info[4][0]).partition("%")[0])
        if address not in addresses:
            addresses.append(address)
    if not allow_private:
        blocked = [a for a in addresses if not public(a)]
        if blocked:
            raise WebhookRefused(f"webhook host {host[:100]!r} resolves to a non-public address ({blocked[0]})")
    default_port = port == (443 if https else 80)
    bracketed = f"[{host}]" if ":" in host else host
    host_header = bracketed if default_port else f"{bracketed}:{port}"
    userinfo = parts.netloc.rpartition("@")[0]  # credentials in the URL still go with it
    urls = []
    for address in addresses:
        literal = f"[{address}]" if address.version == 6 else str(address)
        netloc = literal if default_port else f"{literal}:{port}"
        if userinfo:
            netloc = f"{userinfo}@{netloc}"
        urls.append(urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")))
    return Target(tuple(urls), host_header, host)
