"""Siigo validation rules and invoice arithmetic (docs/vendors/siigo.md §6, §7, §9.4, §10).

The total is computed per line exactly as Siigo does: base = round(qty*price - discount, 2),
tax = round(base*pct/100, 2), line = round(base + tax, 2); total = Σ lines (ROUND_HALF_UP).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from conexapi.sandbox.clock import round2
from conexapi.sandbox.siigo_catalogs import ID_TYPES, NUMERIC_ID_TYPES
from conexapi.sandbox.siigo_errors import siigo_error

if TYPE_CHECKING:
    from conexapi.sandbox.siigo_state import Company

ErrorList = list[dict[str, Any]]
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CODE_RE = re.compile(r"^[^'\s]+$")
IDEMPOTENCY_RE = re.compile(r"^[A-Za-z0-9]{1,30}$")
PARTNER_RE = re.compile(r"^[A-Za-z0-9]{3,100}$")
WITHHOLDING_TYPES = frozenset({"Retefuente", "ReteIVA", "ReteICA", "Autorretencion"})
DIAN_WEIGHTS = (3, 7, 13, 17, 19, 23, 29, 37, 41, 43, 47, 53, 59, 67, 71)


def nit_check_digit(nit: str) -> str:
    """DIAN mod-11 verification digit."""
    total = sum(int(d) * w for d, w in zip(reversed(nit), DIAN_WEIGHTS, strict=False))
    rest = total % 11
    return str(rest if rest in (0, 1) else 11 - rest)


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


def decimals_of(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# ---------------------------------------------------------------------------- customers
def validate_customer(body: dict[str, Any]) -> ErrorList:
    errors: ErrorList = []
    person_type = body.get("person_type")
    if person_type not in ("Person", "Company"):
        errors.append(
            siigo_error("parameter_required", "The field person_type is required", ["person_type"])
        )
    id_type = body.get("id_type")
    if isinstance(id_type, dict):
        id_type = id_type.get("code")
    if id_type not in ID_TYPES:
        errors.append(siigo_error("invalid_reference", "The id_type doesn't exist", ["id_type"]))
    ident = body.get("identification")
    if not isinstance(ident, str) or not ident:
        errors.append(
            siigo_error(
                "parameter_required", "The field identification is required", ["identification"]
            )
        )
    elif (id_type in NUMERIC_ID_TYPES and not re.fullmatch(r"\d{3,13}", ident)) or (
        id_type not in NUMERIC_ID_TYPES and not re.fullmatch(r"[A-Za-z0-9]{1,20}", ident)
    ):
        errors.append(
            siigo_error(
                "invalid_identification", "The identification is invalid", ["identification"]
            )
        )
    check_digit = body.get("check_digit")
    if (
        check_digit is not None
        and id_type == "31"
        and isinstance(ident, str)
        and str(check_digit) != nit_check_digit(ident)
    ):
        errors.append(siigo_error("invalid_value", "Invalid value: check_digit", ["check_digit"]))
    name = body.get("name")
    expected = 2 if person_type == "Person" else 1
    if (
        not isinstance(name, list)
        or len(name) != expected
        or not all(isinstance(n, str) and n and len(n) <= 100 and "'" not in n for n in name)
    ):
        errors.append(siigo_error("invalid_array", "The array name has invalid values", ["name"]))
    branch = body.get("branch_office", 0)
    if not isinstance(branch, int) or not 0 <= branch <= 999:
        errors.append(
            siigo_error("invalid_value", "Invalid value: branch_office", ["branch_office"])
        )
    address = body.get("address")
    city = address.get("city") if isinstance(address, dict) else None
    if not isinstance(address, dict) or not address.get("address"):
        errors.append(
            siigo_error("parameter_required", "The field address is required", ["address.address"])
        )
    if not isinstance(city, dict) or not city.get("state_code") or not city.get("city_code"):
        errors.append(
            siigo_error("parameter_required", "The field city is required", ["address.city"])
        )
    contacts = body.get("contacts")
    if not isinstance(contacts, list) or not contacts or len(contacts) > 10:
        errors.append(
            siigo_error("invalid_array", "The array contacts has invalid values", ["contacts"])
        )
    else:
        for i, contact in enumerate(contacts):
            if not isinstance(contact, dict) or not contact.get("first_name"):
                errors.append(
                    siigo_error(
                        "parameter_required",
                        "The field first_name is required",
                        [f"contacts[{i}].first_name"],
                    )
                )
                continue
            email = contact.get("email")
            if email is not None and not EMAIL_RE.match(str(email)):
                errors.append(
                    siigo_error("invalid_email", "The email is invalid", [f"contacts[{i}].email"])
                )
    return errors


# ---------------------------------------------------------------------------- products
def validate_product(body: dict[str, Any], company: Company) -> ErrorList:
    errors: ErrorList = []
    code = body.get("code")
    if not isinstance(code, str) or not code:
        errors.append(siigo_error("parameter_required", "The field code is required", ["code"]))
    elif len(code) > 30:
        errors.append(
            siigo_error(
                "length_max",
                "The field code only allows a maximum length of 30 characters",
                ["code"],
            )
        )
    elif not CODE_RE.match(code):
        errors.append(siigo_error("invalid_code", "The code has invalid characters", ["code"]))
    elif company.product_by_code(code) is not None:
        errors.append(siigo_error("already_exists", "The code already exists", ["code"]))
    name = body.get("name")
    if not isinstance(name, str) or not name or len(name) > 100 or "'" in name:
        errors.append(siigo_error("invalid_name", "The field name is invalid", ["name"]))
    group = body.get("account_group")
    groups = {g["id"]: g for g in company.account_groups}
    if group not in groups:
        errors.append(
            siigo_error("invalid_reference", "The account_group doesn't exist", ["account_group"])
        )
    elif not groups[group]["active"]:
        errors.append(
            siigo_error("parameter_inactive", "The account_group is inactive", ["account_group"])
        )
    for i, tax in enumerate(body.get("taxes") or []):
        if not isinstance(tax, dict) or tax.get("id") not in company.taxes:
            errors.append(
                siigo_error(
                    "invalid_reference",
                    f"The tax doesn't exist: {tax.get('id') if isinstance(tax, dict) else tax}",
                    [f"taxes[{i}].id"],
                )
            )
    return errors


# ---------------------------------------------------------------------------- documents
@dataclass
class LineResult:
    code: str
    description: str
    quantity: Decimal
    price: Decimal
    discount: Decimal
    base: Decimal
    taxes: list[dict[str, Any]]
    total: Decimal


@dataclass
class DocumentResult:
    errors: ErrorList = field(default_factory=list)
    lines: list[LineResult] = field(default_factory=list)
    total: Decimal = Decimal(0)
    payments: list[dict[str, Any]] = field(default_factory=list)
    doc_type: dict[str, Any] | None = None
    customer: dict[str, Any] | None = None


def compute_line(
    quantity: Decimal,
    price: Decimal | None,
    taxed_price: Decimal | None,
    discount: Decimal,
    taxes: list[dict[str, Any]],
) -> tuple[Decimal, Decimal, list[dict[str, Any]], Decimal]:
    """Return (unit price, base, tax details, line total) with Siigo's rounding."""
    iva_pct = sum(
        (Decimal(str(t["percentage"])) for t in taxes if t["type"] not in WITHHOLDING_TYPES),
        Decimal(0),
    )
    if taxed_price is not None:
        # taxed_price replaces price: derive the pre-tax unit price (6 decimals), then round.
        price = (taxed_price / (1 + iva_pct / 100)).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    assert price is not None
    base = round2(quantity * price - discount)
    details: list[dict[str, Any]] = []
    line = base
    for tax in taxes:
        value = round2(base * Decimal(str(tax["percentage"])) / 100)
        details.append({**tax, "value": value, "base_value": base})
        line = line - value if tax["type"] in WITHHOLDING_TYPES else line + value
    return price, base, details, round2(line)


