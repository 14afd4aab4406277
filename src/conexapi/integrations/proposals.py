"""Settings proposed from a company's Siigo catalogs (each with its reason) and every setting
checked against them: what an integration can be set to (docs/fiscal.md for the fiscal ones)."""

from __future__ import annotations

import re
from typing import Any

from conexapi.connections.catalogs import NON_ELECTRONIC, Catalogs, DocumentType, PaymentType
from conexapi.core.errors import Unprocessable
from conexapi.integrations.api_schemas import Proposal
from conexapi.messages import text
from conexapi.sales.settings import InvoicingSettings

SIIGO_CODE_RE = re.compile(r"^[^'\"\s]{1,30}$")
PREFERRED_PAYMENT_NAMES = ("mercadopago", "mercado pago", "contado", "efectivo")
KIND_ES = {"FV": "de factura", "NC": "de nota crédito"}


def is_valid_code(code: str) -> bool:
    """Siigo product codes: 1–30 characters, no spaces or quotes."""
    return bool(SIIGO_CODE_RE.match(code))


# ---------------------------------------------------------------------------- proposals
def _pick_payment(rows: list[PaymentType], kind: str) -> tuple[int | None, str, str]:
    """(id, the API's reason, the seller's reason in Spanish)."""
    candidates = [p for p in rows if p.active and not p.due_date]
    kind_es = KIND_ES[kind]
    if not candidates:
        return None, f"no active {kind} payment type without due date in Siigo", ""
    for wanted in PREFERRED_PAYMENT_NAMES:
        for p in candidates:
            if wanted in p.name.lower():
                return (
                    p.id,
                    f'"{p.name}": active {kind} payment type without due date, '
                    f'named like "{wanted}"',
                    text("proposal.payment_named", name=p.name, kind=kind_es, wanted=wanted),
                )
    p = candidates[0]
    return (
        p.id,
        f'"{p.name}": the first of {len(candidates)} active {kind} payment types without due '
        "date (check it is the one for MercadoLibre sales)",
        text("proposal.payment_first", name=p.name, n=len(candidates), kind=kind_es),
    )


def document_type_problem(doc: DocumentType, kind: str, settings: InvoicingSettings) -> str | None:
    """Why ConexAPI cannot issue documents of this Siigo type, or None (docs/vendors/siigo.md §8).

    ConexAPI sends no `number` (needs `automatic_number`), no seller per item, a cost center only
    when one is set, amounts with centavos (needs `decimals`), and electronic documents when it
    sends them to the DIAN. Real NC types carry no `electronic_type` (docs/vendors/siigo.md §16):
    only an explicit "NoElectronic" counts as not electronic for them.
    """
    if not doc.active:
        return f'"{doc.name}" is inactive in Siigo.'
    electronic = doc.electronic if kind == "FV" else doc.electronic_type != NON_ELECTRONIC
    if settings.stamp and not electronic:
        return (
            f'"{doc.name}" is not an electronic document type; ConexAPI sends documents to the '
            "DIAN (stamp on): choose an electronic type, or turn stamp off."
        )
    if not doc.automatic_number:
        return f'"{doc.name}" needs a number typed by hand (automatic_number false).'
    if doc.seller_by_item:
        return f'"{doc.name}" asks for a seller on each item (seller_by_item true).'
    if doc.cost_center_mandatory and settings.cost_center_id is None:
        return f'"{doc.name}" requires a cost center: set cost_center_id first.'
    if not doc.decimals:
        return (
            f'"{doc.name}" does not take decimals; MercadoLibre amounts and Siigo\'s per-line '
            "IVA carry centavos, so its totals would not match (invalid_total_payments)."
        )
    return None


def _pick_credit_note_type(
    catalogs: Catalogs, usable: InvoicingSettings
) -> tuple[DocumentType, str, str] | None:
    """The NC type for credit notes: active, one ConexAPI can fill in, and electronic when the
    company invoices electronically. Siigo's NC rows carry no `electronic_type`
    (docs/vendors/siigo.md §16), so a row that says nothing counts as electronic in such a
    company; one that says `NoElectronic` does not. Among several, one named "electrónica" wins,
    then the first."""
    active = [
        d
        for d in catalogs.document_types_nc
        if d.active and document_type_problem(d, "NC", usable) is None
    ]
    electronic = catalogs.invoices_electronically
    fit = [d for d in active if catalogs.credit_note_is_electronic(d) == electronic]
    if not fit:
        return None
    named = [d for d in fit if "electr" in d.name.lower()]
    doc = (named or fit)[0]
    extra = "" if len(fit) == 1 else f" (first of {len(fit)}; check it is the right one)"
    extra_es = "" if len(fit) == 1 else text("proposal.first_of", n=len(fit))
    if not electronic:
        return (
            doc,
            f'"{doc.name}": active credit note type, for non-electronic invoices{extra}',
            text("proposal.nc_plain", name=doc.name, extra=extra_es),
        )
    if doc.electronic_unknown:
        why = (
            "active credit note type; Siigo does not say whether NC types are electronic, and "
            "this company invoices electronically, so its credit notes are electronic"
        )
        texto = text("proposal.nc_unknown", name=doc.name, extra=extra_es)
    else:
        why = f"active electronic credit note type ({doc.electronic_type})"
        texto = text(
            "proposal.nc_electronic", name=doc.name, kind=doc.electronic_type, extra=extra_es
        )
    return doc, f'"{doc.name}": {why}{extra}', texto


