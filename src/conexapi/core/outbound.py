"""URLs ConexAPI calls on a tenant's behalf (the alert webhook): never a way into our network.

A tenant types the URL; the worker POSTs to it. Without rules that is server-side request
forgery: the worker would call 127.0.0.1's ports, the cloud metadata service (169.254.169.254)
or the private network, and the delivery status would tell the tenant what answered. So:

- only `https` (plain `http` only when private URLs are allowed, for development and tests);
- the host must resolve only to public unicast addresses (no loopback, private, link-local,
  shared/carrier-grade, metadata, multicast, reserved or unspecified addresses), checked when
  the URL is saved and again at every send, after resolving, with the request pinned to the
  address that was checked (so a DNS answer that changes between the check and the connection,
  "DNS rebinding", never reaches an internal address);
- no redirects followed, a short timeout, the answer's body never read or shown;
- `CONEXAPI_ALLOW_PRIVATE_URLS=true` lifts the address rule (and allows http) for development
  and tests against local services.

The resolver is injectable (`Resolver`): tests resolve names without DNS.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

# (host, port) -> the addresses it resolves to.
Resolver = Callable[[str, int], Awaitable[list[str]]]

SEND_TIMEOUT_SECONDS = 5.0
MAX_URL_LENGTH = 500


class UnsafeURL(Exception):
    """The URL may not be called. `reason` is a stable code (the catalogue has its text under
    `outbound.<reason>`)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def system_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURL("unresolvable") from exc
    return sorted({str(info[4][0]) for info in infos})


def is_public_address(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, CGNAT, metadata,
    multicast, reserved, documentation or unspecified; IPv4-mapped IPv6 judged as IPv4)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return bool(ip.is_global) and not ip.is_multicast


def _literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_shape(url: str, *, allow_private: bool) -> tuple[str, str, int]:
    """Validates the URL's form; returns (scheme, host, port). No network."""
    if len(url) > MAX_URL_LENGTH or any(c.isspace() for c in url):
        raise UnsafeURL("invalid")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL("invalid") from exc
    allowed = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed:
        raise UnsafeURL("not_https")
    host = parts.hostname
    if not host or parts.username is not None or parts.password is not None:
        raise UnsafeURL("invalid")
    return parts.scheme, host, port or (443 if parts.scheme == "https" else 80)


async def public_addresses(
    url: str, *, allow_private: bool, resolver: Resolver | None = None
) -> list[str]:
    """The addresses `url` may be sent to: every one the host resolves to must be public (one
    private answer among public ones refuses the URL). Raises `UnsafeURL`."""
    _, host, port = check_shape(url, allow_private=allow_private)
    literal = _literal_ip(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        addresses = await (resolver or system_resolver)(host, port)
    if not addresses:
        raise UnsafeURL("unresolvable")
    if not allow_private and not all(is_public_address(a) for a in addresses):
        raise UnsafeURL("private_address")
    return addresses


async def validate_url(url: str, *, allow_private: bool, resolver: Resolver | None = None) -> str:
    """When the URL is saved: its form and, unless private URLs are allowed, its addresses."""
    if allow_private:
        check_shape(url, allow_private=True)
    else:
        await public_addresses(url, allow_private=False, resolver=resolver)
    return url


async def post_json(
    http: httpx.AsyncClient,
    url: str,
    payload: Any,
    *,
    headers: dict[str, str],
    allow_private: bool,
    resolver: Resolver | None = None,
    timeout: float = SEND_TIMEOUT_SECONDS,
) -> httpx.Response:
    """POSTs `payload` to `url` after checking it again: resolved now, every address public,
    and the connection made to the address checked (Host and TLS SNI keep the name, so the
    certificate is verified for it). No redirects. Raises `UnsafeURL` or `httpx.HTTPError`."""
    if allow_private:
        check_shape(url, allow_private=True)
        return await http.post(
            url, json=payload, headers=headers, timeout=timeout, follow_redirects=False
        )
    addresses = await public_addresses(url, allow_private=False, resolver=resolver)
    parts = urlsplit(url)
    host = parts.hostname or ""
    address = addresses[0]
    pinned_host = f"[{address}]" if ":" in address else address
    netloc = pinned_host if parts.port is None else f"{pinned_host}:{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    host_header = parts.netloc.rsplit("@", 1)[-1]
    return await http.post(
        pinned,
        json=payload,
        headers={**headers, "Host": host_header},
        timeout=timeout,
        follow_redirects=False,
        extensions={"sni_hostname": host},
    )
