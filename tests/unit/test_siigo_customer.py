from __future__ import annotations

import pytest

from conexapi.erps.siigo.identification import InvalidIdentification
from conexapi.erps.siigo.mapping import (
    build_customer,
    consumer_fallback_customer,
    sanitize_text,
)
from conexapi.sales.facts import Buyer
from conexapi.sales.settings import InvoicingSettings

SETTINGS = InvoicingSettings()


def person(**kw: object) -> Buyer:
    data: dict[str, object] = {
        "id_type": "CC",
        "identification": "1020304050",
        "first_name": "Laura Marcela",
        "last_name": "Gómez Rincón",
        "street": "Carrera 15 93-47, Apto 502",
        "city_name": "Bogotá D.C.",
        "state_name": "Bogotá D.C.",
        "state_code": "CO-DC",
        "zip_code": "110221",
        "email": "laura.gomez@example.com",
    }
    data.update(kw)
    return Buyer(**data)  # type: ignore[arg-type]


def test_person_body_matches_siigo_shape() -> None:
    plan = build_customer(person(), SETTINGS)
    assert plan.warnings == []
    assert plan.body == {
        "type": "Customer",
        "person_type": "Person",
        "id_type": "13",
        "identification": "1020304050",
        "name": ["Laura Marcela", "Gómez Rincón"],
        "branch_office": 0,
        "active": True,
        "vat_responsible": False,
        "fiscal_responsibilities": [{"code": "R-99-PN"}],
        "address": {
            "address": "Carrera 15 93-47, Apto 502",
            "city": {"country_code": "Co", "state_code": "11", "city_code": "11001"},
            "postal_code": "110221",
        },
        "contacts": [
            {
                "first_name": "Laura Marcela",
                "last_name": "Gómez Rincón",
                "email": "laura.gomez@example.com",
            }
        ],
        "comments": "Creado por ConexAPI desde MercadoLibre",
    }


def test_company_gets_razon_social_and_check_digit() -> None:
    buyer = Buyer(
        id_type="NIT",
        identification="900373913",
        first_name="Distribuciones Andinas S.A.S.",
        is_company=True,
        company_name="Distribuciones Andinas S.A.S.",
        street="Calle 10 43-12",
        city_name="Medellín",
        state_code="CO-ANT",
    )
    body = build_customer(buyer, SETTINGS).body
    assert body["person_type"] == "Company"
    assert body["id_type"] == "31"
    assert body["identification"] == "900373913"
    assert body["check_digit"] == "4"
    assert body["name"] == ["Distribuciones Andinas S.A.S."]
    assert body["address"]["city"] == {
        "country_code": "Co",
        "state_code": "05",
        "city_code": "05001",
    }
    assert "postal_code" not in body["address"]
    # No e-mail from the buyer and none set for the seller: no contact e-mail, never ours.
    assert "email" not in body["contacts"][0]


def test_nit_with_wrong_dv_is_refused() -> None:
    buyer = Buyer(
        id_type="NIT", identification="900373913-9", first_name="ACME SAS", is_company=True
    )
    with pytest.raises(InvalidIdentification, match="debería ser 4"):
        build_customer(buyer, SETTINGS)


def test_nit_with_dv_and_no_separator_goes_without_it() -> None:
    buyer = Buyer(
        id_type="NIT", identification="9003739134", first_name="ACME SAS", is_company=True
    )
    body = build_customer(buyer, SETTINGS).body
    assert (body["identification"], body["check_digit"]) == ("900373913", "4")


def test_a_person_with_a_nit_keeps_first_and_last_names() -> None:
    # A merchant (cust_type CO) billed under their NIT: a Person, never a company named only by
    # the first name (the case).
    buyer = person(id_type="NIT", identification="1020304050", is_company=False)
    body = build_customer(buyer, SETTINGS).body
    assert body["person_type"] == "Person"
    assert body["id_type"] == "31"
    assert body["identification"] == "1020304050"  # the cédula is never cut
    assert body["name"] == ["Laura Marcela", "Gómez Rincón"]