def propose(
    catalogs: Catalogs, *, company_email: str | None = None
) -> tuple[dict[str, Any], dict[str, Proposal]]:
    """Values and reasons for every setting that the catalogs can justify."""
    values: dict[str, Any] = {}
    reasons: dict[str, Proposal] = {}

    def put(name: str, value: Any, reason: str, texto: str) -> None:
        values[name] = value
        reasons[name] = Proposal(value=value, reason=reason, text=texto)

    usable = InvoicingSettings(cost_center_id=0)  # a cost center is proposed below when needed
    fv = [
        d
        for d in catalogs.document_types_fv
        if d.active and d.electronic and document_type_problem(d, "FV", usable) is None
    ]
    if fv:
        doc = fv[0]
        extra = "" if len(fv) == 1 else f" (first of {len(fv)}; check the numbering resolution)"
        extra_es = "" if len(fv) == 1 else text("proposal.first_of_resolution", n=len(fv))
        put(
            "fv_document_id",
            doc.id,
            f'"{doc.name}": active electronic sales invoice type ({doc.electronic_type}){extra}',
            text("proposal.fv", name=doc.name, kind=doc.electronic_type, extra=extra_es),
        )
        if doc.cost_center_mandatory:
            centers = [c for c in catalogs.cost_centers if c.active]
            if centers:
                put(
                    "cost_center_id",
                    centers[0].id,
                    f'"{centers[0].name}": the invoice type requires a cost center; first active',
                    text("proposal.cost_center", name=centers[0].name),
                )
    nc = _pick_credit_note_type(catalogs, usable)
    if nc is not None:
        put("nc_document_id", nc[0].id, nc[1], nc[2])
    users = [u for u in catalogs.users if u.active]
    if users:
        extra = "" if len(users) == 1 else f" (first of {len(users)} active users)"
        extra_es = "" if len(users) == 1 else text("proposal.first_of_users", n=len(users))
        put(
            "seller_id",
            users[0].id,
            f'"{users[0].full_name}": active Siigo user{extra}',
            text("proposal.seller", name=users[0].full_name, extra=extra_es),
        )
    pid, reason, texto = _pick_payment(catalogs.payment_types_fv, "FV")
    if pid is not None:
        put("payment_type_id", pid, reason, texto)
    pid, reason, texto = _pick_payment(catalogs.payment_types_nc, "NC")
    if pid is not None:
        put("nc_payment_type_id", pid, reason, texto)
    iva = [
        t
        for t in catalogs.taxes
        if t.active and t.type.upper() == "IVA" and float(t.percentage) == 19.0
    ]
    if iva:
        put(
            "iva_tax_id",
            iva[0].id,
            f'"{iva[0].name}": the active IVA 19 % tax, for products without a tax in Siigo '
            "(a product's own tax always wins)",
            text("proposal.iva", name=iva[0].name),
        )
    put(
        "shipping_tax",
        "principal_good",
        "shipping is taxed like the cart's principal good: carriage follows the good it carries "
        "(Estatuto Tributario art. 447); an all-excluded cart gets an excluded shipping line",
        text("proposal.shipping_tax"),
    )
    put(
        "consumer_fallback",
        {"identification": "222222222222", "id_type": "13", "name": "Consumidor final"},
        "buyers who give MercadoLibre no fiscal data are invoiced to the DIAN's generic "
        '"consumidor final" (222222222222); turn it off to decide sale by sale',
        text("proposal.consumer_fallback"),
    )
    put(
        "upload_invoice_to_marketplace",
        False,
        "off until you choose it: when on, the invoice PDF the DIAN accepted is attached to the "
        "MercadoLibre sale (POST /packs/{id}/fiscal_documents), once",
        text("proposal.upload_invoice"),
    )
    put(
        "stamp",
        True,
        "an electronic invoice counts only once sent to the DIAN; Siigo sends it when created",
        text("proposal.stamp"),
    )
    put(
        "invoice_trigger",
        "paid",
        "invoiced when MercadoLibre reports the sale paid: the buyer's money is in",
        text("proposal.invoice_trigger"),
    )
    put(
        "meli_coupon_invoicing",
        "as_price",
        "the share of a coupon MercadoLibre pays is part of the price the seller receives",
        text("proposal.meli_coupon"),
    )
    put(
        "credit_notes_auto",
        True,
        "a cancelled or refunded sale gets its credit note without waiting for a person",
        text("proposal.credit_notes_auto"),
    )
    if company_email and "@" in company_email:
        put(
            "fallback_email",
            company_email,
            "the e-mail of your company's Siigo API user: buyers without an e-mail get no "
            "address of ours; change it to your billing address if it is another",
            text("proposal.fallback_email"),
        )
    return values, reasons


