"""What a sale really earned, following its documents (pure).

Written on the sale when its invoice is built and again after every credit note: revenue is what
the buyer paid plus what MercadoLibre paid for the buyer (its share of coupons, and of promotions
when not paid as a lower sale fee, counted once); the IVA is the invoice's minus the credit
notes'; the MercadoLibre fee is what it charged minus what it gives back on cancelled orders;
money given back to the buyer is lost revenue, unless MercadoLibre covered it (docs/fiscal.md,
"Ganancia").
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal
from typing import Any

from conexapi.sales.facts import SaleFacts

__all__ = [
    "CANCELLED",
    "SHIPPING_PENDING",
    "sale_profit",
    "shipping_pending",
    "with_seller_shipping",
]

ZERO = Decimal("0")
CANCELLED = frozenset({"cancelled", "pending_cancel"})
# In `sale.profit` while the seller's shipping cost is not read yet (after the invoice).
SHIPPING_PENDING = "envio_pendiente"


def sale_profit(
    facts: SaleFacts,
    *,
    invoice_iva: Decimal,
    credited_iva: Decimal = ZERO,
    covered_orders: Collection[str] = (),
) -> dict[str, str]:
    """The sale's profit as stored on `sale.profit` (strings of exact decimals)."""
    statuses = dict(zip(facts.order_ids, facts.statuses, strict=False))
    refunded = sum((r.amount for r in facts.refunds if r.order_id not in covered_orders), ZERO)
    # MercadoLibre does not keep its sale fee on a cancelled sale; on a partial refund it keeps
    # it (the conservative reading: the fee is only given back when the order is cancelled).
    fee_back = sum(
        (
            ln.sale_fee
            for ln in facts.lines
            if statuses.get(ln.order_id) in CANCELLED and ln.order_id not in covered_orders
        ),
        ZERO,
    )
    fee_back = min(fee_back, facts.marketplace_fee)
    meli = sum(
        (ln.meli_coupon + ln.meli_rebate - ln.meli_rebate_in_fee for ln in facts.lines), ZERO
    )
    iva = invoice_iva - credited_iva
    fee = facts.marketplace_fee - fee_back
    net = facts.total_paid + meli - iva - fee - facts.shipping_paid_by_seller - refunded
    profit = {
        "total": str(facts.total_paid),
        "aporte_mercadolibre": str(meli),
        "iva": str(iva),
        "iva_revertido": str(credited_iva),
        "comision": str(fee),
        "comision_devuelta": str(fee_back),
        "envio_vendedor": str(facts.shipping_paid_by_seller),
        "devuelto": str(refunded),
        "neto": str(net),
    }
    if not facts.shipping_seller_known:
        # The seller's shipping cost is read after the invoice: the net lacks it until then.
        profit[SHIPPING_PENDING] = "1"
    return profit


def with_seller_shipping(profit: dict[str, str], cost: Decimal) -> dict[str, str]:
    """A profit written while the seller's shipping cost was pending, with that cost now known
    (what `sale_profit` gives with it: the net is lower by exactly that cost)."""
    done = {k: v for k, v in profit.items() if k != SHIPPING_PENDING}
    before = Decimal(str(profit.get("envio_vendedor") or "0"))
    done["envio_vendedor"] = str(cost)
    done["neto"] = str(Decimal(str(profit.get("neto") or "0")) + before - cost)
    return done


def shipping_pending(profit: dict[str, Any] | None) -> bool:
    return bool(profit) and bool((profit or {}).get(SHIPPING_PENDING))
