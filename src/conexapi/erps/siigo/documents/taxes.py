"""Which tax each invoice line carries: the tax of the Siigo product it maps to (pure).

Siigo never implies a tax: a line without `taxes` is saved at 0 % even for a taxed product
(docs/vendors/siigo.md §9.4-3), so every line carries its product's `taxes[].id` explicitly, with
the percentage read from the company's tax catalog (`GET /v1/taxes`, docs/vendors/siigo.md §8),
never typed by a person. A product without taxes takes the integration's default IVA unless Siigo
classifies it as Exempt or Excluded (`tax_classification`, docs/vendors/siigo.md §7.1). Anything
ConexAPI cannot reproduce exactly (impoconsumo, several taxes, a tax missing from the catalog or
inactive, a classification that contradicts its tax) is refused with the reason, so the sale waits
instead of being invoiced wrong. The rules and their sources are in docs/fiscal.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from conexapi.sales.build_errors import UnsupportedTax

__all__ = [
    "EXCLUDED",
    "EXEMPT",
    "TAXED",
    "LineTax",
    "ProductTaxes",
    "TaxRate",
    "line_tax",
    "product_taxes",
    "tax_rates",
]

TAXED, EXEMPT, EXCLUDED = "Taxed", "Exempt", "Excluded"
_ZERO = Decimal("0")


@dataclass(frozen=True)
class TaxRate:
    """One row of Siigo's tax catalog."""

    id: int
    name: str
    type: str
    percentage: Decimal
    active: bool = True


@dataclass(frozen=True)
class ProductTaxes:
    """What a Siigo product says about its taxes (`tax_classification`, `taxes[].id`)."""

    code: str
    classification: str = TAXED
    tax_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class LineTax:
    """The tax one invoice line carries and the percentage Siigo applies to it."""

    tax_ids: tuple[int, ...]
    rate: Decimal
    label: str  # for the seller: "IVA 19 %", "Excluido", "Exento"...
    classification: str = TAXED
    from_default: bool = False  # the product has no tax: the integration's default IVA

    def body(self) -> list[dict[str, int]]:
        return [{"id": tax_id} for tax_id in self.tax_ids]


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def tax_rates(rows: Iterable[Mapping[str, Any] | Any]) -> dict[int, TaxRate]:
    """Siigo's `GET /v1/taxes` rows (dicts or catalog models) by id; odd rows are skipped."""
    out: dict[int, TaxRate] = {}
    for row in rows:
        get = row.get if isinstance(row, Mapping) else (lambda k, r=row: getattr(r, k, None))
        raw_id, pct = get("id"), _decimal(get("percentage"))
        if raw_id is None or isinstance(raw_id, bool) or pct is None:
            continue
        try:
            tax_id = int(raw_id)
        except (TypeError, ValueError):
            continue
        out[tax_id] = TaxRate(
            id=tax_id,
            name=str(get("name") or ""),
            type=str(get("type") or ""),
            percentage=pct,
            active=get("active") is not False,
        )
    return out


def product_taxes(product: Mapping[str, Any]) -> ProductTaxes:
    """A Siigo product body (`GET /v1/products`) → its tax facts. A missing classification is
    Siigo's default, Taxed (docs/vendors/siigo.md §7.1)."""
    ids: list[int] = []
    for tax in product.get("taxes") or []:
        raw = tax.get("id") if isinstance(tax, Mapping) else None
        if isinstance(raw, int) and not isinstance(raw, bool):
            ids.append(raw)
        elif isinstance(raw, str) and raw.strip().isdigit():
            ids.append(int(raw))
    classification = str(product.get("tax_classification") or TAXED)
    return ProductTaxes(str(product.get("code") or ""), classification, tuple(ids))


def _label(rate: TaxRate, classification: str) -> str:
    if classification == EXEMPT:
        return f"Exento ({rate.name or 'IVA 0 %'})"
    if classification == EXCLUDED:
        return "Excluido"
    return f"IVA {format(rate.percentage.normalize(), 'f')} %"


def line_tax(
    product: ProductTaxes, rates: Mapping[int, TaxRate], default_tax_id: int | None
) -> LineTax:
    """The tax of a line mapped to `product`, or `UnsupportedTax` saying why it cannot be."""
    classification = product.classification
    if classification not in (TAXED, EXEMPT, EXCLUDED):
        raise UnsupportedTax(
            product.code, f"clasificación tributaria desconocida '{classification}'"
        )
    if not product.tax_ids:
        if classification == EXCLUDED:
            return LineTax((), _ZERO, "Excluido", EXCLUDED)
        if classification == EXEMPT:
            return LineTax((), _ZERO, "Exento", EXEMPT)
        if default_tax_id is None:
            raise UnsupportedTax(product.code, "no tiene impuesto y no hay IVA por defecto")
        rate = _usable(product.code, default_tax_id, rates)
        return LineTax((rate.id,), rate.percentage, _label(rate, TAXED), TAXED, from_default=True)
    if len(product.tax_ids) > 1:
        raise UnsupportedTax(product.code, f"tiene {len(product.tax_ids)} impuestos")
    rate = _usable(product.code, product.tax_ids[0], rates)
    if classification in (EXEMPT, EXCLUDED) and rate.percentage != 0:
        kind = "exento" if classification == EXEMPT else "excluido"
        raise UnsupportedTax(
            product.code, f"está clasificado como {kind} pero tiene {rate.name or 'un IVA'}"
        )
    return LineTax((rate.id,), rate.percentage, _label(rate, classification), classification)


def _usable(code: str, tax_id: int, rates: Mapping[int, TaxRate]) -> TaxRate:
    rate = rates.get(tax_id)
    if rate is None:
        raise UnsupportedTax(code, f"el impuesto {tax_id} no está en el catálogo de Siigo")
    if not rate.active:
        raise UnsupportedTax(code, f"el impuesto {rate.name or tax_id} está inactivo en Siigo")
    if rate.type.upper() != "IVA":
        raise UnsupportedTax(code, f"{rate.name or tax_id} es de tipo {rate.type}, no IVA")
    return rate
