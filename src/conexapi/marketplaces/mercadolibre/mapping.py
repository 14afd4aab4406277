"""MercadoLibre JSON → canonical `SaleFacts` (pure functions, no I/O).

Input is the raw JSON the client fetched: the orders of a pack (or the single order), the pack,
the billing info, the shipment costs and optionally the discounts of each order. Everything is
tolerant: numbers may be int, float or str, any key may be null or missing. Money becomes
`Decimal(str(x))`, never a float.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from conexapi.sales.decision import Action, Decision, decide
from conexapi.sales.facts import Buyer, Refund, SaleFacts, SaleLine

__all__ = [
    "Action",
    "Decision",
    "billing_name",
    "build_sale_facts",
    "decide",
    "order_ids_of_pack",
    "parse_billing",
    "to_decimal",
]

ZERO = Decimal("0")

# Payment statuses meaning the buyer's money reached MercadoLibre at some point
# (docs/vendors/mercadolibre.md §6.1). Refunded / charged back / in mediation payments were paid
# first; their refund is tracked separately.
PAID_PAYMENT_STATUSES = frozenset({"approved", "refunded", "charged_back", "in_mediation"})


def to_decimal(value: Any, default: Decimal = ZERO) -> Decimal:
    """Decimal from an int/float/str JSON number; `default` for null, bool or garbage."""
    if value is None or isinstance(value, bool):
        return default
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return default
    return result if result.is_finite() else default


def _str_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# --- billing info (docs/vendors/mercadolibre.md §5) ----------------------------------------------


def parse_billing(billing: Mapping[str, Any] | None) -> Buyer | None:
    """The buyer's fiscal identity from billing info, or None when there is no identification.

    Accepts the current endpoint (`{"site_id", "buyer": {"billing_info": {...}}}`,
    docs/vendors/mercadolibre.md §5.1), the bare `billing_info` block, and the legacy V1 shape
    (`{"billing_info": {"doc_type", "doc_number", "additional_info": [{"type", "value"}]}}`,
    §5.2).
    """
    if not billing:
        return None
    root = dict(billing)
    legacy = _dict(root.get("billing_info"))
    if "doc_number" in legacy or "additional_info" in legacy:
        return _parse_legacy_billing(legacy)
    block = _dict(_dict(root.get("buyer")).get("billing_info")) or legacy or root
    ident = _dict(block.get("identification"))
    number = _text(ident.get("number")) or _text(_str_id(ident.get("number")))
    id_type = _text(ident.get("type"))
    if not number or not id_type:
        return None
    address = _dict(block.get("address"))
    state = _dict(address.get("state"))
    city = address.get("city_name") or _dict(address.get("city")).get("name")
    cust_type = _text(_dict(block.get("attributes")).get("cust_type")).upper()
    name = _text(block.get("name"))
    is_company = id_type.upper() == "NIT" or cust_type == "BU"
    return Buyer(
        id_type=id_type,
        identification=number,
        first_name=name,
        last_name="" if is_company else _text(block.get("last_name")),
        is_company=is_company,
        company_name=name if is_company else "",
        street=_street(
            address.get("street_name"),
            address.get("street_number"),
            address.get("comment"),
            address.get("neighborhood"),
        ),
        city_name=_text(city),
        state_name=_text(state.get("name")),
        state_code=_text(state.get("code") or state.get("id")),
        zip_code=_text(_str_id(address.get("zip_code"))),
        email=_text(block.get("email")) or None,
    )


def billing_name(billing: Mapping[str, Any] | None) -> str:
    """The buyer's name as billing info gives it (company name, or name and last name), also
    when the identification is missing or still processing (§5.3)."""
    if not billing:
        return ""
    root = dict(billing)
    legacy = _dict(root.get("billing_info"))
    if "doc_number" in legacy or "additional_info" in legacy:
        info = {
            _text(_dict(e).get("type")).upper(): _text(_str_id(_dict(e).get("value")))
            for e in _list(legacy.get("additional_info"))
        }
        first = info.get("BUSINESS_NAME") or info.get("FIRST_NAME", "")
        return " ".join(p for p in (first, info.get("LAST_NAME", "")) if p)
    block = _dict(_dict(root.get("buyer")).get("billing_info")) or legacy or root
    return " ".join(p for p in (_text(block.get("name")), _text(block.get("last_name"))) if p)


def _parse_legacy_billing(legacy: Mapping[str, Any]) -> Buyer | None:
    info: dict[str, str] = {}
    for entry in _list(legacy.get("additional_info")):
        entry = _dict(entry)
        key = _text(entry.get("type")).upper()
        if key and entry.get("value") is not None:
            info[key] = _text(_str_id(entry.get("value")))
    id_type = _text(legacy.get("doc_type")) or info.get("DOC_TYPE", "")
    number = _text(_str_id(legacy.get("doc_number"))) or info.get("DOC_NUMBER", "")
    if not number or not id_type:
        return None
    is_company = id_type.upper() == "NIT"
    name = info.get("BUSINESS_NAME") or info.get("FIRST_NAME", "")
    return Buyer(
        id_type=id_type,
        identification=number,
        first_name=name,
        last_name="" if is_company else info.get("LAST_NAME", ""),
        is_company=is_company,
        company_name=name if is_company else "",
        street=_street(
            info.get("STREET_NAME"),
            info.get("STREET_NUMBER"),
            info.get("COMMENT"),
            info.get("NEIGHBORHOOD"),
        ),
        city_name=info.get("CITY_NAME", ""),
        state_name=info.get("STATE_NAME", ""),
        state_code=info.get("STATE_CODE", ""),
        zip_code=info.get("ZIP_CODE", ""),
    )


def _street(name: Any, number: Any, comment: Any, neighborhood: Any) -> str:
    main = " ".join(p for p in (_text(name), _text(_str_id(number))) if p)
    extra = ", ".join(p for p in (_text(comment), _text(neighborhood)) if p)
    return f"{main}, {extra}" if main and extra else main or extra


# --- orders ---------------------------------------------------------------------------------


def _seller_discounts(discounts: Mapping[str, Any] | None) -> dict[str, Decimal]:
    """Seller-financed discount per item id from `GET /orders/{id}/discounts`
    (docs/vendors/mercadolibre.md §3.1).

    Only `amounts.seller` counts: the part MercadoLibre finances does not reduce what the seller
    sells for (ML pays it), so it must not reduce the invoice. An order has one item, so a
    detail without per-item amounts is attributed to the order's item under the key "".
    """
    result: dict[str, Decimal] = {}
    for detail in _list(_dict(discounts).get("details")):
        detail = _dict(detail)
        items = _list(detail.get("items"))
        if items:
            for item in items:
                item = _dict(item)
                key = _str_id(item.get("id")) or ""
                seller = to_decimal(_dict(item.get("amounts")).get("seller"))
                result[key] = result.get(key, ZERO) + seller
        else:
            seller = to_decimal(_dict(detail.get("amounts")).get("seller"))
            result[""] = result.get("", ZERO) + seller
    return result


def _lines(order: Mapping[str, Any], discounts: Mapping[str, Any] | None) -> list[SaleLine]:
    order_id = _str_id(order.get("id")) or ""
    by_item = _seller_discounts(discounts)
    lines: list[SaleLine] = []
    for raw in _list(order.get("order_items")):
        entry = _dict(raw)
        item = _dict(entry.get("item"))
        item_id = _str_id(item.get("id")) or ""
        quantity = to_decimal(entry.get("quantity"), Decimal("1"))
        sku = _text(item.get("seller_sku")) or _text(item.get("seller_custom_field")) or None
        discount = by_item.pop(item_id, ZERO)
        if not lines:
            discount += by_item.pop("", ZERO)
        lines.append(
            SaleLine(
                order_id=order_id,
                item_id=item_id,
                title=_text(item.get("title")),
                quantity=quantity,
                unit_price=to_decimal(entry.get("unit_price")),
                sku=sku,
                variation_id=_str_id(item.get("variation_id")),
                seller_discount=discount,
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
    for raw in _list(order.get("payments")):
        payment = _dict(raw)
        status = _text(payment.get("status")).lower()
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
) -> SaleFacts:
    """Canonical facts of one sale: a pack (all its orders) or a single order.

    `discounts` maps order id → the `/orders/{id}/discounts` response; `shipment` is the
    `/shipments/{id}` response (only its `status` is read, for the "delivered" trigger).
    `pack_complete` is False when the pack lists an order that is not in `orders`; with no pack
    given the orders are taken as complete.
    """
    if not orders:
        raise ValueError("build_sale_facts needs at least one order")
    order_ids = tuple(_str_id(o.get("id")) or "" for o in orders)
    pack_id = _str_id(_dict(pack).get("id")) if pack else None
    if pack_id is None:
        pack_id = next((p for o in orders if (p := _str_id(o.get("pack_id")))), None)
    external_id = pack_id or order_ids[0]

    lines: list[SaleLine] = []
    tags: set[str] = set()
    statuses: list[str] = []
    refunds: list[Refund] = []
    total_paid = ZERO
    payments_fee: Decimal | None = None
    for order, order_id in zip(orders, order_ids, strict=True):
        lines.extend(_lines(order, (discounts or {}).get(order_id)))
        tags.update(t for t in _list(order.get("tags")) if isinstance(t, str))
        status = _text(order.get("status")).lower()
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

    if shipment_costs:
        receiver = _dict(shipment_costs.get("receiver"))
        shipping_buyer = to_decimal(receiver.get("cost"))
        shipping_seller = sum(
            (to_decimal(_dict(s).get("cost")) for s in _list(shipment_costs.get("senders"))), ZERO
        )
    else:
        # Without /shipments/{id}/costs, only a non-pack order's `shipping_cost` tells what the
        # buyer paid (it is null on pack orders, docs/vendors/mercadolibre.md §3.1).
        shipping_buyer = sum((to_decimal(o.get("shipping_cost")) for o in orders), ZERO)
        shipping_seller = ZERO

    listed = {_str_id(_dict(o).get("id")) for o in _list(_dict(pack).get("orders"))} - {None}
    first = orders[0]
    buyer_json = _dict(first.get("buyer"))
    closed = [d for d in (_parse_datetime(o.get("date_closed")) for o in orders) if d]
    extra: dict[str, str] = {}
    for key, value in (
        ("buyer_id", _str_id(buyer_json.get("id"))),
        ("shipment_id", _str_id(_dict(first.get("shipping")).get("id"))),
        ("billing_info_id", _str_id(_dict(buyer_json.get("billing_info")).get("id"))),
    ):
        if value:
            extra[key] = value

    return SaleFacts(
        external_id=external_id,
        order_ids=order_ids,
        pack_id=pack_id,
        seller_id=_str_id(_dict(first.get("seller")).get("id")) or "",
        statuses=tuple(statuses),
        tags=frozenset(tags),
        lines=tuple(lines),
        buyer=parse_billing(billing),
        buyer_nickname=_text(buyer_json.get("nickname")),
        # Orders since 2024 carry only the buyer's id (§15): billing info names the buyer.
        buyer_display_name=billing_name(billing)
        or " ".join(
            p
            for p in (_text(buyer_json.get("first_name")), _text(buyer_json.get("last_name")))
            if p
        ),
        shipping_paid_by_buyer=shipping_buyer,
        shipping_paid_by_seller=shipping_seller,
        total_paid=total_paid,
        marketplace_fee=(
            payments_fee if payments_fee is not None else sum((ln.sale_fee for ln in lines), ZERO)
        ),
        refunds=tuple(refunds),
        sale_date=min(closed) if closed else None,
        delivered=_text(_dict(shipment).get("status")).lower() == "delivered",
        pack_complete=listed <= set(order_ids),
        extra=extra,
        order_versions={
            order_id: str(order["last_updated"])
            for order, order_id in zip(orders, order_ids, strict=True)
            if order_id and isinstance(order.get("last_updated"), str) and order["last_updated"]
        },
    )


def order_ids_of_pack(pack: Mapping[str, Any]) -> list[str]:
    """The order ids a `/packs/{id}` response lists (what the caller must fetch)."""
    ids: Iterable[str | None] = (_str_id(_dict(o).get("id")) for o in _list(pack.get("orders")))
    return [i for i in ids if i]
