"""The invoice builder: sale facts + settings + product mappings → Siigo FV / NC plans.

Pure and exact: every amount is a `Decimal`, rounded only here with ROUND_HALF_UP, replicating
Siigo's per-line arithmetic (siigo-api.md §9.4-1) so that `payments.value` always equals the
total Siigo computes (otherwise `invalid_total_payments`, and every failure counts toward Siigo's
80 %-errors account block, §3). MercadoLibre prices include IVA; Siigo wants the pre-tax unit
price with up to 6 decimals, so each line's price is searched so that Siigo's line total lands on
the MercadoLibre amount, or the nearest centavo when that amount is unreachable (§9.4-2).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from conexapi.erps.siigo.mapping import sanitize_text
from conexapi.integrations.schemas import InvoicingSettings
from conexapi.sync.decision import CANCELLED_STATUSES
from conexapi.sync.facts import SaleFacts, SaleLine

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

ZERO = Decimal("0")
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")
HUNDRED = Decimal("100")
MAX_ITEMS = 500  # Siigo: at most 500 items per FV/NC (§4.3 invalid_array)
SHIPPING_DESCRIPTION = "Envío MercadoLibre"
_PRODUCT_CODE = re.compile(r"^[^'\s]{1,30}$")  # Siigo `invalid_code` rule (§4.3, §7.1)
_MARKER_UNSAFE = re.compile(r"[^A-Za-z0-9 :\-]")
_OBSERVATIONS_UNSAFE = re.compile(r"[^A-Za-z0-9 :\-().,/ÁÉÍÓÚáéíóúÑñ]")

# --- errors ---------------------------------------------------------------------------------

_SETTING_LABELS: dict[str, str] = {
    "fv_document_id": "el tipo de documento de factura de venta (FV)",
    "nc_document_id": "el tipo de documento de nota crédito (NC)",
    "seller_id": "el vendedor de Siigo",
    "payment_type_id": "la forma de pago de las facturas",
    "nc_payment_type_id": "la forma de pago de las notas crédito",
    "iva_tax_id": "el impuesto IVA",
    "shipping_product_code": "el producto de Siigo para el envío",
}


class BuildError(Exception):
    """A sale that cannot become a Siigo document until someone fixes data or settings.

    `code` is stable (shown in the API as `error.code`); `message` is Spanish and says how to
    fix it.
    """

    code = "build_error"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class MissingSettings(BuildError):
    code = "missing_settings"

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        labels = [f"{_SETTING_LABELS.get(n, n)} ({n})" for n in self.names]
        super().__init__(
            f"Falta configurar {_join_es(labels)} en la integración. Complétalo en "
            "Configuración de la integración y reintenta la venta.",
            details={"settings": self.names},
        )


class UnmappedProducts(BuildError):
    code = "unmapped_products"

    def __init__(self, skus: Sequence[str]) -> None:
        self.skus = list(skus)
        if len(self.skus) == 1:
            message = (
                f"El SKU {self.skus[0]} no está asociado a un producto de Siigo. Asócialo en "
                "Productos o crea el producto con ese código en Siigo."
            )
        else:
            message = (
                f"Los SKU {_join_es(self.skus)} no están asociados a productos de Siigo. "
                "Asócialos en Productos o crea los productos con esos códigos en Siigo."
            )
        super().__init__(message, details={"skus": self.skus})


class InvalidProductCode(BuildError):
    code = "invalid_product_code"

    def __init__(self, sku: str, product_code: str) -> None:
        super().__init__(
            f"El código de producto de Siigo '{product_code}' asociado al SKU {sku} no es "
            "válido (máximo 30 caracteres, sin espacios ni comillas). Corrige la asociación "
            "en Productos.",
            details={"sku": sku, "code": product_code},
        )


class EmptySale(BuildError):
    code = "empty_sale"

    def __init__(self) -> None:
        super().__init__("La venta no tiene productos para facturar.")


class InvalidAmount(BuildError):
    code = "invalid_amount"

    def __init__(self, what: str, amount: Decimal) -> None:
        super().__init__(
            f"El valor de {what} es {amount}: Siigo solo acepta valores positivos. Revisa los "
            "descuentos de la venta en MercadoLibre.",
            details={"what": what, "amount": str(amount)},
        )


class TooManyItems(BuildError):
    code = "too_many_items"

    def __init__(self, count: int) -> None:
        super().__init__(
            f"La venta tiene {count} líneas y Siigo admite máximo {MAX_ITEMS} por documento.",
            details={"count": count},
        )


class InvalidRefund(BuildError):
    code = "invalid_refund"

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _join_es(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} y {parts[-1]}"


# --- Siigo arithmetic -----------------------------------------------------------------------


@dataclass(frozen=True)
class LineTotals:
    base: Decimal
    tax: Decimal
    total: Decimal


def _round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def siigo_line_total(
    quantity: Decimal, price: Decimal, discount: Decimal, rate: Decimal
) -> LineTotals:
    """One item's totals exactly as Siigo computes them (siigo-api.md §9.4-1)."""
    base = _round2(quantity * price - discount)
    tax = _round2(base * rate / HUNDRED)
    return LineTotals(base=base, tax=tax, total=_round2(base + tax))


