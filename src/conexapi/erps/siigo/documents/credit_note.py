"""The credit-note builder: a Siigo invoice + a refund → a Siigo NC plan.

Pure and exact, with the same per-line arithmetic as the invoice (see `siigo_arithmetic`): the
NC's `payments.value` always equals the total Siigo computes (docs/vendors/siigo.md §10).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, Decimal
from typing import Any

from conexapi.erps.siigo.documents.arithmetic import (
    CENT,
    ZERO,
    PricedItem,
    json_safe,
    net_unit_price,
    round2,
    siigo_line_total,
)
from conexapi.sales.build_errors import EmptySale, InvalidRefund, MissingSettings
from conexapi.sales.keys import OBSERVATIONS_UNSAFE, marker
from conexapi.sales.settings import InvoicingSettings

__all__ = ["CreditNotePlan", "build_credit_note"]

# --- credit note ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditNotePlan:
    """A Siigo `POST /v1/credit-notes` body (docs/vendors/siigo.md §10) with its exact total.

    `approach`: "mirror" (every invoice line), "whole_units" (returned units of some lines) or
    "proportional" (each line reduced by the same share). `deviation` = `total` − requested
    refund (≤0.01 per line when the refund is not reachable with Siigo's rounding).
    """

    body: dict[str, Any]
    total: Decimal
    reason: int
    approach: str
    requested: Decimal
    deviation: Decimal
    breakdown: list[dict[str, str]]
    idempotency_key: str

    def json_body(self) -> dict[str, Any]:
        rendered: dict[str, Any] = json_safe(self.body)
        return rendered


@dataclass(frozen=True)
class _InvoiceLine:
    code: str
    description: str
    quantity: Decimal
    price: Decimal
    taxes: list[dict[str, Any]]
    total: Decimal

    def credit(self, quantity: Decimal, price: Decimal, rate: Decimal) -> PricedItem:
        totals = siigo_line_total(quantity, price, ZERO, rate)
        return PricedItem(self.code, self.description, quantity, price, totals.total, totals)


def _invoice_lines(
    invoice: Mapping[str, Any] | Sequence[Mapping[str, Any]], rate: Decimal, tax_id: int
) -> list[_InvoiceLine]:
    raw_items = invoice.get("items", []) if isinstance(invoice, Mapping) else invoice
    lines: list[_InvoiceLine] = []
    for raw in raw_items:
        quantity = Decimal(str(raw["quantity"]))
        price = Decimal(str(raw["price"]))
        taxes = [dict(t) for t in raw.get("taxes") or [{"id": tax_id}]]
        total = siigo_line_total(quantity, price, ZERO, rate).total
        lines.append(
            _InvoiceLine(
                str(raw["code"]), str(raw.get("description", "")), quantity, price, taxes, total
            )
        )
    return lines


def _whole_units(
    lines: Sequence[_InvoiceLine], refund: Decimal, rate: Decimal
) -> list[tuple[_InvoiceLine, Decimal]] | None:
    """Returned whole units whose Siigo total matches the refund (exactly, else ≤0.01/line).

    Enumerates unit counts per line while the search space stays small (≤20 000 combinations,
    plenty for MercadoLibre packs); otherwise only single-line matches are tried.
    """
    options: list[list[Decimal]] = []
    space = 1
    for ln in lines:
        whole = ln.quantity == ln.quantity.to_integral_value()
        count = int(ln.quantity) if whole else 0
        options.append([Decimal(k) for k in range(count + 1)])
        space *= count + 1
    best: tuple[Decimal, int, list[tuple[_InvoiceLine, Decimal]]] | None = None

    def consider(combo: list[tuple[_InvoiceLine, Decimal]]) -> None:
        nonlocal best
        used = [(ln, k) for ln, k in combo if k > 0]
        if not used:
            return
        total = sum((siigo_line_total(k, ln.price, ZERO, rate).total for ln, k in used), ZERO)
        diff = abs(total - refund)
        if diff > CENT * len(used):
            return
        units = int(sum((k for _, k in used), ZERO))
        if best is None or (diff, units) < (best[0], best[1]):
            best = (diff, units, used)

    if space <= 20_000:
        combos: list[list[Decimal]] = [[]]
        for opts in options:
            combos = [[*c, k] for c in combos for k in opts]
        for counts in combos:
            consider(list(zip(lines, counts, strict=True)))
    else:
        for i, ln in enumerate(lines):
            for k in options[i][1:]:
                consider([(ln, k)])
    return best[2] if best is not None else None


def _proportional(
    lines: Sequence[_InvoiceLine], refund: Decimal, invoice_total: Decimal, rate: Decimal
) -> list[PricedItem]:
    """Each line credited by the same share of its total, one item of quantity 1 per line.

    Shares are floored to centavos and the leftover centavos go to the largest remainders
    (capped at each line's total), so the targets add up to the refund; each item's price is
    then searched like an invoice line, so no item exceeds its invoice line.
    """
    exact = [ln.total * refund / invoice_total for ln in lines]
    targets = [
        min(e.quantize(CENT, rounding=ROUND_DOWN), ln.total)
        for e, ln in zip(exact, lines, strict=True)
    ]
    leftover = int((refund - sum(targets, ZERO)) / CENT)
    order = sorted(range(len(lines)), key=lambda i: exact[i] - targets[i], reverse=True)
    for i in order:
        if leftover <= 0:
            break
        if targets[i] + CENT <= lines[i].total:
            targets[i] += CENT
            leftover -= 1
    items: list[PricedItem] = []
    for ln, target in zip(lines, targets, strict=True):
        if target <= 0:
            continue
        price = net_unit_price(target, Decimal(1), rate)
        items.append(ln.credit(Decimal(1), price, rate))
    return items


def build_credit_note(
    invoice: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    *,
    refund_amount: Decimal | None,
    full: bool,
    settings: InvoicingSettings,
    invoice_erp_id: str,
    today: date,
    idempotency_key: str,
    external_ref: str = "",
) -> CreditNotePlan:
    """Credit note against a Siigo invoice (its body as built, or just its `items`).

    Full (reason 2, "Anulación de factura electrónica"): every invoice line mirrored (same code,
    quantity, price, taxes), so the NC total equals the invoice total. Partial (reason 1,
    "Devolución parcial"): for `refund_amount` (IVA included, as MercadoLibre refunds it),
    whole returned units when some combination of them matches the amount, else every line
    reduced by the same share (see `_proportional`). Never more than the invoice.
    """
    missing = settings.missing_for_credit_notes()
    if missing:
        raise MissingSettings(missing)
    assert settings.nc_document_id is not None
    assert settings.iva_tax_id is not None
    rate = settings.iva_rate
    lines = _invoice_lines(invoice, rate, settings.iva_tax_id)
    if not lines:
        raise EmptySale()
    invoice_total = sum((ln.total for ln in lines), ZERO)

    mirror = [ln.credit(ln.quantity, ln.price, rate) for ln in lines]
    if full:
        items, approach, reason, requested = mirror, "mirror", 2, invoice_total
    else:
        if refund_amount is None or refund_amount <= 0:
            raise InvalidRefund("El valor a devolver de la nota crédito parcial debe ser positivo.")
        requested = round2(refund_amount)
        reason = 1
        units = None if requested >= invoice_total else _whole_units(lines, requested, rate)
        if requested >= invoice_total:
            items, approach = mirror, "mirror"
        elif units is not None:
            items = [ln.credit(k, ln.price, rate) for ln, k in units]
            approach = "whole_units"
        else:
            items = _proportional(lines, requested, invoice_total, rate)
            approach = "proportional"
    taxes_by_code = {ln.code: ln.taxes for ln in lines}
    total = sum((it.totals.total for it in items), ZERO)
    kind = "total" if full else "parcial"
    tail = f" - {marker(idempotency_key)}"
    head = OBSERVATIONS_UNSAFE.sub("", f"Devolucion {kind} MercadoLibre {external_ref}".strip())
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
            # Same tax ids as the invoice lines, or the NC lacks IVA (docs/vendors/siigo.md §10.1).
            "items": [
                {**it.body(settings.iva_tax_id), "taxes": taxes_by_code[it.code]} for it in items
            ],
            "payments": [{"id": settings.nc_payment_type_id, "value": total}],
            # stamp.send true, or the DIAN still sees the invoice as valid
            # (docs/vendors/siigo.md §10.1).
            "stamp": {"send": settings.stamp},
            "mail": {"send": settings.send_email},
        }
    )
    return CreditNotePlan(
        body=body,
        total=total,
        reason=reason,
        approach=approach,
        requested=requested,
        deviation=total - requested,
        breakdown=[it.row() for it in items],
        idempotency_key=idempotency_key,
    )
