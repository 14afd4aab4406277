"""What the fiscal documents of a sale keep for the seller and for what comes after them.

The invoice's breakdown is what the dashboard shows (each line with its base, tax and the tax's
name), who the invoice went to and why, what the audit found (`corrections`); a credit note's
says what it took from each invoice line (`crediting`). Stored as JSON on `document.breakdown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from conexapi.erps.siigo.documents.invoice import InvoicePlan
from conexapi.erps.siigo.mapping import CustomerPlan
from conexapi.messages import text
from conexapi.sales.credits import CENT, ZERO, InvoicedLine, IssuedCredit, LineCredit
from conexapi.sales.facts import BillingStatus, SaleFacts
from conexapi.sync.models import Document

# The version of the rules an invoice was built (or last audited) with; an invoice issued under
# an older one is audited again (`corrections`).
AUDIT_VERSION = 1


def customer_note(facts: SaleFacts, plan: CustomerPlan, wait_hours: int) -> dict[str, Any]:
    """Who the invoice goes to, recorded on the sale: the buyer, or the consumidor final and
    why (no fiscal data, or data still processing after the wait)."""
    if facts.buyer is not None:
        return {"consumidor_final": False, "identificacion": plan.identification}
    key = (
        "sync.consumer_fallback_processing"
        if facts.billing_status is BillingStatus.PROCESSING
        else "sync.consumer_fallback"
    )
    return {
        "consumidor_final": True,
        "identificacion": plan.identification,
        "datos_facturacion": facts.billing_status.value,
        "motivo": text(key, identification=plan.identification, hours=wait_hours),
    }


def invoice_breakdown(
    invoice: InvoicePlan, warnings: list[str], customer: dict[str, Any]
) -> dict[str, Any]:
    """What the invoice document keeps for the seller and for what comes after it (credit
    notes read each line's order and rate; the audit its rules version)."""
    return {
        **invoice.summary(),
        "advertencias": warnings + invoice.warnings,
        "order_ids": list(invoice.order_ids),
        "cliente": customer,
        "auditoria": {"version": AUDIT_VERSION, "diferencias": []},
    }


def issued_credit(note: Document, lines: Sequence[InvoicedLine]) -> IssuedCredit:
    """What an issued credit note took from the invoice lines. A note issued before notes kept
    it: an annulment (reason 2) took everything; any other took its total from the lines in
    proportion to what they billed, as the old proportional credit did."""
    taken = note.breakdown.get("acreditado")
    order_id = note.breakdown.get("order_id")
    ref = str(note.refund_ref or "")
    if isinstance(taken, list):
        return IssuedCredit(
            ref,
            tuple(
                LineCredit(int(t["linea"]), Decimal(str(t["cantidad"])), Decimal(str(t["valor"])))
                for t in taken
            ),
            str(order_id) if order_id else None,
        )
    if note.body.get("reason") == 2:
        return IssuedCredit(ref, tuple(LineCredit(ln.index, ln.quantity, ln.total) for ln in lines))
    total = sum((ln.total for ln in lines), ZERO)
    amount = note.total or ZERO
    shares = tuple(
        LineCredit(ln.index, ZERO, (ln.total * amount / total).quantize(CENT))
        for ln in lines
        if total > 0
    )
    return IssuedCredit(ref, shares)