def test_company_keeps_the_fiscal_responsibilities_billing_info_gave() -> None:
    buyer = Buyer(
        id_type="NIT",
        identification="900373913",
        first_name="Gran Contribuyente S.A.",
        is_company=True,
        company_name="Gran Contribuyente S.A.",
        fiscal_responsibilities=("O-13", "O-23"),
        vat_responsible=True,
    )
    body = build_customer(buyer, SETTINGS).body
    assert body["fiscal_responsibilities"] == [{"code": "O-13"}, {"code": "O-23"}]
    assert body["vat_responsible"] is True


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        ("Laura Marcela Gómez Rincón", "", ["Laura Marcela", "Gómez Rincón"]),
        ("Juan Pérez Gómez", "", ["Juan", "Pérez Gómez"]),
        ("Ana Gómez", "", ["Ana", "Gómez"]),
        ("Madonna", "", ["Madonna", "Madonna"]),
        ("", "Rincón", ["Rincón", "Rincón"]),
    ],
)
def test_person_without_last_name(first: str, last: str, expected: list[str]) -> None:
    body = build_customer(person(first_name=first, last_name=last), SETTINGS).body
    assert body["name"] == expected
    assert all(body["name"])


def test_unresolvable_city_uses_state_capital_with_warning() -> None:
    plan = build_customer(person(city_name="Vereda El Cedro", state_code="CO-ANT"), SETTINGS)
    assert plan.body["address"]["city"]["city_code"] == "05001"
    assert len(plan.warnings) == 1


def test_unresolvable_city_and_state_uses_bogota_with_warning() -> None:
    plan = build_customer(
        person(city_name="Springfield", state_code="", state_name="Nowhere"), SETTINGS
    )
    assert plan.body["address"]["city"] == {
        "country_code": "Co",
        "state_code": "11",
        "city_code": "11001",
    }
    assert "Springfield" in plan.warnings[0]


def test_buyer_without_email_and_sanitized_text() -> None:
    plan = build_customer(
        person(
            first_name="Ma'ría 😀 José",
            last_name="O'Neil\u200b",
            email=None,
            street="Calle 1 # 2-3 🏠",
            zip_code="11 02 21 extension",
        ),
        SETTINGS,
    )
    body = plan.body
    assert body["name"] == ["María José", "ONeil"]
    assert "email" not in body["contacts"][0]
    seller = InvoicingSettings(fallback_email="facturacion@mitienda.com.co")
    contact = build_customer(person(email=None), seller).body["contacts"][0]
    assert contact["email"] == "facturacion@mitienda.com.co"  # the seller's own address
    assert body["address"]["address"] == "Calle 1 # 2-3"
    assert "postal_code" not in body["address"]  # 15 alnum chars > 10: omitted


def test_long_texts_are_cut() -> None:
    body = build_customer(person(first_name="A" * 150, street="B" * 300), SETTINGS).body
    assert len(body["name"][0]) == 100
    assert len(body["address"]["address"]) == 256
    assert len(body["contacts"][0]["first_name"]) == 50


def test_invalid_identification_raises() -> None:
    with pytest.raises(InvalidIdentification):
        build_customer(person(identification="12"), SETTINGS)


def test_consumer_fallback() -> None:
    plan = consumer_fallback_customer(SETTINGS)
    assert plan is not None
    assert plan.body["identification"] == "222222222222"
    assert plan.body["id_type"] == "13"
    assert plan.body["name"] == ["Consumidor", "final"]
    assert plan.body["address"]["city"]["city_code"] == "11001"
    assert consumer_fallback_customer(InvoicingSettings(consumer_fallback=None)) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Camiseta 'Pro' 👕 talla M", "Camiseta Pro talla M"),
        ('TV 55" 4K\tSmart', "TV 55 4K Smart"),
        ("Niño  ñandú", "Niño ñandú"),
        (None, ""),
    ],
)
def test_sanitize_text(raw: str | None, expected: str) -> None:
    assert sanitize_text(raw, 100) == expected
