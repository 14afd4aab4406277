"""The one catalogue of what a seller reads: every Spanish (Colombia) text, addressing the seller
as "usted". Code, logs and the API's English messages stay out of it.

`text(key, **params)` gives the sentence for a stable key; the keys of API errors are their
`code`. Add a text here, never inline in a page or a module, so the whole product speaks with
one voice and a review of the wording reads one file (`es_co.py`).
"""

from __future__ import annotations

from conexapi.core.errors import AppError, IntegrationError
from conexapi.messages.es_co import CATALOGUE

__all__ = [
    "CATALOGUE",
    "DETAIL_MARK",
    "error_text",
    "split_detail",
    "text",
    "vendor_text",
    "with_detail",
]

# Separates what a seller reads from the technical part of a stored message (a vendor's code or
# English text): pages show the first part and put the second behind a "Detalles" toggle.
DETAIL_MARK = " · Detalle técnico: "


def with_detail(sentence: str, detail: str | None) -> str:
    """A seller's sentence with its technical detail attached (shown apart by the pages)."""
    detail = (detail or "").strip()
    return f"{sentence}{DETAIL_MARK}{detail}" if detail else sentence


def split_detail(message: str | None) -> tuple[str, str]:
    """(what the seller reads, the technical detail or "")."""
    head, _, detail = (message or "").partition(DETAIL_MARK)
    return head, detail


def text(key: str, /, **params: object) -> str:
    """The seller's sentence for `key`, with `params` filled in (already formatted es-CO)."""
    template = CATALOGUE[key]
    return template.format(**params) if params else template


def error_text(exc: AppError) -> str:
    """An API error in the seller's words (its English `message` when no text has its code)."""
    return CATALOGUE.get(exc.code, exc.message)


def vendor_text(exc: IntegrationError) -> str:
    """A vendor that failed, in words a seller can act on (the details go to the logs)."""
    vendor = "Siigo" if exc.vendor.lower().startswith("siigo") else "MercadoLibre"
    return text("vendor.failed", vendor=vendor, status=exc.status_code or "sin respuesta")
