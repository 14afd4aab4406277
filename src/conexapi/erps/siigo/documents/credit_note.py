"""The credit-note builder: an issued Siigo invoice + what to credit → a Siigo NC plan (pure).

What to credit is decided by `sales.credits` (which lines, units, values, DIAN concept); this
module prices it with the same per-line arithmetic as the invoice (see `arithmetic`), each line
with the tax of the invoice line it credits, so the NC's `payments.value` always equals the
total Siigo computes (docs/vendors/siigo.md §10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from conexapi.erps.siigo.documents.arithmetic import (
    ZERO,
    PricedItem,
    json_safe,
    money_text,
    net_unit_price,
    siigo_line_total,
)
from conexapi.erps.siigo.documents.taxes import TaxRate
from conexapi.erps.siigo.mapping import sanitize_text
from conexapi.sales.build_errors import EmptySale, MissingSettings
from conexapi.sales.credits import Concept, CreditRequest, InvoicedLine, LineCredit
from conexapi.sales.keys import OBSERVATIONS_UNSAFE, marker
from conexapi.sales.settings import InvoicingSettings

__all__ = ["CONCEPT_LABELS", "CreditNotePlan", "InvoiceItem", "build_credit_note", "invoice_items"]

CONCEPT_LABELS = {
    Concept.PARTIAL_RETURN: "Devolucion parcial",
    Concept.ANNULMENT: "Anulacion",
    Concept.DISCOUNT: "Rebaja",
    Concept.PRICE_ADJUSTMENT: "Ajuste de precio",
}


@dataclass(frozen=True)
class CreditNotePlan:
    """A Siigo `POST /v1/credit-notes` body (docs/vendors/siigo.md §10) with its exact total.

    `credited` is what it takes from each invoice line (stored with the document, so the next
    credit knows what is left); `deviation` = `total` − the values asked (≤0.01 per line when a
    value is not reachable with Siigo's rounding).
    """

    body: dict[str, Any]
    total: Decimal
    reason: int
    requested: Decimal
    deviation: Decimal
    breakdown: list[dict[str, Any]]
    credited: tuple[LineCredit, ...]
    idempotency_key: str

    def json_body(self) -> dict[str, Any]:
        rendered: dict[str, Any] = json_safe(self.body)
        return rendered


@dataclass(frozen=True)
class InvoiceItem:
    """One line of an issued invoice, as sent to Siigo, with its rate and MercadoLibre origin."""

    index: int
    code: str
    description: str
    quantity: Decimal
    price: Decimal
    tax_ids: tuple[int, ...]
    rate: Decimal
    order_id: str | None = None
    item: str | None = None

    @property
    def total(self) -> Decimal:
        return siigo_line_total(self.quantity, self.price, ZERO, self.rate).total

    def invoiced(self) -> InvoicedLine:
        return InvoicedLine(self.index, self.quantity, self.total, self.order_id, self.item)


def _rate(
    raw_rows: Mapping[str, Any] | None, tax_ids: Sequence[int], rates: Mapping[int, TaxRate]
) -> Decimal:
    if raw_rows is not None and raw_rows.get("tasa") not in (None, ""):
        return Decimal(str(raw_rows["tasa"]))
    return sum((rates[t].percentage for t in tax_ids if t in rates), ZERO)


def invoice_items(
    body: Mapping[str, Any],
    breakdown: Sequence[Mapping[str, Any]] = (),
    rates: Mapping[int, TaxRate] | None = None,
    *,
    origins: Sequence[tuple[str | None, str | None]] | None = None,
) -> list[InvoiceItem]:
    """The lines of an invoice body as sent, with each line's rate and origin.

    The rate and the order/item of a line come from the invoice's breakdown (written when it was
    built); for an invoice built before they were, the rate comes from the tax catalog and the
    origin from `origins` (or none: the line belongs to the whole sale).
    """
    rates = rates or {}
    items: list[InvoiceItem] = []
    for i, raw in enumerate(body.get("items") or []):
        row = breakdown[i] if i < len(breakdown) else None
        tax_ids = tuple(int(t["id"]) for t in raw.get("taxes") or [] if isinstance(t, Mapping))
        order_id = row.get("order_id") if row is not None else None
        item = row.get("item") if row is not None else None
        if row is None or "order_id" not in row:
            order_id, item = (
                origins[i] if origins is not None and i < len(origins) else (None, None)
            )
        items.append(
            InvoiceItem(
                index=i,
                code=str(raw["code"]),
                description=str(raw.get("description") or ""),
                quantity=Decimal(str(raw["quantity"])),
                price=Decimal(str(raw["price"])),
                tax_ids=tax_ids,
                rate=_rate(row, tax_ids, rates),
                order_id=str(order_id) if order_id else None,
                item=str(item) if item else None,
            )
        )
    return items


def _credit_item(line: InvoiceItem, quantity: Decimal, amount: Decimal | None) -> PricedItem:
    """The NC item for `quantity` units of `line` (at the invoice's unit price, or at the price
    that reaches `amount` for the line's last units), or for the value `amount` alone."""
    rate = line.rate
    if quantity > 0:
        price = line.price
        totals = siigo_line_total(quantity, price, ZERO, rate)
        if amount is not None and totals.total != amount:
            price = net_unit_price(amount, quantity, rate)
            totals = siigo_line_total(quantity, price, ZERO, rate)
        description = line.description
    else:
        assert amount is not None
        quantity = Decimal(1)
        price = net_unit_price(amount, quantity, rate)
        totals = siigo_line_total(quantity, price, ZERO, rate)
        description = sanitize_text(f"Rebaja - {line.description}", 100)
    return PricedItem(
        line.code,
        description,
        quantity,
        price,
        totals.total if amount is None else amount,
        totals,
        tax_ids=line.tax_ids,
        rate=rate,
        order_id=line.order_id,
        item=line.item,
    )


def build_credit_note(
    items: Sequence[InvoiceItem],
    request: CreditRequest,
    *,
    settings: InvoicingSettings,
    invoice_erp_id: str,
    today: date,
    idempotency_key: str,
    external_ref: str = "",
) -> CreditNotePlan:
    """The credit note `request` asks for, against the invoice whose lines are `items`.

    Units are credited at the invoice's unit price, except the line's last units, which take
    what is left of the line (so the invoice ends fully credited); a money credit is one unit at
    the value asked. Each item carries the taxes of the line it credits, or the NC lacks IVA
    (docs/vendors/siigo.md §10.1).
    """
    missing = settings.missing_for_credit_notes()
    if missing:
        raise MissingSettings(missing)
    by_index = {it.index: it for it in items}
    priced: list[PricedItem] = []
    credited: list[LineCredit] = []
    asked = ZERO
    for index, quantity, amount in request.lines:
        line = by_index.get(index)
        if line is None:
            continue
        item = _credit_item(line, quantity, amount)
        priced.append(item)
        credited.append(LineCredit(index, quantity, item.totals.total))
        asked += item.expected_gross
    if not priced:
        raise EmptySale()
    total = sum((it.totals.total for it in priced), ZERO)
    reason = int(request.concept)
    tail = f" - {marker(idempotency_key)}"
    label = CONCEPT_LABELS[request.concept]
    head = OBSERVATIONS_UNSAFE.sub("", f"{label} MercadoLibre {external_ref}".strip())
    body: dict[str, Any] = {
        "document": {"id": settings.nc_document_id},
        "date": today.isoformat(),
        "invoice": invoice_erp_id,
        "reason": reason,
    }
    if settings.seller_id is not None:
        body["seller"] = settings.seller_id
    if settings.cost_center_id is not None:
        body["cost_center"] = settings.cost_center_id
    body.update(
        {
            "observations": head[: 4000 - len(tail)] + tail,
            "items": [it.body() for it in priced],
            "payments": [{"id": settings.nc_payment_type_id, "value": total}],
            # stamp.send true, or the DIAN still sees the invoice as valid
            # (docs/vendors/siigo.md §10.1).
            "stamp": {"send": settings.stamp},
            "mail": {"send": settings.send_email},
        }
    )
    rows = []
    for it, taken in zip(priced, credited, strict=True):
        row = it.row()
        row["linea_factura"] = taken.index
        rows.append(row)
    return CreditNotePlan(
        body=body,
        total=total,
        reason=reason,
        requested=request.requested or asked,
        deviation=total - asked,
        breakdown=rows,
        credited=tuple(credited),
        idempotency_key=idempotency_key,
    )


def credited_rows(credited: Sequence[LineCredit]) -> list[dict[str, str | int]]:
    """`credited` as stored in the document's breakdown ("acreditado")."""
    return [
        {
            "linea": c.index,
            "cantidad": format(c.quantity.normalize(), "f"),
            "valor": money_text(c.amount),
        }
        for c in credited
    ]
