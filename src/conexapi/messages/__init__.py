"""The one catalogue of what a seller reads: every Spanish (Colombia) text, addressing the seller
as "usted". Code, logs and the API's English messages stay out of it.

`text(key, **params)` gives the sentence for a stable key; the keys of API errors are their
`code`. Add a text here, never inline in a page or a module, so the whole product speaks with
one voice and a review of the wording reads one file (`es_co.py`).
"""

from __future__ import annotations

from conexapi.core.errors import AppError, IntegrationError
from conexapi.messages.es_co import CATALOGUE

__all__ = ["CATALOGUE", "error_text", "text", "vendor_text"]


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
