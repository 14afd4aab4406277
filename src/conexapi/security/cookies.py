"""Cookie names: under https every cookie ConexAPI sets carries the `__Host-` prefix, which a
browser accepts only with `Secure`, `Path=/` and no `Domain` (so no sibling sub-domain, and no
plain-http page of the same host, can plant or overwrite it)."""

from __future__ import annotations

# The dashboard's session cookie (the API's JWT), read by the OAuth callback too.
SESSION_COOKIE = "conexapi_session"


def is_secure(public_url: str) -> bool:
    return public_url.startswith("https://")


def cookie_name(name: str, public_url: str) -> str:
    """`name`, prefixed with `__Host-` when the service is served over https."""
    return f"__Host-{name}" if is_secure(public_url) else name