def validate_document(
    company: Company, body: dict[str, Any], today: date, kind: str
) -> DocumentResult:
    """Validate an invoice (kind "FV") or credit note (kind "NC") body and compute its total."""
    res = DocumentResult()
    err = res.errors
    document = body.get("document")
    doc_id = document.get("id") if isinstance(document, dict) else None
    doc_type = company.document_types.get(doc_id) if isinstance(doc_id, int) else None
    if doc_id is None:
        err.append(
            siigo_error("parameter_required", "The field document.id is required", ["document.id"])
        )
    elif doc_type is None or doc_type["type"] != kind:
        err.append(
            siigo_error("invalid_reference", "The document.id doesn't exist", ["document.id"])
        )
    elif not doc_type["active"]:
        err.append(
            siigo_error(
                "document_settings",
                "The document.id cannot be used, you must verify the document settings",
                ["document.id"],
            )
        )
    else:
        res.doc_type = doc_type
    raw_date = body.get("date")
    try:
        doc_date = date.fromisoformat(str(raw_date)) if raw_date else None
    except ValueError:
        doc_date = None
    if doc_date is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(raw_date)):
        err.append(siigo_error("invalid_date", "The date format is invalid, yyyy-MM-dd", ["date"]))
    elif doc_date < today:
        err.append(
            siigo_error(
                "invalid_date",
                "The date must be greater than or equal to the current date",
                ["date"],
            )
        )
    if kind == "FV":
        _check_customer_and_seller(company, body, res)
    elif "seller" in body and body["seller"] is not None:
        _check_seller(company, body["seller"], err)
    _check_document_settings(body, res)
    _check_items(company, body, res)
    if res.doc_type is not None and not res.doc_type.get("decimals", True):
        # The total respects the document type's `decimals` setting (docs/vendors/siigo.md §9.3):
        # whole pesos.
        res.total = res.total.quantize(Decimal(1), ROUND_HALF_UP)
    _check_payments(company, body, res, kind)
    return res