def net_unit_price(gross_line_total: Decimal, quantity: Decimal, rate: Decimal) -> Decimal:
    """The 6-decimal pre-tax unit price whose Siigo line total is closest to the gross amount.

    Exact whenever some price reaches it; otherwise the nearest reachable total, the lower one on
    a tie. Siigo's total depends only on the 2-decimal base `b` (T(b) = b + round(b·rate), strictly
    increasing by ≥0.01 per centavo of base), so the best base is one of a few centavos around
    gross/(1+rate); then the price is the ideal gross/(1+rate)/qty rounded to 6 decimals when it
    rounds to that base (it does in the common case, matching the §9.2 example), else base/qty.
    """
    if quantity <= 0:
        raise ValueError("quantity must be positive")
    factor = 1 + rate / HUNDRED
    center = _round2(gross_line_total / factor)
    candidates = [center + k * CENT for k in range(-2, 3) if center + k * CENT >= 0]

    def reach(base: Decimal) -> Decimal:
        return siigo_line_total(Decimal(1), base, ZERO, rate).total

    best = min(candidates, key=lambda b: (abs(reach(b) - gross_line_total), reach(b)))
    ideal = (gross_line_total / factor / quantity).quantize(MICRO, rounding=ROUND_HALF_UP)
    if _round2(quantity * ideal) == best:
        return ideal
    guess = (best / quantity).quantize(MICRO, rounding=ROUND_HALF_UP)
    for step in (0, 1, -1, 2, -2, 3, -3):
        price = guess + step * MICRO
        if price >= 0 and _round2(quantity * price) == best:
            return price
    raise ValueError(f"no 6-decimal price reaches base {best} for quantity {quantity}")


# --- keys and markers -----------------------------------------------------------------------

_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
MAX_KEY_LENGTH = 30  # Siigo Idempotency-Key: alphanumeric, ≤30 (§12; one page says 32)


def _base36(value: int) -> str:
    if value == 0:
        return "0"
    digits: list[str] = []
    while value:
        value, rest = divmod(value, 36)
        digits.append(_B36[rest])
    return "".join(reversed(digits))


def idempotency_key(integration_id: int, external_id: str, kind: str, seq: int = 1) -> str:
    """Deterministic Siigo `Idempotency-Key` for one document of one sale.

    Readable form: "CX" + length of the integration id in base36 (one char, 1–9) + that base36
    id + the MercadoLibre id (digits) + kind ("FV"/"NC", letters) + seq (digits). The length
    prefix and the digits/letters/digits boundaries make it injective. Siigo rejects hyphens and
    anything non-alphanumeric and caps at 30 chars (§12): a 16-digit ML id with an integration
    id up to 10^9 takes ≤29 chars. Anything longer (or a non-numeric external id) uses the
    hashed form "CXZ" + kind + seq + "H" + base32(sha256), cut to 30 — disjoint from the readable
    form because the readable length char is never "Z".
    """
    kind_code = kind.strip().upper()
    if not kind_code.isalpha() or not kind_code.isascii() or not 1 <= len(kind_code) <= 4:
        raise ValueError(f"kind must be 1-4 ASCII letters, got {kind!r}")
    if integration_id < 0 or seq < 1:
        raise ValueError("integration_id must be ≥0 and seq ≥1")
    ext = external_id.strip()
    integration = _base36(integration_id)
    readable = f"CX{_B36[len(integration)]}{integration}{ext}{kind_code}{seq}"
    if (
        ext.isdigit()
        and ext.isascii()
        and len(integration) <= 9
        and len(readable) <= MAX_KEY_LENGTH
    ):
        return readable
    digest = hashlib.sha256(f"{integration_id}|{ext}|{kind_code}|{seq}".encode()).digest()
    hashed = base64.b32encode(digest).decode("ascii").rstrip("=")
    prefix = f"CXZ{kind_code}{seq}H"
    return (prefix + hashed)[:MAX_KEY_LENGTH]


