"""Canonical sale facts → Siigo request bodies (pure functions, no I/O).

Only the customer (`POST /v1/customers`, docs/vendors/siigo.md §6) lives here; the invoice and
credit note bodies are built by `conexapi.erps.siigo.documents.invoice`, which reuses
`sanitize_text`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from conexapi.erps.siigo.identification import (
    nit_check_digit,
    normalize_identification,
    siigo_id_type,
)
from conexapi.geo.divipola import CityCode, capital_of, resolve_city
from conexapi.sales.facts import Buyer
from conexapi.sales.settings import InvoicingSettings

__all__ = [
    "CUSTOMER_COMMENT",
    "CustomerPlan",
    "build_customer",
    "consumer_fallback_customer",
    "default_city",
    "sanitize_text",
]

CUSTOMER_COMMENT = "Creado por ConexAPI desde MercadoLibre"

# Siigo rejects single quotes in names/descriptions (`invalid_name`, `invalid_description`,
# docs/vendors/siigo.md §4.3, §9.4-7); double quotes and backticks are dropped too, they break the
# same validators.
_QUOTES = re.compile(r"[\"'`´‘’“”]")
_SPACES = re.compile(r"\s+")
_POSTAL = re.compile(r"[^A-Za-z0-9]")


@dataclass(frozen=True)
class CustomerPlan:
    """The `POST /v1/customers` body plus what had to be guessed to build it."""

    body: dict[str, Any]
    warnings: list[str] = field(default_factory=list)

    @property
    def identification(self) -> str:
        return str(self.body["identification"])


def default_city() -> CityCode:
    """Bogotá D.C., used when the buyer's city cannot be resolved at all."""
    city = resolve_city("Bogotá D.C.", "CO-DC")
    assert city is not None  # the packaged table always has 11001
    return city


def sanitize_text(value: str | None, max_len: int) -> str:
    """Text Siigo accepts: no quotes, emojis, symbols or control characters; single spaces.

    Letters with accents and ñ are kept (Siigo's own examples use them). Emojis and pictographs
    (Unicode category "So"), private-use/unassigned code points, surrogates and control/format
    characters are removed: MercadoLibre titles often carry them and Siigo answers
    `invalid_description` (docs/vendors/siigo.md §9.4-7).
    """
    if not value:
        return ""
    kept: list[str] = []
    for ch in _QUOTES.sub("", value):
        category = unicodedata.category(ch)
        if ch in "\t\n\r":
            kept.append(" ")
        elif category in {"So", "Sk", "Cc", "Cf", "Cs", "Co", "Cn"}:
            continue
        else:
            kept.append(ch)
    return _SPACES.sub(" ", "".join(kept)).strip()[:max_len].rstrip()


def _person_name(buyer: Buyer) -> tuple[list[str], list[str]]:
    """Siigo's Person `name` is exactly [first names, last names], both non-empty
    (docs/vendors/siigo.md §6.1)."""
    first = sanitize_text(buyer.first_name, 100)
    last = sanitize_text(buyer.last_name, 100)
    warnings: list[str] = []
    if first and last:
        return [first, last], warnings
    words = (first or last or sanitize_text(buyer.company_name, 100)).split(" ")
    words = [w for w in words if w]
    if len(words) >= 4:
        pair = [" ".join(words[:2]), " ".join(words[2:])]
    elif len(words) >= 2:
        # "Ana Gómez" → ["Ana", "Gómez"]; "Juan Pérez Gómez" → ["Juan", "Pérez Gómez"] (Colombian
        # names usually end with two surnames).
        pair = [words[0], " ".join(words[1:])]
    elif len(words) == 1:
        pair = [words[0], words[0]]
        warnings.append("El comprador no tiene apellido: se repitió el nombre como apellido.")
    else:
        pair = ["Cliente", "MercadoLibre"]
        warnings.append("El comprador no tiene nombre: se usó 'Cliente MercadoLibre'.")
    return [sanitize_text(p, 100) for p in pair], warnings


def _resolve_address_city(
    buyer: Buyer, fallback_city: CityCode | None
) -> tuple[CityCode, list[str]]:
    state = buyer.state_code or buyer.state_name
    city = resolve_city(buyer.city_name, state)
    if city is None and buyer.state_code and buyer.state_name:
        city = resolve_city(buyer.city_name, buyer.state_name)
    if city is not None:
        return city, []
    capital = capital_of(buyer.state_code) or capital_of(buyer.state_name)
    where = ", ".join(p for p in (buyer.city_name, buyer.state_name or buyer.state_code) if p)
    if capital is not None:
        return capital, [
            f"No se reconoció la ciudad '{where}': se usó la capital del departamento "
            f"({capital.city_name.title()}, código {capital.city_code})."
        ]
    chosen = fallback_city or default_city()
    return chosen, [
        f"No se reconoció la ciudad '{where or 'sin ciudad'}': se usó "
        f"{chosen.city_name.title()} (código {chosen.city_code})."
    ]


