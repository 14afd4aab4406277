"""MercadoLibre billing info → the buyer's fiscal identity (pure; docs/vendors/mercadolibre.md
§5)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conexapi.marketplaces.mercadolibre.values import as_dict, as_list, str_id, text
from conexapi.sales.facts import BillingStatus, Buyer

__all__ = ["billing_name", "billing_status", "parse_billing"]


def parse_billing(billing: Mapping[str, Any] | None) -> Buyer | None:
    """The buyer's fiscal identity from billing info, or None when there is no identification.

    Accepts the current endpoint (`{"site_id", "buyer": {"billing_info": {...}}}`,
    docs/vendors/mercadolibre.md §5.1), the
    bare `billing_info` block, and the legacy V1 shape (`{"billing_info": {"doc_type",
    "doc_number", "additional_info": [{"type", "value"}]}}`, §5.2).
    """
    if not billing:
        return None
    root = dict(billing)
    legacy = as_dict(root.get("billing_info"))
    if "doc_number" in legacy or "additional_info" in legacy:
        return _parse_legacy_billing(legacy)
    block = as_dict(as_dict(root.get("buyer")).get("billing_info")) or legacy or root
    ident = as_dict(block.get("identification"))
    number = text(ident.get("number")) or text(str_id(ident.get("number")))
    id_type = text(ident.get("type"))
    if not number or not id_type:
        return None
    address = as_dict(block.get("address"))
    state = as_dict(address.get("state"))
    city = address.get("city_name") or as_dict(address.get("city")).get("name")
    cust_type = text(as_dict(block.get("attributes")).get("cust_type")).upper()
    name = text(block.get("name"))
    last_name = text(block.get("last_name"))
    is_company = _is_company(id_type, cust_type, last_name)
    responsibilities, vat = _fiscal_profile(block)
    return Buyer(
        id_type=id_type,
        identification=number,
        first_name=name,
        last_name="" if is_company else last_name,
        is_company=is_company,
        company_name=name if is_company else "",
        street=_street(
            address.get("street_name"),
            address.get("street_number"),
            address.get("comment"),
            address.get("neighborhood"),
        ),
        city_name=text(city),
        state_name=text(state.get("name")),
        state_code=text(state.get("code") or state.get("id")),
        zip_code=text(str_id(address.get("zip_code"))),
        email=text(block.get("email")) or None,
        fiscal_responsibilities=responsibilities,
        vat_responsible=vat,
    )


def _is_company(id_type: str, cust_type: str, last_name: str) -> bool:
    """Person or company, as billing info says (docs/vendors/mercadolibre.md §5.1): `cust_type` "BU"
    is a company and "CO" a person (a person may invoice under a NIT: a merchant's NIT is their
    cédula plus DV). Only without `cust_type` does the document decide: a NIT without last name is a
    company."""
    if cust_type == "BU":
        return True
    if cust_type == "CO":
        return False
    return id_type.upper() == "NIT" and not last_name


_RESPONSIBILITY = re.compile(r"^(O-\d{2}|R-99-PN)$")


def _fiscal_profile(block: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """DIAN fiscal responsibilities and VAT responsibility, when billing info gives them.

    MercadoLibre's MCO examples show none (docs/vendors/mercadolibre.md §5.1, UNCERTAIN); other
    sites put a `taxes` block (`taxpayer_type {id, description}`). Read tolerantly: codes shaped
    like DIAN's ("O-13", "R-99-PN") in `taxes.fiscal_responsibilities` or
    `attributes.fiscal_responsibilities`, and a taxpayer type that says "responsable de IVA".
    """
    taxes = as_dict(block.get("taxes"))
    found: list[str] = []
    for source in (
        taxes.get("fiscal_responsibilities"),
        as_dict(block.get("attributes")).get("fiscal_responsibilities"),
    ):
        for entry in as_list(source):
            code = text(
                entry
                if isinstance(entry, str)
                else as_dict(entry).get("code") or as_dict(entry).get("id")
            ).upper()
            if _RESPONSIBILITY.match(code) and code not in found:
                found.append(code)
    taxpayer = text(as_dict(taxes.get("taxpayer_type")).get("description")).lower()
    vat = "responsable de iva" in taxpayer and "no responsable" not in taxpayer
    return tuple(found), vat


def billing_status(billing: Mapping[str, Any] | None) -> BillingStatus:
    """Whether billing info is usable, still being processed, or absent
    (docs/vendors/mercadolibre.md §5.3).

    MercadoLibre's FAQ: while the fiscal document is PROCESSING some fields come null until it
    is authorized. A billing info that answers but has no identification yet, or that says
    PROCESSING anywhere we know to look, is still being processed: the sale waits for it.
    """
    if not billing:
        return BillingStatus.MISSING
    root = dict(billing)
    block = as_dict(as_dict(root.get("buyer")).get("billing_info")) or as_dict(
        root.get("billing_info")
    )
    for holder in (root, block):
        for key in ("status", "fiscal_document_status"):
            if text(holder.get(key)).upper() in {"PROCESSING", "PENDING"}:
                return BillingStatus.PROCESSING
    if parse_billing(billing) is not None:
        return BillingStatus.COMPLETE
    return BillingStatus.PROCESSING if block or "buyer" in root else BillingStatus.MISSING


def billing_name(billing: Mapping[str, Any] | None) -> str:
    """The buyer's name as billing info gives it (company name, or name and last name), also
    when the identification is missing or still processing (§5.3)."""
    if not billing:
        return ""
    root = dict(billing)
    legacy = as_dict(root.get("billing_info"))
    if "doc_number" in legacy or "additional_info" in legacy:
        info = {
            text(as_dict(e).get("type")).upper(): text(str_id(as_dict(e).get("value")))
            for e in as_list(legacy.get("additional_info"))
        }
        first = info.get("BUSINESS_NAME") or info.get("FIRST_NAME", "")
        return " ".join(p for p in (first, info.get("LAST_NAME", "")) if p)
    block = as_dict(as_dict(root.get("buyer")).get("billing_info")) or legacy or root
    return " ".join(p for p in (text(block.get("name")), text(block.get("last_name"))) if p)


def _parse_legacy_billing(legacy: Mapping[str, Any]) -> Buyer | None:
    info: dict[str, str] = {}
    for entry in as_list(legacy.get("additional_info")):
        entry = as_dict(entry)
        key = text(entry.get("type")).upper()
        if key and entry.get("value") is not None:
            info[key] = text(str_id(entry.get("value")))
    id_type = text(legacy.get("doc_type")) or info.get("DOC_TYPE", "")
    number = text(str_id(legacy.get("doc_number"))) or info.get("DOC_NUMBER", "")
    if not number or not id_type:
        return None
    is_company = _is_company(id_type, info.get("CUST_TYPE", "").upper(), info.get("LAST_NAME", ""))
    name = info.get("BUSINESS_NAME") or info.get("FIRST_NAME", "")
    return Buyer(
        id_type=id_type,
        identification=number,
        first_name=name,
        last_name="" if is_company else info.get("LAST_NAME", ""),
        is_company=is_company,
        company_name=name if is_company else "",
        street=_street(
            info.get("STREET_NAME"),
            info.get("STREET_NUMBER"),
            info.get("COMMENT"),
            info.get("NEIGHBORHOOD"),
        ),
        city_name=info.get("CITY_NAME", ""),
        state_name=info.get("STATE_NAME", ""),
        state_code=info.get("STATE_CODE", ""),
        zip_code=info.get("ZIP_CODE", ""),
    )


def _street(name: Any, number: Any, comment: Any, neighborhood: Any) -> str:
    main = " ".join(p for p in (text(name), text(str_id(number))) if p)
    extra = ", ".join(p for p in (text(comment), text(neighborhood)) if p)
    return f"{main}, {extra}" if main and extra else main or extra
