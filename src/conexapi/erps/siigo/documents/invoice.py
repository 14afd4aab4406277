"""The invoice builder: sale facts + settings + product mappings → Siigo FV / NC plans.

Pure and exact: every amount is a `Decimal`, rounded only here with ROUND_HALF_UP, replicating
Siigo's per-line arithmetic (docs/vendors/siigo.md §9.4-1) so that `payments.value` always equals
the total Siigo computes (otherwise `invalid_total_payments`, and every failure counts toward
Siigo's 80 %-errors account block, §3). MercadoLibre prices include IVA; Siigo wants the pre-tax
unit price with up to 6 decimals, so each line's price is searched so that Siigo's line total
lands on the MercadoLibre amount, or the nearest centavo when that amount is unreachable (§9.4-2).

Each line carries the tax of the Siigo product it maps to (`taxes`), the shipping line the tax
the settings choose; discounts are taken off as MercadoLibre means them (docs/fiscal.md).
Errors live in `sales.build_errors`, the arithmetic in `arithmetic`, taxes in `taxes`, keys and
markers in `sales.keys` and credit notes in `credit_note`; this module re-exports their names.
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
from conexapi.erps.siigo.documents.taxes import LineTax, ProductTaxes, TaxRate, line_tax
from conexapi.erps.siigo.mapping import sanitize_text
from conexapi.messages import text
from conexapi.messages.numbers import cop
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
    UnsupportedTax,
)
from conexapi.sales.clock import colombia_date
from conexapi.sales.decision import CANCELLED_STATUSES
from conexapi.sales.facts import SaleFacts, SaleLine
from conexapi.sales.keys import OBSERVATIONS_UNSAFE, idempotency_key, line_key, marker
from conexapi.sales.settings import InvoicingSettings, MeliCouponInvoicing, ShippingTax

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
    "UnsupportedTax",
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

    `body` keeps `Decimal`s; send `json_body()`. `expected_gross` is what the invoice should add
    up to in MercadoLibre's amounts; `deviation` = `total` − `expected_gross` is nonzero only when
    an amount is unreachable with Siigo's rounding (≤0.01 per line). `buyer_paid` is what the
    buyer paid for what is invoiced; `differences` explain why the invoice differs from it.
    """

    body: dict[str, Any]
    total: Decimal
    subtotal: Decimal
    tax_total: Decimal
    expected_gross: Decimal
    deviation: Decimal
    breakdown: list[dict[str, Any]]
    idempotency_key: str
    order_ids: tuple[str, ...] = ()
    warnings: list[str] = field(default_factory=list)
    buyer_paid: Decimal = ZERO
    differences: list[dict[str, str]] = field(default_factory=list)
    shipping_tax_reason: str | None = None

    def json_body(self) -> dict[str, Any]:
        rendered: dict[str, Any] = json_safe(self.body)
        return rendered

    def summary(self) -> dict[str, Any]:
        """JSON-safe breakdown for the seller: lines with their tax, subtotal, IVA, total, what
        the buyer paid and every difference with its reason."""
        summary: dict[str, Any] = {
            "lineas": self.breakdown,
            "subtotal": money_text(self.subtotal),
            "iva": money_text(self.tax_total),
            "total": money_text(self.total),
            "total_mercadolibre": money_text(self.buyer_paid),
            "total_esperado": money_text(self.expected_gross),
            "diferencia": money_text(self.deviation),
            "diferencias": self.differences,
        }
        if self.shipping_tax_reason:
            summary["envio_impuesto"] = self.shipping_tax_reason
        return summary


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
    tax: LineTax,
    settings: InvoicingSettings,
    *,
    order_id: str | None = None,
    item: str | None = None,
) -> PricedItem:
    """An item whose Siigo line total matches `gross` (an amount in MercadoLibre's terms), taxed
    at the line's own rate."""
    rate = tax.rate
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
    return PricedItem(
        code,
        description,
        qty,
        price,
        expected,
        totals,
        tax_ids=tax.tax_ids,
        rate=rate,
        tax_label=tax.label,
        order_id=order_id,
        item=item,
    )


def _observations(facts: SaleFacts, order_ids: Sequence[str], key: str) -> str:
    parts = ["MercadoLibre"]
    if facts.pack_id:
        parts.append(f"pack {facts.pack_id}")
    parts.append(f"orden(es) {' '.join(order_ids)}")
    text = " ".join(parts)
    if facts.sale_date is not None:
        # The sale's date as a Colombian reads it (America/Bogota), dd/mm/aaaa.
        text += f" - Venta del {colombia_date(facts.sale_date).strftime('%d/%m/%Y')}"
    tail = f" - {marker(key)}"
    # Observations' charset is undocumented (docs/vendors/siigo.md §12): keep it plain; ≤4000
    # chars (§9.1), marker last and never cut.
    return OBSERVATIONS_UNSAFE.sub("", text)[: 4000 - len(tail)] + tail


def line_amount(line: SaleLine, settings: InvoicingSettings) -> Decimal:
    """What one MercadoLibre line is invoiced for, IVA included (docs/fiscal.md, "Descuentos").

    `unit_price` already carries any price promotion: it is never taken off again. Coupons the
    seller funds are the seller's own unconditional discount and reduce the price (E.T. art.
    454). The share MercadoLibre funds is paid by MercadoLibre for the buyer: by default it stays
    in the price (`meli_coupon_invoicing: as_price`); `as_discount` leaves it out.
    """
    amount = line.gross - line.seller_coupon
    if settings.meli_coupon_invoicing is MeliCouponInvoicing.AS_DISCOUNT:
        amount -= line.meli_coupon
    return amount