# ---------------------------------------------------------------------------- validation
def invalid_setting(message: str, field: str, value: Any) -> Unprocessable:
    return Unprocessable(message, code="invalid_setting", details={"field": field, "value": value})


def validate_settings(settings: InvoicingSettings, catalogs: Catalogs, fields: set[str]) -> None:
    """Every id in `fields` must exist and be active in the company's catalogs (422 otherwise)."""
    checks: list[tuple[str, str, Any]] = []
    if "fv_document_id" in fields and settings.fv_document_id is not None:
        doc = catalogs.document_type("FV", settings.fv_document_id)
        checks.append(("fv_document_id", "sales invoice document type", doc))
    if "nc_document_id" in fields and settings.nc_document_id is not None:
        doc = catalogs.document_type("NC", settings.nc_document_id)
        checks.append(("nc_document_id", "credit note document type", doc))
    if "seller_id" in fields and settings.seller_id is not None:
        checks.append(("seller_id", "seller (Siigo user)", catalogs.user(settings.seller_id)))
    if "payment_type_id" in fields and settings.payment_type_id is not None:
        pt = catalogs.payment_type("FV", settings.payment_type_id)
        checks.append(("payment_type_id", "invoice payment type", pt))
    if "nc_payment_type_id" in fields and settings.nc_payment_type_id is not None:
        pt = catalogs.payment_type("NC", settings.nc_payment_type_id)
        checks.append(("nc_payment_type_id", "credit note payment type", pt))
    for name, label in (("iva_tax_id", "IVA tax"), ("shipping_tax_id", "shipping tax")):
        tax_id = getattr(settings, name)
        if name not in fields or tax_id is None:
            continue
        tax = catalogs.tax(tax_id)
        checks.append((name, label, tax))
        if tax is not None and tax.type.upper() != "IVA":
            raise invalid_setting(
                f'Tax {tax.id} ("{tax.name}") is a {tax.type} tax, not IVA.', name, tax_id
            )
    if "cost_center_id" in fields and settings.cost_center_id is not None:
        cc = catalogs.cost_center(settings.cost_center_id)
        checks.append(("cost_center_id", "cost center", cc))
    for name, label, row in checks:
        value = getattr(settings, name)
        if row is None:
            raise invalid_setting(f"Unknown {label} {value} in this Siigo company.", name, value)
        if not getattr(row, "active", True):
            raise invalid_setting(f"The {label} {value} is inactive in Siigo.", name, value)
    # Document types ConexAPI can satisfy, whenever the type or what it depends on changes.
    for kind, name in (("FV", "fv_document_id"), ("NC", "nc_document_id")):
        doc_id = getattr(settings, name)
        if doc_id is None or not fields & {name, "stamp", "cost_center_id"}:
            continue
        doc = catalogs.document_type(kind, doc_id)
        problem = document_type_problem(doc, kind, settings) if doc is not None else None
        if problem is not None:
            raise invalid_setting(problem, name, doc_id)
    if "payment_type_id" in fields and settings.payment_type_id is not None:
        pt = catalogs.payment_type("FV", settings.payment_type_id)
        if pt is not None and pt.due_date:
            raise invalid_setting(
                f'Payment type "{pt.name}" needs a due date; MercadoLibre sales are paid: choose '
                "one without due date.",
                "payment_type_id",
                settings.payment_type_id,
            )
    if (
        "shipping_product_code" in fields
        and settings.shipping_product_code is not None
        and not is_valid_code(settings.shipping_product_code)
    ):
        raise invalid_setting(
            "Siigo product codes have at most 30 characters and no spaces or quotes.",
            "shipping_product_code",
            settings.shipping_product_code,
        )
