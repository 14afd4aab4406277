"""The invoice builder: sale facts + settings + product mappings → Siigo FV / NC plans.

Pure and exact: every amount is a `Decimal`, rounded only here with ROUND_HALF_UP, replicating
Siigo's per-line arithmetic (docs/vendors/siigo.md §9.4-1) so that `payments.value` always equals
the total Siigo computes (otherwise `invalid_total_payments`, and every failure counts toward
Siigo's 80 %-errors account block, §3). MercadoLibre prices include IVA; Siigo wants the pre-tax
unit price with up to 6 decimals, so each line's price is searched so that Siigo's line total
lands on the MercadoLibre amount, or the nearest centavo when that amount is unreachable (§9.4-2).

Errors live in `build_errors`, the arithmetic in `siigo_arithmetic`, keys and markers in `keys`
and credit notes in `credit_note_builder`; this module re-exports their public names.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from conexapi.erps.siigo.documents.arithmetic import (
    CENT,
    HUNDRED,
    MICRO,
    ZERO,
    LineTotals,
    PricedItem,
    json_safe,
    money_text,
    net_unit_price,
    round2,
    siigo_line_total,
)
from conexapi.erps.siigo.documents.credit_note import CreditNotePlan, build_credit_note
from conexapi.erps.siigo.mapping import sanitize_text
from conexapi.messages import text
from conexapi.sales.build_errors import (
    MAX_ITEMS,
    BuildError,
    EmptySale,
    InvalidAmount,
    InvalidProductCode,
    InvalidRefund,
    MissingSettings,
    TooManyItems,
    UnmappedProducts,
)
from conexapi.sales.decision import CANCELLED_STATUSES
from conexapi.sales.facts import SaleFacts
from conexapi.sales.keys import OBSERVATIONS_UNSAFE, idempotency_key, line_key, marker
from conexapi.sales.settings import InvoicingSettings

__all__ = [
    "BuildError",
    "CreditNotePlan",
    "EmptySale",
    "InvalidAmount",
    "InvalidProductCode",
    "InvalidRefund",
    "InvoicePlan",
    "LineTotals",
    "MissingSettings",
    "TooManyItems",
    "UnmappedProducts",
    "build_credit_note",
    "build_invoice",
    "idempotency_key",
    "json_safe",
    "line_key",
    "marker",
    "net_unit_price",
    "siigo_line_total",
]

SHIPPING_DESCRIPTION = "Envío MercadoLibre"
_PRODUCT_CODE = re.compile(r"^[^'\s]{1,30}$")  # `invalid_code`: docs/vendors/siigo.md §4.3, §7.1

# --- invoice --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvoicePlan:
    """A Siigo `POST /v1/invoices` body ready to send, with its exact totals.

    `body` keeps `Decimal`s; send `json_body()`. `deviation` = `total` − `expected_gross` is
    nonzero only when a MercadoLibre amount is unreachable with Siigo's rounding (≤0.01 per line).
    """

    body: dict[str, Any]
    total: Decimal
    subtotal: Decimal
    tax_total: Decimal
    expected_gross: Decimal
    deviation: Decimal
    breakdown: list[dict[str, str]]
    idempotency_key: str
    order_ids: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)

    def json_body(self) -> dict[str, Any]:
        rendered: dict[str, Any] = json_safe(self.body)
        return rendered

    def summary(self) -> dict[str, Any]:
        """JSON-safe breakdown for the seller: lines, subtotal, IVA, total and the deviation."""
        return {
            "lineas": self.breakdown,
            "subtotal": money_text(self.subtotal),
            "iva": money_text(self.tax_total),
            "total": money_text(self.total),
            "total_mercadolibre": money_text(self.expected_gross),
            "diferencia": money_text(self.deviation),
        }


def _item_quantity(quantity: Decimal) -> Decimal | None:
    """Siigo quantities have ≤2 decimals (docs/vendors/siigo.md §9.1); None means "bill 1 at
    the line total"."""
    if quantity > 0 and quantity == quantity.quantize(CENT):
        return (
            quantity.quantize(Decimal(1)) if quantity == quantity.to_integral_value() else quantity
        )
    return None


def _priced_item(
    code: str,
    description: str,
    quantity: Decimal,
    gross: Decimal,
    settings: InvoicingSettings,
) -> PricedItem:
    """An item whose Siigo line total matches `gross` (an amount in MercadoLibre's terms)."""
    rate = settings.iva_rate
    qty = _item_quantity(quantity)
    if qty is None:
        qty = Decimal(1)
    if settings.prices_include_iva:
        price = net_unit_price(gross, qty, rate)
        expected = gross
    else:
        # Prices are pre-tax: Siigo adds IVA on top; the expected amount is that theoretical
        # gross, so `deviation` still only measures rounding.
        price = (gross / qty).quantize(MICRO, rounding=ROUND_HALF_UP)
        expected = round2(gross * (1 + rate / HUNDRED))
    totals = siigo_line_total(qty, price, ZERO, rate)
    return PricedItem(code, description, qty, price, expected, totals)


