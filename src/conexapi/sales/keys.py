"""Deterministic identifiers: Siigo idempotency keys, observation markers, mapping keys."""

from __future__ import annotations

import base64
import hashlib
import re

from conexapi.sales.facts import SaleLine

__all__ = ["MAX_KEY_LENGTH", "idempotency_key", "line_key", "marker"]

_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9 :\-]")
OBSERVATIONS_UNSAFE = re.compile(r"[^A-Za-z0-9 :\-().,/ÁÉÍÓÚáéíóúÑñ]")

# --- keys and markers -----------------------------------------------------------------------

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_KEY_LENGTH = 30  # Siigo Idempotency-Key: alphanumeric, ≤30 (docs/vendors/siigo.md §12)


def _base36(value: int) -> str:
    if value == 0:
        return "0"
    digits: list[str] = []
    while value:
        value, rest = divmod(value, 36)
        digits.append(_B36[rest])
    return "".join(reversed(digits))


def idempotency_key(integration_id: int, external_id: str, kind: str, seq: int = 1) -> str:
    """Deterministic Siigo `Idempotency-Key` for one document of one sale.

    Readable form: "CX" + length of the integration id in base36 (one char, 1–9) + that base36
    id + the MercadoLibre id (digits) + kind ("FV"/"NC", letters) + seq (digits). The length
    prefix and the digits/letters/digits boundaries make it injective. Siigo rejects hyphens and
    anything non-alphanumeric and caps at 30 chars (docs/vendors/siigo.md §12): a 16-digit ML id
    with an integration id up to 10^9 takes ≤29 chars. Anything longer (or a non-numeric external
    id) uses the hashed form "CXZ" + kind + seq + "H" + base32(sha256), cut to 30 — disjoint from
    the readable form because the readable length char is never "Z".
    """
    kind_code = kind.strip().upper()
    if not kind_code.isalpha() or not kind_code.isascii() or not 1 <= len(kind_code) <= 4:
        raise ValueError(f"kind must be 1-4 ASCII letters, got {kind!r}")
    if integration_id < 0 or seq < 1:
        raise ValueError("integration_id must be ≥0 and seq ≥1")
    ext = external_id.strip()
    integration = _base36(integration_id)
    readable = f"CX{_B36[len(integration)]}{integration}{ext}{kind_code}{seq}"
    if (
        ext.isdigit()
        and ext.isascii()
        and len(integration) <= 9
        and len(readable) <= MAX_KEY_LENGTH
    ):
        return readable
    digest = hashlib.sha256(f"{integration_id}|{ext}|{kind_code}|{seq}".encode()).digest()
    hashed = base64.b32encode(digest).decode("ascii").rstrip("=")
    prefix = f"CXZ{kind_code}{seq}H"
    return (prefix + hashed)[:MAX_KEY_LENGTH]


def marker(key: str) -> str:
    """The text written in `observations` to find our document again
    (docs/vendors/siigo.md §12 step 3)."""
    return _MARKER_UNSAFE.sub("", f"Ref ConexAPI: {key}")


def line_key(line: SaleLine) -> str:
    """Key of a sale line in the product mappings: the SKU, else "item_id:variation_id"."""
    if line.sku:
        return line.sku
    return f"{line.item_id}:{line.variation_id or ''}"
