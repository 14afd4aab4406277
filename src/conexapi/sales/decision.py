"""Whether a sale is invoiced now, later or never (pure; docs/vendors/mercadolibre.md §3.2).

Credit notes are not decided here: once a sale is invoiced, the sync engine compares its
refunds with the credit notes already issued. `decide()` answers only for a sale that has no
invoice yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from conexapi.messages import text
from conexapi.sales.facts import BillingStatus, SaleFacts
from conexapi.sales.settings import InvoiceTrigger, InvoicingSettings

__all__ = [
    "INVOICEABLE_STATUSES",
    "UNPAID_STATUSES",
    "Action",
    "Decision",
    "decide",
    "invoiceable_order_ids",
]


class Action(StrEnum):
    INVOICE = "invoice"
    WAIT = "wait"
    SKIP = "skip"
    ATTENTION = "attention"  # a person must act: waiting longer would not help


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str  # stable machine code
    message: str  # Spanish (es-CO), shown to the seller
    # For a wait on MercadoLibre data still being processed: when to look again (None: the
    # engine's usual slow re-check; notifications and the sweep bring it back sooner).
    recheck_at: datetime | None = None


UNPAID_STATUSES = frozenset(
    {"confirmed", "payment_required", "payment_in_process", "partially_paid"}
)
# Paid, or paid then partly refunded: the invoice covers the sale, the refund gets a credit note.
INVOICEABLE_STATUSES = frozenset({"paid", "partially_refunded"})
CANCELLED_STATUSES = frozenset({"cancelled", "pending_cancel"})


def decide(
    facts: SaleFacts,
    settings: InvoicingSettings,
    *,
    now: datetime | None = None,
    recheck: timedelta = timedelta(minutes=15),
) -> Decision:
    statuses = set(facts.statuses)
    if "fraud_risk_detected" in facts.tags:
        return Decision(
            Action.SKIP,
            "fraud_risk",
            "MercadoLibre marcó la venta con riesgo de fraude: no se factura.",
        )
    if "invalid" in statuses:
        return Decision(
            Action.SKIP, "invalid_order", "MercadoLibre invalidó la orden: no se factura."
        )
    if statuses and statuses <= CANCELLED_STATUSES:
        if facts.total_paid <= 0:
            return Decision(
                Action.SKIP, "cancelled_unpaid", "La venta fue cancelada antes del pago."
            )
        return Decision(
            Action.SKIP,
            "cancelled_before_invoice",
            "La venta fue cancelada antes de facturar: no se emite factura.",
        )
    unpaid = statuses & UNPAID_STATUSES
    if unpaid:
        return Decision(
            Action.WAIT, "not_paid", "La venta aún no está pagada; se facturará cuando se pague."
        )
    if not facts.pack_complete:
        return Decision(
            Action.WAIT,
            "pack_incomplete",
            "Faltan órdenes del carrito; se facturará cuando estén todas.",
        )
    unknown = statuses - INVOICEABLE_STATUSES - CANCELLED_STATUSES
    if unknown or not statuses:
        return Decision(
            Action.WAIT,
            "unknown_status",
            f"Estado de la orden no reconocido ({', '.join(sorted(unknown)) or 'vacío'}); "
            "se revisará de nuevo.",
        )
    if settings.invoice_trigger == InvoiceTrigger.DELIVERED and not facts.delivered:
        return Decision(
            Action.WAIT,
            "not_delivered",
            "La venta se facturará cuando el envío sea entregado.",
        )
    waiting = _vendor_data(facts, settings, now or datetime.now(UTC), recheck)
    if waiting is not None:
        return waiting
    if statuses & CANCELLED_STATUSES:
        return Decision(
            Action.INVOICE,
            "paid_partly_cancelled",
            "Venta pagada; se facturan solo las órdenes no canceladas del carrito.",
        )
    return Decision(Action.INVOICE, "paid", "Venta pagada: lista para facturar.")


def _vendor_data(
    facts: SaleFacts, settings: InvoicingSettings, now: datetime, recheck: timedelta
) -> Decision | None:
    """Waits for MercadoLibre data that is still on its way, up to `data_wait_hours` after the
    sale was paid: billing info still PROCESSING (then the consumidor final, recorded on the
    sale), or a shipping cost nobody reports yet (then a person: a line the buyer paid for is
    never dropped)."""
    if now.tzinfo is None:  # naive datetimes are UTC, as the database stores them
        now = now.replace(tzinfo=UTC)
    paid_at = facts.sale_date or now
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=UTC)
    deadline = paid_at + timedelta(hours=settings.data_wait_hours)
    expired = now >= deadline
    recheck_at = min(now + recheck, deadline).astimezone(UTC)
    if not facts.shipping_known:
        if expired:
            return Decision(
                Action.ATTENTION, "shipping_unknown", text("sync.shipping_unknown_late")
            )
        return Decision(
            Action.WAIT, "shipping_unknown", text("sync.shipping_unknown"), recheck_at=recheck_at
        )
    if facts.billing_status is BillingStatus.PROCESSING:
        if not expired:
            return Decision(
                Action.WAIT,
                "billing_processing",
                text("sync.billing_processing", hours=settings.data_wait_hours),
                recheck_at=recheck_at,
            )
        return Decision(
            Action.INVOICE,
            "billing_processing_expired",
            text("sync.billing_processing_expired", hours=settings.data_wait_hours),
        )
    return None


def invoiceable_order_ids(facts: SaleFacts) -> tuple[str, ...]:
    """Orders whose lines go on the invoice: all but those cancelled before invoicing."""
    return tuple(
        oid
        for oid, status in zip(facts.order_ids, facts.statuses, strict=False)
        if status not in CANCELLED_STATUSES
    )