def _postal_code(zip_code: str) -> str | None:
    # Siigo: alphanumeric, no spaces, ≤10 (docs/vendors/siigo.md §6.1). Anything else is omitted,
    # not truncated.
    cleaned = _POSTAL.sub("", zip_code or "")
    return cleaned if 0 < len(cleaned) <= 10 else None


def build_customer(
    buyer: Buyer, settings: InvoicingSettings, *, fallback_city: CityCode | None = None
) -> CustomerPlan:
    """The `POST /v1/customers` body for a MercadoLibre buyer (docs/vendors/siigo.md §6.1, §6.3).

    Raises `UnknownIdType` / `InvalidIdentification` (both `ValueError`) when the document
    cannot be sent to Siigo as is.
    """
    id_type = siigo_id_type(buyer.id_type)
    is_company = buyer.is_company
    identification = normalize_identification(id_type, buyer.identification, company=is_company)
    warnings: list[str] = []

    body: dict[str, Any] = {
        "type": "Customer",
        "person_type": "Company" if is_company else "Person",
        "id_type": id_type,
        "identification": identification,
    }
    if id_type == "31":
        # normalize_identification already refused a DV that does not verify.
        body["check_digit"] = nit_check_digit(identification)

    if is_company:
        company = sanitize_text(
            buyer.company_name or " ".join(p for p in (buyer.first_name, buyer.last_name) if p),
            100,
        )
        if not company:
            company = "Cliente MercadoLibre"
            warnings.append("La empresa no tiene razón social: se usó 'Cliente MercadoLibre'.")
        body["name"] = [company]
        contact_first, contact_last = company[:50], ""
    else:
        names, name_warnings = _person_name(buyer)
        warnings.extend(name_warnings)
        body["name"] = names
        contact_first, contact_last = names[0][:50], names[1][:50]

    city, city_warnings = _resolve_address_city(buyer, fallback_city)
    warnings.extend(city_warnings)
    street = sanitize_text(buyer.street, 256) or "Sin dirección"
    address: dict[str, Any] = {
        "address": street,
        "city": {"country_code": "Co", "state_code": city.state_code, "city_code": city.city_code},
    }
    postal = _postal_code(buyer.zip_code)
    if postal is not None:
        address["postal_code"] = postal

    # The buyer's own e-mail, else the seller's billing address (a setting), else none: never an
    # address of ours, or every invoice would be mailed to a stranger (Ley 1581 de 2012).
    email = (buyer.email or "").strip() or (settings.fallback_email or "").strip()
    contact: dict[str, Any] = {"first_name": contact_first}
    if contact_last:
        contact["last_name"] = contact_last
    if email:
        contact["email"] = email[:100]

    body.update(
        {
            "branch_office": 0,
            "active": True,
            "vat_responsible": buyer.vat_responsible,
            # What billing info gave, else "R-99-PN" (No aplica): MercadoLibre's MCO examples
            # carry none (docs/vendors/mercadolibre.md §5.1).
            "fiscal_responsibilities": [
                {"code": code} for code in buyer.fiscal_responsibilities or ("R-99-PN",)
            ],
            "address": address,
            # At least one contact, or invoicing fails later with `customer_settings`
            # (docs/vendors/siigo.md §9.4-8).
            "contacts": [contact],
            "comments": CUSTOMER_COMMENT,
        }
    )
    return CustomerPlan(body=body, warnings=warnings)


def consumer_fallback_customer(settings: InvoicingSettings) -> CustomerPlan | None:
    """The "consumidor final" tercero (DIAN's 222222222222), or None when disabled.

    Used when the buyer gave no fiscal data (docs/vendors/siigo.md §6.2); it must exist in the Siigo
    company, so the sync engine creates it with this body when the lookup misses.
    """
    fallback = settings.consumer_fallback
    if fallback is None:
        return None
    buyer = Buyer(
        id_type=fallback.id_type,
        identification=fallback.identification,
        first_name=fallback.name,
        street="Sin dirección",
        city_name="Bogotá D.C.",
        state_code="CO-DC",
    )
    plan = build_customer(buyer, settings)
    body = dict(plan.body)
    body["comments"] = f"{CUSTOMER_COMMENT} (consumidor final)"
    return CustomerPlan(body=body, warnings=[])
