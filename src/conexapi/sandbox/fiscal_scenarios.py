"""What the fiscal scenario kinds change in a generated sale: which products (and so which taxes),
which discounts MercadoLibre reports and who funds them, which buyer identity, and what happens
after the invoice (returns, money refunds, refunds MercadoLibre covers).

Discount bodies follow MercadoLibre's published `/orders/{id}/discounts` example (details of type
`coupon`, `discount` and `cashback`; per item `amounts.total` and `amounts.seller`; a promotion's
MercadoLibre share paid as a lower sale fee, `supplier.funding_mode: sale_fee`).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from conexapi.sandbox import scenario_data as data

# kind -> the state a correct engine reaches once every follow-up happened
FISCAL_KINDS: dict[str, str] = {
    "mixed_tax": "invoice",
    "price_promotion": "invoice",
    "promotion_with_coupon": "invoice",
    "ml_funded_coupon": "invoice",
    "partial_return_pack": "credit_partial",
    "money_refund": "credit_partial",
    "covered_claim": "covered",
    "billing_processing": "invoice",
    "nit_with_dv": "invoice",
    "buyer_without_email": "invoice",
}
FISCAL_MIX: dict[str, float] = {
    "mixed_tax": 5,
    "price_promotion": 4,
    "promotion_with_coupon": 3,
    "ml_funded_coupon": 3,
    "partial_return_pack": 2,
    "money_refund": 2,
    "covered_claim": 2,
    "billing_processing": 2,
    "nit_with_dv": 2,
    "buyer_without_email": 2,
}
# Reads of the billing info that answer PROCESSING before the fiscal data is there.
PROCESSING_READS = 2


@dataclass
class Discounts:
    """What one order's `/orders/{id}/discounts` says, and what it does to the money."""

    details: list[dict[str, Any]] = field(default_factory=list)
    seller_coupon: Decimal = Decimal(0)
    meli_coupon: Decimal = Decimal(0)
    fee_cut: Decimal = Decimal(0)  # MercadoLibre's promotion share, paid as a lower sale fee


def order_count(rng: random.Random, kind: str) -> int | None:
    if kind == "mixed_tax":
        return rng.choice((2, 3, 4))
    if kind == "partial_return_pack":
        return 2
    return None


def products(rng: random.Random, kind: str, count: int) -> list[data.CatalogProduct] | None:
    if kind == "mixed_tax":
        return rng.sample(list(data.MIXED_TAX_PRODUCTS), count)
    if kind == "partial_return_pack":
        return rng.sample(list(data.PRODUCTS), count)
    return None


def quantity(kind: str, idx: int) -> int | None:
    if kind == "partial_return_pack":
        return 2 if idx == 0 else 1  # A: 2 units; B: 1 unit worth the same as both of A's
    if kind == "money_refund":
        return 2
    return None


def _detail(
    kind: str, item_id: str, qty: int, total: Decimal, seller: Decimal, **supplier: Any
) -> dict[str, Any]:
    return {
        "type": kind,
        "supplier": supplier,
        "items": [
            {
                "id": item_id,
                "quantity": qty,
                "amounts": {"total": int(total), "seller": int(seller)},
            }
        ],
    }


def discounts(
    rng: random.Random,
    kind: str,
    idx: int,
    item_id: str,
    qty: int,
    unit: Decimal,
    full_unit: Decimal,
) -> Discounts:
    """The discounts of one order of the sale (the first one carries coupons)."""
    out = Discounts()
    line = unit * qty
    promotion = (full_unit - unit) * qty
    if kind in ("price_promotion", "promotion_with_coupon") and promotion > 0:
        meli = (promotion * Decimal(rng.choice((0, 25, 50))) / 100).quantize(Decimal(1))
        out.details.append(
            _detail(
                "discount",
                item_id,
                qty,
                promotion,
                promotion - meli,
                offer_id=f"{item_id}-OFF",
                funding_mode="sale_fee",
            )
        )
        out.fee_cut = meli
    if idx == 0 and kind in ("coupon", "promotion_with_coupon", "ml_funded_coupon"):
        coupon = min(Decimal(rng.choice((5000, 10000))), line - 1)
        seller = Decimal(0) if kind == "ml_funded_coupon" else coupon
        if kind == "promotion_with_coupon":
            seller = (coupon * Decimal("0.4")).quantize(Decimal(1))
        supplier = {"meli_campaign": "P-MCO4944001"} if seller < coupon else {}
        out.details.append(_detail("coupon", item_id, qty, coupon, seller, **supplier))
        out.seller_coupon, out.meli_coupon = seller, coupon - seller
    return out


def nit_without_separator(base: str, dv: str) -> str:
    """A company NIT typed with its DV and no separator, as buyers do ("9001234567")."""
    return f"{base}{dv}"


def follow_ups(kind: str, order_ids: list[int]) -> list[tuple[str, int, dict[str, Any]]]:
    """What happens after the invoice, for the fiscal kinds."""
    if kind == "partial_return_pack":
        return [("refund", order_ids[0], {"quantity": 2})]  # all of A comes back
    if kind == "money_refund":
        return [("refund", order_ids[0], {"amount": 20000})]  # money only, goods kept
    if kind == "covered_claim":
        return [("refund_covered", order_ids[0], {})]
    return []