def _observations(facts: SaleFacts, order_ids: Sequence[str], key: str) -> str:
    parts = ["MercadoLibre"]
    if facts.pack_id:
        parts.append(f"pack {facts.pack_id}")
    parts.append(f"orden(es) {' '.join(order_ids)}")
    text = " ".join(parts)
    if facts.sale_date is not None:
        text += f" - Venta del {facts.sale_date.date().isoformat()}"
    tail = f" - {marker(key)}"
    # Observations' charset is undocumented (docs/vendors/siigo.md §12): keep it plain; ≤4000
    # chars (§9.1), marker last and never cut.
    return OBSERVATIONS_UNSAFE.sub("", text)[: 4000 - len(tail)] + tail


def build_invoice(
    facts: SaleFacts,
    settings: InvoicingSettings,
    *,
    product_codes: Mapping[str, str],
    today: date,
    idempotency_key: str,
    customer_identification: str,
    branch_office: int = 0,
) -> InvoicePlan:
    """The invoice plan of a sale that `decide()` said to invoice.

    Lines of orders cancelled before invoicing (in a pack with other paid orders) are left out.
    Seller-financed discounts reduce each line's amount; Siigo's `discount` field is not used
    because its meaning (value or percentage) depends on the document type
    (docs/vendors/siigo.md §8, `discount_type`).
    The shipping the buyer paid becomes its own line with `settings.shipping_product_code`.
    """
    missing = settings.missing()
    shipping = facts.shipping_paid_by_buyer
    if shipping > 0 and not settings.shipping_product_code:
        missing.append("shipping_product_code")
    if missing:
        raise MissingSettings(missing)
    assert settings.fv_document_id is not None
    assert settings.iva_tax_id is not None

    cancelled = {
        oid
        for oid, st in zip(facts.order_ids, facts.statuses, strict=False)
        if st in CANCELLED_STATUSES
    }
    lines = [ln for ln in facts.lines if ln.order_id not in cancelled]
    order_ids = tuple(oid for oid in facts.order_ids if oid not in cancelled)
    if not lines:
        raise EmptySale()

    unmapped = list(
        dict.fromkeys(line_key(ln) for ln in lines if line_key(ln) not in product_codes)
    )
    if unmapped:
        raise UnmappedProducts(unmapped)

    items: list[PricedItem] = []
    for ln in lines:
        key = line_key(ln)
        code = product_codes[key].strip()
        if not _PRODUCT_CODE.match(code):
            raise InvalidProductCode(key, code)
        gross = ln.unit_price * ln.quantity - ln.seller_discount
        description = sanitize_text(ln.title, 100) or "Producto MercadoLibre"
        if gross <= 0:
            raise InvalidAmount(f"la línea {description}", gross)
        items.append(_priced_item(code, description, ln.quantity, gross, settings))
    if shipping > 0:
        assert settings.shipping_product_code is not None
        ship_code = settings.shipping_product_code.strip()
        if not _PRODUCT_CODE.match(ship_code):
            raise InvalidProductCode("envío", ship_code)
        items.append(_priced_item(ship_code, SHIPPING_DESCRIPTION, Decimal(1), shipping, settings))
    if len(items) > MAX_ITEMS:
        raise TooManyItems(len(items))

    total = sum((it.totals.total for it in items), ZERO)
    expected = sum((it.expected_gross for it in items), ZERO)
    body: dict[str, Any] = {
        "document": {"id": settings.fv_document_id},
        "date": today.isoformat(),
        "customer": {"identification": customer_identification, "branch_office": branch_office},
        "seller": settings.seller_id,
    }
    if settings.cost_center_id is not None:
        body["cost_center"] = settings.cost_center_id
    body.update(
        {
            "observations": _observations(facts, order_ids, idempotency_key),
            "items": [it.body(settings.iva_tax_id) for it in items],
            # One payment line equal to Siigo's own total (invalid_total_payments otherwise).
            "payments": [{"id": settings.payment_type_id, "value": total}],
            "stamp": {"send": settings.stamp},
            "mail": {"send": settings.send_email},
        }
    )
    warnings: list[str] = []
    deviation = total - expected
    if deviation:
        warnings.append(
            text(
                "invoice.rounding_deviation",
                total=money_text(total),
                deviation=money_text(deviation),
            )
        )
    return InvoicePlan(
        body=body,
        total=total,
        subtotal=sum((it.totals.base for it in items), ZERO),
        tax_total=sum((it.totals.tax for it in items), ZERO),
        expected_gross=expected,
        deviation=deviation,
        breakdown=[it.row() for it in items],
        idempotency_key=idempotency_key,
        order_ids=order_ids,
        warnings=warnings,
    )