def _check_document_settings(body: dict[str, Any], res: DocumentResult) -> None:
    """What the document type asks of every document (docs/vendors/siigo.md §8,
    `document_settings` §4.3)."""
    doc_type, err = res.doc_type, res.errors
    if doc_type is None:
        return
    if not doc_type.get("automatic_number", True) and body.get("number") is None:
        err.append(siigo_error("parameter_required", "The field number is required", ["number"]))
    if doc_type.get("cost_center_mandatory") and body.get("cost_center") is None:
        err.append(
            siigo_error("parameter_required", "The field cost_center is required", ["cost_center"])
        )
    raw_items = body.get("items")
    items: list[Any] = raw_items if isinstance(raw_items, list) else []
    if doc_type.get("seller_by_item") and any(
        isinstance(i, dict) and i.get("seller") is None for i in items
    ):
        err.append(
            siigo_error(
                "document_settings",
                "The document type requires a seller by item",
                ["items.seller"],
            )
        )


def _check_seller(company: Company, seller: Any, err: ErrorList) -> None:
    user = company.users.get(seller) if isinstance(seller, int) else None
    if user is None:
        err.append(siigo_error("invalid_reference", "The seller doesn't exist", ["seller"]))
    elif not user["active"]:
        err.append(siigo_error("parameter_inactive", "The seller is inactive", ["seller"]))


def _check_customer_and_seller(company: Company, body: dict[str, Any], res: DocumentResult) -> None:
    err = res.errors
    cust = body.get("customer")
    ident = cust.get("identification") if isinstance(cust, dict) else None
    branch = cust.get("branch_office", 0) if isinstance(cust, dict) else 0
    customer = company.customer_by_ident(str(ident), int(branch or 0)) if ident else None
    if not ident:
        err.append(
            siigo_error(
                "parameter_required",
                "The field customer.identification is required",
                ["customer.identification"],
            )
        )
    elif customer is None or not customer.get("active", True):
        err.append(
            siigo_error(
                "invalid_reference",
                "The customer doesn't exist or is inactive",
                ["customer.identification"],
            )
        )
    elif not customer.get("contacts"):
        err.append(
            siigo_error(
                "customer_settings", "The customer has no contacts", ["customer.identification"]
            )
        )
    else:
        res.customer = customer
    if body.get("seller") is None:
        err.append(siigo_error("parameter_required", "The field seller is required", ["seller"]))
    else:
        _check_seller(company, body["seller"], err)


def _check_items(company: Company, body: dict[str, Any], res: DocumentResult) -> None:
    err = res.errors
    items = body.get("items")
    if not isinstance(items, list) or not items:
        err.append(siigo_error("parameter_required", "The field items is required", ["items"]))
        return
    if len(items) > 500:
        err.append(siigo_error("invalid_array", "The array items has invalid values", ["items"]))
        return
    total = Decimal(0)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            err.append(siigo_error("invalid_type", "Invalid item", [f"items[{i}]"]))
            continue
        n_before = len(err)
        code = item.get("code")
        product = company.product_by_code(str(code)) if code else None
        if product is None:
            err.append(
                siigo_error(
                    "invalid_reference", f"The product doesn't exist: {code}", [f"items[{i}].code"]
                )
            )
        elif not product.get("active", True):
            err.append(
                siigo_error(
                    "parameter_inactive", f"The product is inactive: {code}", [f"items[{i}].code"]
                )
            )
        qty = to_decimal(item.get("quantity"))
        if qty is None or qty <= 0 or decimals_of(qty) > 2:
            err.append(
                siigo_error("invalid_value", "Invalid value: quantity", [f"items[{i}].quantity"])
            )
        price = to_decimal(item.get("price")) if item.get("price") is not None else None
        taxed = to_decimal(item.get("taxed_price")) if item.get("taxed_price") is not None else None
        for name, value, raw in (
            ("price", price, item.get("price")),
            ("taxed_price", taxed, item.get("taxed_price")),
        ):
            if raw is not None and (
                value is None
                or value < 0
                or decimals_of(value) > 6
                or value > Decimal("99999999999.99")
            ):
                err.append(
                    siigo_error(
                        "invalid_amount", f"The {name} amount is invalid", [f"items[{i}].{name}"]
                    )
                )
        if item.get("price") is None and item.get("taxed_price") is None:
            err.append(
                siigo_error(
                    "parameter_required", "The field price is required", [f"items[{i}].price"]
                )
            )
        discount = Decimal(0)
        if item.get("discount") is not None:
            d = to_decimal(item["discount"])
            if d is None or d < 0 or decimals_of(d) > 2:
                err.append(
                    siigo_error(
                        "invalid_amount", "The discount amount is invalid", [f"items[{i}].discount"]
                    )
                )
            else:
                discount = d
        taxes = _check_item_taxes(company, item.get("taxes"), i, err)
        if len(err) > n_before or qty is None:
            continue
        unit, base, details, line = compute_line(qty, price, taxed, discount, taxes)
        total += line
        res.lines.append(
            LineResult(
                str(code),
                str(item.get("description") or (product and product.get("name")) or ""),
                qty,
                unit,
                discount,
                base,
                details,
                line,
            )
        )
    res.total = total


