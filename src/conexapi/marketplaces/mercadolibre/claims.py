"""MercadoLibre claims and returns → what credit notes need (pure; docs/vendors/mercadolibre.md
§7)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from conexapi.marketplaces.mercadolibre.values import as_dict, as_list, str_id, text, to_decimal
from conexapi.sales.facts import OrderClaim, ReturnedItem

__all__ = ["parse_order_claims"]


def parse_order_claims(
    order_id: str,
    claims: Iterable[Mapping[str, Any]],
    returns: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[OrderClaim, ...]:
    """The claims of one order as credit notes need them.

    `claims` are `/post-purchase/v1/claims/search` results or `/post-purchase/v1/claims/{id}`
    bodies; `returns` maps claim id → `/post-purchase/v2/claims/{id}/returns`. A claim resolved
    with MercadoLibre's coverage (`resolution.applied_coverage`, or the reason
    `coverage_decision`) means MercadoLibre paid the buyer and the seller keeps the money. A
    return's `orders[].return_quantity` (strings like "1.0") are the units that came back, once
    the return's money went back to the buyer (`status_money: refunded`).
    """
    out: list[OrderClaim] = []
    for raw in claims:
        claim = as_dict(raw)
        claim_id = str_id(claim.get("id"))
        resource = text(claim.get("resource")).lower()
        if claim_id is None or (resource and resource != "order"):
            continue
        if str_id(claim.get("resource_id")) not in (None, order_id):
            continue
        resolution = as_dict(claim.get("resolution"))
        covered = resolution.get("applied_coverage") is True or (
            text(resolution.get("reason")).lower() == "coverage_decision"
        )
        returned: list[ReturnedItem] = []
        ret = as_dict((returns or {}).get(claim_id))
        with_return = "return" in [text(e) for e in as_list(claim.get("related_entities"))]
        refunded = text(ret.get("status_money")).lower() == "refunded"
        if refunded:
            for entry in as_list(ret.get("orders")):
                entry = as_dict(entry)
                if str_id(entry.get("order_id")) not in (None, order_id):
                    continue
                quantity = to_decimal(entry.get("return_quantity"))
                if quantity > 0:
                    returned.append(
                        ReturnedItem(
                            item_id=str_id(entry.get("item_id")) or "",
                            variation_id=str_id(entry.get("variation_id")),
                            quantity=quantity,
                        )
                    )
        out.append(
            OrderClaim(
                claim_id=claim_id,
                order_id=order_id,
                covered=covered,
                returned=tuple(returned),
                closed=text(claim.get("status")).lower() == "closed",
                return_pending=(with_return or bool(ret)) and not refunded,
            )
        )
    return tuple(out)
