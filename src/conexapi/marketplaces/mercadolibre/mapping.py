"""MercadoLibre JSON → canonical `SaleFacts` (pure functions, no I/O).

Input is the raw JSON the client fetched: the orders of a pack (or the single order), the pack,
the billing info, the shipment costs and optionally the discounts of each order. Everything is
tolerant: numbers may be int, float or str, any key may be null or missing. Money becomes
`Decimal(str(x))`, never a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from conexapi.marketplaces.mercadolibre.billing import (
    billing_name,
    billing_status,
    parse_billing,
)
from conexapi.marketplaces.mercadolibre.claims import parse_order_claims
from conexapi.marketplaces.mercadolibre.values import (
    ZERO,
    as_dict,
    as_list,
    parse_datetime,
    str_id,
    text,
    to_decimal,
)
from conexapi.sales.decision import Action, Decision, decide
from conexapi.sales.facts import Refund, SaleFacts, SaleLine

__all__ = [
    "Action",
    "Decision",
    "billing_name",
    "billing_status",
    "build_sale_facts",
    "decide",
    "order_ids_of_pack",
    "parse_billing",
    "parse_order_claims",
    "to_decimal",
]

# Payment statuses meaning the buyer's money reached MercadoLibre at some point
# (docs/vendors/mercadolibre.md §6.1). Refunded /
# charged back / in mediation payments were paid first; their refund is tracked separately.
PAID_PAYMENT_STATUSES = frozenset({"approved", "refunded", "charged_back", "in_mediation"})


# --- orders ---------------------------------------------------------------------------------


@dataclass
class _Shares:
    seller_coupon: Decimal = ZERO
    meli_coupon: Decimal = ZERO
    meli_rebate: Decimal = ZERO
    meli_rebate_in_fee: Decimal = ZERO


def _discount_shares(discounts: Mapping[str, Any] | None) -> dict[str, _Shares]:
    """Who funds which discount, per item id, from `GET /orders/{id}/discounts`
    (docs/vendors/mercadolibre.md §3.1).

    MercadoLibre's documentation (Órdenes → "Obtener descuentos aplicados en una venta") lists
    three kinds of `details[]`: `coupon`, `discount` (a campaign or promotion) and `cashback`,
    each with per-item `amounts.total` (the discount on the whole line) and `amounts.seller`
    (the part the seller funds); the rest is funded by MercadoLibre. Only coupons are still to
    be taken off `unit_price`: a promotion is already in it (`full_unit_price` > `unit_price`),
    and a cashback is money MercadoLibre gives the buyer after paying, not a lower price. A
    promotion's MercadoLibre share is income of the seller (`funding_mode: sale_fee` says it is
    paid as a lower sale fee). An order has one item, so a detail without per-item amounts
    belongs to the order's item (key "").
    """
    result: dict[str, _Shares] = {}
    for detail in as_list(as_dict(discounts).get("details")):
        detail = as_dict(detail)
        kind = text(detail.get("type")).lower()
        if kind == "cashback":
            continue
        in_fee = text(as_dict(detail.get("supplier")).get("funding_mode")).lower() == "sale_fee"
        entries = [
            (str_id(as_dict(i).get("id")) or "", as_dict(as_dict(i).get("amounts")))
            for i in as_list(detail.get("items"))
        ]
        if not entries:
            entries = [("", as_dict(detail.get("amounts")))]
        for key, amounts in entries:
            total = max(to_decimal(amounts.get("total")), ZERO)
            seller = min(max(to_decimal(amounts.get("seller")), ZERO), total)
            shares = result.setdefault(key, _Shares())
            if kind == "coupon":
                shares.seller_coupon += seller
                shares.meli_coupon += total - seller
            else:
                shares.meli_rebate += total - seller
                if in_fee:
                    shares.meli_rebate_in_fee += total - seller
    return result


def _lines(order: Mapping[str, Any], discounts: Mapping[str, Any] | None) -> list[SaleLine]:
    order_id = str_id(order.get("id")) or ""
    by_item = _discount_shares(discounts)
    lines: list[SaleLine] = []
    for raw in as_list(order.get("order_items")):
        entry = as_dict(raw)
        item = as_dict(entry.get("item"))
        item_id = str_id(item.get("id")) or ""
        quantity = to_decimal(entry.get("quantity"), Decimal("1"))
        sku = text(item.get("seller_sku")) or text(item.get("seller_custom_field")) or None
        shares = by_item.pop(item_id, None) or _Shares()
        if not lines and "" in by_item:
            extra = by_item.pop("")
            shares = _Shares(
                shares.seller_coupon + extra.seller_coupon,
                shares.meli_coupon + extra.meli_coupon,
                shares.meli_rebate + extra.meli_rebate,
                shares.meli_rebate_in_fee + extra.meli_rebate_in_fee,
            )
        full_price = entry.get("full_unit_price")
        lines.append(
            SaleLine(
                order_id=order_id,
                item_id=item_id,
                title=text(item.get("title")),
                quantity=quantity,
                unit_price=to_decimal(entry.get("unit_price")),
                sku=sku,
                variation_id=str_id(item.get("variation_id")),
                full_unit_price=None if full_price is None else to_decimal(full_price),
                seller_coupon=shares.seller_coupon,
                meli_coupon=shares.meli_coupon,
                meli_rebate=shares.meli_rebate,
                meli_rebate_in_fee=shares.meli_rebate_in_fee,
                # `sale_fee` is per unit in ML's own example (qty 2 → fee 11.07, payment
                # marketplace_fee 22.14; docs/vendors/mercadolibre.md §3.1, [inf]).
                sale_fee=to_decimal(entry.get("sale_fee")) * quantity,
            )
        )
    return lines


def _payment_paid(payment: Mapping[str, Any]) -> Decimal:
    """What the buyer paid on one payment, shipping included, installment interest excluded.

    Mercado Pago's `transaction_amount` excludes the payment's `shipping_cost` and
    `total_paid_amount` = transaction + shipping + financing (docs/vendors/mercadolibre.md §6.1);
    some payloads (our sandbox, older orders) already fold shipping into `transaction_amount`. We
    add `shipping_cost` only when `total_paid_amount` shows it is separate (the closer of the two
    readings wins); with no `total_paid_amount` we follow Mercado Pago's documented semantics
    (separate).
    """
    amount = to_decimal(payment.get("transaction_amount"))
    shipping = to_decimal(payment.get("shipping_cost"))
    if shipping <= 0:
        return amount
    total_paid = payment.get("total_paid_amount")
    if total_paid is None:
        return amount + shipping
    reported = to_decimal(total_paid)
    if abs(reported - (amount + shipping)) <= abs(reported - amount):
        return amount + shipping
    return amount


def _order_money(order: Mapping[str, Any]) -> tuple[Decimal, Decimal, Decimal | None]:
    """(paid, refunded, marketplace fee or None when no payment reports one) of one order."""
    paid = refunded = ZERO
    fee: Decimal | None = None
    for raw in as_list(order.get("payments")):
        payment = as_dict(raw)
        status = text(payment.get("status")).lower()
        if status in PAID_PAYMENT_STATUSES:
            paid += _payment_paid(payment)
            if payment.get("marketplace_fee") is not None:
                fee = (fee or ZERO) + to_decimal(payment.get("marketplace_fee"))
        refunded += to_decimal(payment.get("transaction_amount_refunded"))
    return paid, refunded, fee


def build_sale_facts(
    orders: list[dict[str, Any]],
    *,
    pack: dict[str, Any] | None,
    billing: dict[str, Any] | None,
    shipment_costs: dict[str, Any] | None,
    discounts: dict[str, dict[str, Any]] | None = None,
    shipment: dict[str, Any] | None = None,
    seller_costs_pending: bool = False,
) -> SaleFacts:
    """Canonical facts of one sale: a pack (all its orders) or a single order.

    `discounts` maps order id → the `/orders/{id}/discounts` response; `shipment` is the
    `/shipments/{id}` response (only its `status` is read, for the "delivered" trigger).
    `pack_complete` is False when the pack lists an order that is not in `orders`; with no pack
    given the orders are taken as complete. `seller_costs_pending`: the shipment's costs were
    not read (the invoice did not need them, `buyer_shipping_on_payments`); the seller's
    shipping cost is read after the invoice, for profit.
    """
    if not orders:
        raise ValueError("build_sale_facts needs at least one order")
    order_ids = tuple(str_id(o.get("id")) or "" for o in orders)
    pack_id = str_id(as_dict(pack).get("id")) if pack else None
    if pack_id is None:
        pack_id = next((p for o in orders if (p := str_id(o.get("pack_id")))), None)
    external_id = pack_id or order_ids[0]

    lines: list[SaleLine] = []
    tags: set[str] = set()
    statuses: list[str] = []
    refunds: list[Refund] = []
    total_paid = ZERO
    payments_fee: Decimal | None = None
    for order, order_id in zip(orders, order_ids, strict=True):
        lines.extend(_lines(order, (discounts or {}).get(order_id)))
        tags.update(t for t in as_list(order.get("tags")) if isinstance(t, str))
        status = text(order.get("status")).lower()
        statuses.append(status)
        paid, refunded, fee = _order_money(order)
        total_paid += paid
        if fee is not None:
            payments_fee = (payments_fee or ZERO) + fee
        cancelled = status in {"cancelled", "pending_cancel"}
        # A paid order that is cancelled is refunded in full even if the payment does not show
        # `transaction_amount_refunded` yet (ML cancels paid orders when it refunds them,
        # docs/vendors/mercadolibre.md §3.1).
        if cancelled and paid > 0:
            refunds.append(Refund(order_id=order_id, amount=max(refunded, paid), full=True))
        elif refunded > 0:
            refunds.append(
                Refund(order_id=order_id, amount=refunded, full=paid > 0 and refunded >= paid)
            )

    shipping_buyer, shipping_known = _buyer_shipping(orders, shipment_costs)
    shipping_seller = seller_shipping_cost(shipment_costs)

    listed = {str_id(as_dict(o).get("id")) for o in as_list(as_dict(pack).get("orders"))} - {None}
    first = orders[0]
    buyer_json = as_dict(first.get("buyer"))
    closed = [d for d in (parse_datetime(o.get("date_closed")) for o in orders) if d]
    extra: dict[str, str] = {}
    for key, value in (
        ("buyer_id", str_id(buyer_json.get("id"))),
        ("shipment_id", str_id(as_dict(first.get("shipping")).get("id"))),
        ("billing_info_id", str_id(as_dict(buyer_json.get("billing_info")).get("id"))),
    ):
        if value:
            extra[key] = value

    return SaleFacts(
        external_id=external_id,
        order_ids=order_ids,
        pack_id=pack_id,
        seller_id=str_id(as_dict(first.get("seller")).get("id")) or "",
        statuses=tuple(statuses),
        tags=frozenset(tags),
        lines=tuple(lines),
        buyer=parse_billing(billing),
        billing_status=billing_status(billing),
        shipping_known=shipping_known,
        buyer_nickname=text(buyer_json.get("nickname")),
        # Orders since 2024 carry only the buyer's id (§15): billing info names the buyer.
        buyer_display_name=billing_name(billing)
        or " ".join(
            p for p in (text(buyer_json.get("first_name")), text(buyer_json.get("last_name"))) if p
        ),
        shipping_paid_by_buyer=shipping_buyer,
        shipping_paid_by_seller=shipping_seller,
        total_paid=total_paid,
        marketplace_fee=(
            payments_fee if payments_fee is not None else sum((ln.sale_fee for ln in lines), ZERO)
        ),
        refunds=tuple(refunds),
        sale_date=min(closed) if closed else None,
        delivered=text(as_dict(shipment).get("status")).lower() == "delivered",
        pack_complete=listed <= set(order_ids),
        extra=extra,
        shipping_seller_known=not (seller_costs_pending and shipment_costs is None),
        order_versions={
            order_id: str(order["last_updated"])
            for order, order_id in zip(orders, order_ids, strict=True)
            if order_id and isinstance(order.get("last_updated"), str) and order["last_updated"]
        },
    )


def _buyer_shipping(
    orders: list[dict[str, Any]], shipment_costs: Mapping[str, Any] | None
) -> tuple[Decimal, bool]:
    """What the buyer paid for shipping, and whether it is known at all.

    `/shipments/{id}/costs` (`receiver.cost`, docs/vendors/mercadolibre.md §6.2) is the authority.
    Without it, a non-pack order's own `shipping_cost`, then the `shipping_cost` of the orders'
    payments (§6.1; in a pack the order-level field is null, §3.1). When none of them says anything
    and the orders do have a shipment, the amount is unknown: never assume the buyer paid nothing.
    """
    if shipment_costs:
        return to_decimal(as_dict(shipment_costs.get("receiver")).get("cost")), True
    order_level = [o.get("shipping_cost") for o in orders if o.get("shipping_cost") is not None]
    if order_level:
        return sum((to_decimal(v) for v in order_level), ZERO), True
    payments = [
        as_dict(p)
        for o in orders
        for p in as_list(o.get("payments"))
        if text(as_dict(p).get("status")).lower() in PAID_PAYMENT_STATUSES
    ]
    reported = [p.get("shipping_cost") for p in payments if p.get("shipping_cost") is not None]
    if reported:
        return sum((to_decimal(v) for v in reported), ZERO), True
    shipped = any(as_dict(o.get("shipping")).get("id") for o in orders)
    return ZERO, not shipped


def buyer_shipping_on_payments(orders: list[dict[str, Any]]) -> bool:
    """Whether the orders' payments say what the buyer paid for shipping: every paid payment
    carries `shipping_cost` (0 when the buyer paid none; in a pack it rides on one order's
    payment, §3.1, §6.1). The invoice then needs no `/shipments/{id}/costs`, whose seller share
    is for profit only."""
    payments = [
        as_dict(p)
        for o in orders
        for p in as_list(o.get("payments"))
        if text(as_dict(p).get("status")).lower() in PAID_PAYMENT_STATUSES
    ]
    return bool(payments) and all(p.get("shipping_cost") is not None for p in payments)


def seller_shipping_cost(shipment_costs: Mapping[str, Any] | None) -> Decimal:
    """What MercadoLibre charges the seller for the shipment (`senders[].cost`, §6.2)."""
    senders = as_list(as_dict(shipment_costs).get("senders"))
    return sum((to_decimal(as_dict(s).get("cost")) for s in senders), ZERO)


def order_ids_of_pack(pack: Mapping[str, Any]) -> list[str]:
    """The order ids a `/packs/{id}` response lists (what the caller must fetch)."""
    ids: Iterable[str | None] = (str_id(as_dict(o).get("id")) for o in as_list(pack.get("orders")))
    return [i for i in ids if i]
