"""Issuing Siigo documents exactly once, also across lost responses and crashes.

The document row (with its idempotency key and body) is committed before the ERP call. Whatever
happens next, the next attempt first replays the same key (Siigo returns the original document
if it exists), and if Siigo refuses the replay, looks for our marker in `observations` and adopts
the document it finds. A second document is never created for the same key.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import structlog

from conexapi.core.errors import PermanentError
from conexapi.erps.siigo.client import SiigoClient
from conexapi.erps.siigo.documents.invoice import marker
from conexapi.sales.states import DocumentKind
from conexapi.sync.models import Document

log = structlog.get_logger("conexapi.documents")

# How many listed documents we are willing to inspect one by one when the list omits observations.
MAX_INSPECTED = 50


async def create_or_adopt(client: SiigoClient, doc: Document) -> dict[str, Any]:
    """Creates the document with its idempotency key, or adopts the one Siigo already has.

    Raises the client's errors when Siigo neither created nor has the document (transient errors
    leave the key in flight, to be replayed; permanent ones mean nothing was created).
    """
    create = (
        client.create_invoice
        if doc.kind == DocumentKind.INVOICE.value
        else client.create_credit_note
    )
    try:
        return await create(doc.body, doc.idempotency_key)
    except PermanentError as exc:
        if doc.kind == DocumentKind.INVOICE.value or exc.vendor_code in (
            "duplicated_document",
            "already_exists",
            "invalid_idempotency_key",
        ):
            found = await find_by_marker(client, doc)
            if found is not None:
                log.warning("siigo.document.adopted", key=doc.idempotency_key, kind=doc.kind)
                return found
        raise


async def find_by_marker(client: SiigoClient, doc: Document) -> dict[str, Any] | None:
    """Looks for our document among those created since the row was written
    (docs/vendors/siigo.md §12 step 3)."""
    wanted = marker(doc.idempotency_key)
    since: date = (doc.created_at - timedelta(days=1)).date()
    filters: dict[str, Any] = {"created_start": since.isoformat()}
    identification = (doc.body.get("customer") or {}).get("identification")
    if doc.kind == DocumentKind.INVOICE.value and identification:
        filters["customer_identification"] = identification
    lister = (
        client.list_invoices if doc.kind == DocumentKind.INVOICE.value else client.list_credit_notes
    )
    getter = (
        client.get_invoice if doc.kind == DocumentKind.INVOICE.value else client.get_credit_note
    )
    inspected = 0
    page = 1
    while True:
        listing = await lister(page=page, page_size=100, **filters)
        results = listing.get("results") or []
        for item in results:
            observations = item.get("observations")
            if observations is None and inspected < MAX_INSPECTED:
                inspected += 1
                full = await getter(str(item["id"]))
                observations = full.get("observations")
                item = full
            if observations and wanted in observations:
                if "stamp" not in item:
                    item = await getter(str(item["id"]))
                return dict(item)
        pagination = listing.get("pagination") or {}
        total = int(pagination.get("total_results") or 0)
        if not results or page * int(pagination.get("page_size") or 100) >= total:
            return None
        page += 1


def apply_result(doc: Document, result: dict[str, Any]) -> None:
    """Copies what Siigo answered onto our document row."""
    doc.erp_id = str(result.get("id")) if result.get("id") else doc.erp_id
    doc.number = str(result.get("name") or result.get("number") or doc.number or "")
    if result.get("total") is not None:
        from decimal import Decimal

        doc.total = Decimal(str(result["total"])).quantize(Decimal("0.01"))
    stamp = result.get("stamp")
    if isinstance(stamp, dict):
        doc.stamp_status = stamp.get("status") or doc.stamp_status
        doc.cufe = stamp.get("cufe") or stamp.get("cude") or doc.cufe
    elif doc.body.get("stamp", {}).get("send"):
        # Sent to DIAN but the answer has no stamp yet: in transit, poll until final.
        doc.stamp_status = doc.stamp_status or "Draft"
    if result.get("public_url"):
        doc.public_url = str(result["public_url"])


FINAL_STAMP = frozenset({"Accepted", "Rejected"})


def stamp_pending(doc: Document) -> bool:
    """Sent to DIAN and not yet final."""
    return bool(doc.body.get("stamp", {}).get("send")) and doc.stamp_status not in FINAL_STAMP