def _check_item_taxes(company: Company, raw: Any, i: int, err: ErrorList) -> list[dict[str, Any]]:
    if raw is None:
        return []  # Faithful: a line without taxes is taxed at 0 even for Taxed products.
    if not isinstance(raw, list):
        err.append(
            siigo_error(
                "invalid_array", "The array taxes has invalid values", [f"items[{i}].taxes"]
            )
        )
        return []
    taxes: list[dict[str, Any]] = []
    for j, tax in enumerate(raw):
        tax_id = tax.get("id") if isinstance(tax, dict) else None
        found = company.taxes.get(tax_id) if isinstance(tax_id, int) else None
        if found is None:
            err.append(
                siigo_error(
                    "invalid_reference",
                    f"The tax doesn't exist: {tax_id}",
                    [f"items[{i}].taxes[{j}].id"],
                )
            )
        elif not found["active"]:
            err.append(
                siigo_error(
                    "parameter_inactive",
                    f"The tax is inactive: {tax_id}",
                    [f"items[{i}].taxes[{j}].id"],
                )
            )
        else:
            taxes.append(found)
    types = [t["type"] for t in taxes]
    # Siigo's `invalid_array` for taxes (docs/vendors/siigo.md §4.3): at most 3, no repeated type,
    # not IVA and AdValorem together, no ReteIVA/ReteICA inside items.
    if (
        len(raw) > 3
        or len(types) != len(set(types))
        or {"ReteIVA", "ReteICA"} & set(types)
        or {"IVA", "AdValorem"} <= set(types)
    ):
        err.append(
            siigo_error(
                "invalid_array", "The array taxes has invalid values", [f"items[{i}].taxes"]
            )
        )
    return taxes


def _check_payments(company: Company, body: dict[str, Any], res: DocumentResult, kind: str) -> None:
    err = res.errors
    payments = body.get("payments")
    if not isinstance(payments, list) or not payments:
        err.append(
            siigo_error("parameter_required", "The field payments is required", ["payments"])
        )
        return
    paid = Decimal(0)
    ok = True
    due_dated = 0
    for i, payment in enumerate(payments):
        pid = payment.get("id") if isinstance(payment, dict) else None
        ptype = company.payment_types.get(pid) if isinstance(pid, int) else None
        if ptype is None or ptype["document_type"] != kind:
            err.append(
                siigo_error(
                    "invalid_payment",
                    "The payment type is not valid for the document type",
                    [f"payments[{i}].id"],
                )
            )
            ok = False
            continue
        if not ptype["active"]:
            err.append(
                siigo_error(
                    "parameter_inactive", "The payment type is inactive", [f"payments[{i}].id"]
                )
            )
            ok = False
        value = to_decimal(payment.get("value"))
        if value is None or value < 0 or decimals_of(value) > 2:
            err.append(
                siigo_error(
                    "invalid_amount", "The payments amount is invalid", [f"payments[{i}].value"]
                )
            )
            ok = False
            continue
        if ptype["due_date"]:
            due_dated += 1
            if not payment.get("due_date"):
                err.append(
                    siigo_error(
                        "parameter_required",
                        "The field due_date is required",
                        [f"payments[{i}].due_date"],
                    )
                )
                ok = False
        paid += value
        res.payments.append(
            {
                "id": pid,
                "name": ptype["name"],
                "value": value,
                **({"due_date": payment["due_date"]} if payment.get("due_date") else {}),
            }
        )
    if due_dated > 1:
        err.append(
            siigo_error("invalid_array", "Only one payment with due date is allowed", ["payments"])
        )
    if ok and not err and paid != res.total:
        err.append(
            siigo_error(
                "invalid_total_payments",
                "The total payments must be equal to the total invoice. The total invoice "
                f"calculated is {format_total(res.total)}",
                ["payments"],
            )
        )


def format_total(total: Decimal) -> str:
    # Siigo prints the computed total without trailing zeros ("129700", "1024.99").
    text = f"{total:.2f}"
    return text[:-3] if text.endswith(".00") else text