def _shipping_tax(
    items: Sequence[PricedItem],
    settings: InvoicingSettings,
    rates: Mapping[int, TaxRate],
) -> tuple[LineTax, str]:
    """The shipping line's tax and the reason, for the seller (docs/fiscal.md, "Envío")."""
    if settings.shipping_tax is ShippingTax.FIXED:
        if settings.shipping_tax_id is None:
            return LineTax((), ZERO, "Excluido", "Excluded"), text(
                "invoice.shipping_tax_fixed_none"
            )
        fixed = line_tax(ProductTaxes("envío", tax_ids=(settings.shipping_tax_id,)), rates, None)
        return fixed, text("invoice.shipping_tax_fixed", label=fixed.label)
    principal = max(items, key=lambda it: it.expected_gross)  # first of the largest on a tie
    tax = LineTax(principal.tax_ids, principal.rate, principal.tax_label)
    reason = text(
        "invoice.shipping_tax_principal",
        label=principal.tax_label,
        product=principal.description,
        amount=cop(principal.expected_gross),
    )
    return tax, reason


def build_invoice(
    facts: SaleFacts,
    settings: InvoicingSettings,
    *,
    product_codes: Mapping[str, str],
    today: date,
    idempotency_key: str,
    customer_identification: str,
    branch_office: int = 0,
    products: Mapping[str, ProductTaxes] | None = None,
    rates: Mapping[int, TaxRate] | None = None,
) -> InvoicePlan:
    """The invoice plan of a sale that `decide()` said to invoice.

    `products` are the Siigo products' tax facts by code (a code not in it has no tax in Siigo
    and takes the default IVA), `rates` the company's tax catalog by id. Lines of orders
    cancelled before invoicing (in a pack with other paid orders) are left out. Coupons are
    taken off each line's amount (`line_amount`); Siigo's `discount` field is not used because its
    meaning (value or percentage) depends on the document type (docs/vendors/siigo.md §8,
    `discount_type`). The shipping
    the buyer paid becomes its own line with `settings.shipping_product_code`.
    """
    missing = settings.missing()
    shipping = facts.shipping_paid_by_buyer
    if shipping > 0 and not settings.shipping_product_code:
        missing.append("shipping_product_code")
    if missing:
        raise MissingSettings(missing)
    assert settings.fv_document_id is not None
    products = products or {}
    rates = rates or {}

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
    buyer_paid = ZERO
    meli_coupons = ZERO
    for ln in lines:
        key = line_key(ln)
        code = product_codes[key].strip()
        if not _PRODUCT_CODE.match(code):
            raise InvalidProductCode(key, code)
        gross = line_amount(ln, settings)
        description = sanitize_text(ln.title, 100) or "Producto MercadoLibre"
        if gross <= 0:
            raise InvalidAmount(f"la línea {description}", gross)
        tax = line_tax(products.get(code) or ProductTaxes(code), rates, settings.iva_tax_id)
        item_ref = f"{ln.item_id}:{ln.variation_id or ''}"
        items.append(
            _priced_item(
                code,
                description,
                ln.quantity,
                gross,
                tax,
                settings,
                order_id=ln.order_id,
                item=item_ref,
            )
        )
        buyer_paid += ln.gross - ln.seller_coupon - ln.meli_coupon
        meli_coupons += ln.meli_coupon
    shipping_reason: str | None = None
    if shipping > 0:
        assert settings.shipping_product_code is not None
        ship_code = settings.shipping_product_code.strip()
        if not _PRODUCT_CODE.match(ship_code):
            raise InvalidProductCode("envío", ship_code)
        ship_tax, shipping_reason = _shipping_tax(items, settings, rates)
        items.append(
            _priced_item(ship_code, SHIPPING_DESCRIPTION, Decimal(1), shipping, ship_tax, settings)
        )
        buyer_paid += shipping
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
            "items": [it.body() for it in items],
            # One payment line equal to Siigo's own total (invalid_total_payments otherwise).
            "payments": [{"id": settings.payment_type_id, "value": total}],
            "stamp": {"send": settings.stamp},
            "mail": {"send": settings.send_email},
        }
    )
    warnings: list[str] = []
    differences: list[dict[str, str]] = []
    deviation = total - expected
    kept_coupons = (
        meli_coupons if settings.meli_coupon_invoicing is MeliCouponInvoicing.AS_PRICE else ZERO
    )
    if kept_coupons and settings.prices_include_iva:
        differences.append(
            {
                "motivo": "cupon_mercadolibre",
                "valor": money_text(kept_coupons),
                "detalle": text("invoice.difference_meli_coupon", amount=cop(kept_coupons)),
            }
        )
    if deviation:
        message = text(
            "invoice.rounding_deviation", total=money_text(total), deviation=money_text(deviation)
        )
        warnings.append(message)
        differences.append(
            {"motivo": "redondeo", "valor": money_text(deviation), "detalle": message}
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
        buyer_paid=buyer_paid,
        differences=differences,
        shipping_tax_reason=shipping_reason,
    )