def marker(key: str) -> str:
    """The text written in `observations` to find our document again (§12 step 3)."""
    return _MARKER_UNSAFE.sub("", f"Ref ConexAPI: {key}")


def line_key(line: SaleLine) -> str:
    """Key of a sale line in the product mappings: the SKU, else "item_id:variation_id"."""
    if line.sku:
        return line.sku
    return f"{line.item_id}:{line.variation_id or ''}"


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


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


# --- invoice --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    code: str
    description: str
    quantity: Decimal
    price: Decimal
    expected_gross: Decimal
    totals: LineTotals

    def body(self, tax_id: int) -> dict[str, Any]:
        return {
            "code": self.code,
            "description": self.description,
            "quantity": self.quantity,
            "price": self.price,
            # Siigo never implies taxes: a line without them is saved at 0 % (§9.4-3).
            "taxes": [{"id": tax_id}],
        }

    def row(self) -> dict[str, str]:
        return {
            "concepto": self.description,
            "codigo": self.code,
            "cantidad": format(self.quantity.normalize(), "f"),
            "precio_unitario_con_iva": _money(self.expected_gross / self.quantity),
            "precio_unitario": str(self.price),
            "base": _money(self.totals.base),
            "iva": _money(self.totals.tax),
            "total": _money(self.totals.total),
        }


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
            "subtotal": _money(self.subtotal),
            "iva": _money(self.tax_total),
            "total": _money(self.total),
            "total_mercadolibre": _money(self.expected_gross),
            "diferencia": _money(self.deviation),
        }


def _item_quantity(quantity: Decimal) -> Decimal | None:
    """Siigo quantities have ≤2 decimals (§9.1); None means "bill 1 at the line total"."""
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
) -> _Item:
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
        expected = _round2(gross * (1 + rate / HUNDRED))
    totals = siigo_line_total(qty, price, ZERO, rate)
    return _Item(code, description, qty, price, expected, totals)


def _observations(facts: SaleFacts, order_ids: Sequence[str], key: str) -> str:
    parts = ["MercadoLibre"]
    if facts.pack_id:
        parts.append(f"pack {facts.pack_id}")
    parts.append(f"orden(es) {' '.join(order_ids)}")
    text = " ".join(parts)
    if facts.sale_date is not None:
        text += f" - Venta del {facts.sale_date.date().isoformat()}"
    tail = f" - {marker(key)}"
    # Observations' charset is undocumented (§12): keep it plain; ≤4000 chars (§9.1), marker last
    # and never cut.
    return _OBSERVATIONS_UNSAFE.sub("", text)[: 4000 - len(tail)] + tail


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
    because its meaning (value or percentage) depends on the document type (§8 `discount_type`).
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

    items: list[_Item] = []
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
            f"El total en Siigo ({_money(total)}) difiere en {_money(deviation)} del valor de "
            "MercadoLibre por el redondeo de Siigo (precio no alcanzable con IVA)."
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


# --- credit note ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditNotePlan:
    """A Siigo `POST /v1/credit-notes` body (siigo-api.md §10) with its exact total.

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

    def credit(self, quantity: Decimal, price: Decimal, rate: Decimal) -> _Item:
        totals = siigo_line_total(quantity, price, ZERO, rate)
        return _Item(self.code, self.description, quantity, price, totals.total, totals)


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
) -> list[_Item]:
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
    items: list[_Item] = []
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
        requested = _round2(refund_amount)
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
    head = _OBSERVATIONS_UNSAFE.sub("", f"Devolucion {kind} MercadoLibre {external_ref}".strip())
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
            # Same tax ids as the invoice lines, or the NC lacks IVA (§10.1).
            "items": [
                {**it.body(settings.iva_tax_id), "taxes": taxes_by_code[it.code]} for it in items
            ],
            "payments": [{"id": settings.nc_payment_type_id, "value": total}],
            # stamp.send true, or the DIAN still sees the invoice as valid (§10.1).
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
