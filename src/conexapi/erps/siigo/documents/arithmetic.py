"""Siigo's per-line arithmetic and the money helpers around it.

Pure and exact: every amount is a `Decimal`, rounded only here with ROUND_HALF_UP, replicating
Siigo's per-line arithmetic (docs/vendors/siigo.md §9.4-1). Decimals become JSON numbers only at
the edge (`json_safe`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

__all__ = [
    "CENT",
    "HUNDRED",
    "MICRO",
    "ZERO",
    "LineTotals",
    "PricedItem",
    "json_safe",
    "money_text",
    "net_unit_price",
    "round2",
    "siigo_line_total",
]

ZERO = Decimal("0")
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
HUNDRED = Decimal("100")

# --- Siigo arithmetic -----------------------------------------------------------------------


@dataclass(frozen=True)
class LineTotals:
    base: Decimal
    tax: Decimal
    total: Decimal


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def siigo_line_total(
    quantity: Decimal, price: Decimal, discount: Decimal, rate: Decimal
) -> LineTotals:
    """One item's totals exactly as Siigo computes them (docs/vendors/siigo.md §9.4-1)."""
    base = round2(quantity * price - discount)
    tax = round2(base * rate / HUNDRED)
    return LineTotals(base=base, tax=tax, total=round2(base + tax))


def net_unit_price(gross_line_total: Decimal, quantity: Decimal, rate: Decimal) -> Decimal:
    """The 6-decimal pre-tax unit price whose Siigo line total is closest to the gross amount.

    Exact whenever some price reaches it; otherwise the nearest reachable total, the lower one on
    a tie. Siigo's total depends only on the 2-decimal base `b` (T(b) = b + round(b·rate), strictly
    increasing by ≥0.01 per centavo of base), so the best base is one of a few centavos around
    gross/(1+rate); then the price is the ideal gross/(1+rate)/qty rounded to 6 decimals when it
    rounds to that base (it does in the common case, matching docs/vendors/siigo.md §9.2), else
    base/qty.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    factor = 1 + rate / HUNDRED
    center = round2(gross_line_total / factor)
    candidates = [center + k * CENT for k in range(-2, 3) if center + k * CENT >= 0]

    def reach(base: Decimal) -> Decimal:
        return siigo_line_total(Decimal(1), base, ZERO, rate).total

    best = min(candidates, key=lambda b: (abs(reach(b) - gross_line_total), reach(b)))
    ideal = (gross_line_total / factor / quantity).quantize(MICRO, rounding=ROUND_HALF_UP)
    if round2(quantity * ideal) == best:
        return ideal
    guess = (best / quantity).quantize(MICRO, rounding=ROUND_HALF_UP)
    for step in (0, 1, -1, 2, -2, 3, -3):
        price = guess + step * MICRO
        if price >= 0 and round2(quantity * price) == best:
            return price
    raise ValueError(f"no 6-decimal price reaches base {best} for quantity {quantity}")


# --- JSON rendering -------------------------------------------------------------------------


def json_safe(value: Any) -> Any:
    """Decimals → int when whole, else float (only at this edge); containers recursively.

    Prices carry ≤15 significant digits (6 decimals, < 10^9), so the float's JSON text is the
    exact decimal.
    """
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(str(value))
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def money_text(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


# --- priced items ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PricedItem:
    """One document line: Siigo's body fields, its exact totals and what it stands for.

    `tax_ids`/`rate`/`tax_label` are the line's own tax (each line carries its product's tax);
    `order_id`/`item` say which MercadoLibre order item it bills (None for shipping), so a credit
    note credits the lines of the order that came back.
    """

    code: str
    description: str
    quantity: Decimal
    price: Decimal
    expected_gross: Decimal
    totals: LineTotals
    tax_ids: tuple[int, ...] = ()
    rate: Decimal = ZERO
    tax_label: str = ""
    order_id: str | None = None
    item: str | None = None

    def body(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "code": self.code,
            "description": self.description,
            "quantity": self.quantity,
            "price": self.price,
        }
        # Siigo never implies taxes: a line without them is saved at 0 %
        # (docs/vendors/siigo.md §9.4-3); an excluded
        # or exempt line without a tax id is exactly that.
        if self.tax_ids:
            item["taxes"] = [{"id": tax_id} for tax_id in self.tax_ids]
        return item

    def row(self) -> dict[str, Any]:
        return {
            "concepto": self.description,
            "codigo": self.code,
            "cantidad": format(self.quantity.normalize(), "f"),
            "precio_unitario_con_iva": money_text(self.expected_gross / self.quantity),
            "precio_unitario": str(self.price),
            "base": money_text(self.totals.base),
            "iva": money_text(self.totals.tax),
            "total": money_text(self.totals.total),
            "impuesto": self.tax_label,
            "tasa": format(self.rate.normalize(), "f"),
            "impuestos": list(self.tax_ids),
            "order_id": self.order_id,
            "item": self.item,
        }
