"""The parsers on bodies written from the vendors' published examples (tests/fixtures/vendors,
each file's source in its README): what a first day with a real account receives."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from conexapi.connections.catalogs import Catalogs, DocumentType, Product, SiigoUser
from conexapi.connections.known_products import refused_codes
from conexapi.core.errors import PermanentError, PermissionMissingError
from conexapi.core.http import parse_meli_error, parse_siigo_error, send, siigo_errors
from conexapi.db import utcnow
from conexapi.erps.siigo.client import SiigoClient
from conexapi.integrations.product_proposals import ProductIndex
from conexapi.integrations.proposals import propose
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient, StaticBearer
from conexapi.marketplaces.mercadolibre.mapping import build_sale_facts, parse_billing
from conexapi.runtime import build_http_client
from conexapi.sales.snapshot import buyer_name
from conexapi.sync.policy import RetryPolicy, Verdict, classify

VENDORS = Path(__file__).resolve().parents[1] / "fixtures" / "vendors"
ML = "https://api.mercadolibre.test"
SIIGO = "https://api.siigo.test"


def body(name: str) -> Any:
    return json.loads((VENDORS / name).read_text(encoding="utf-8"))


def test_every_fixture_names_its_source() -> None:
    readme = (VENDORS / "README.md").read_text(encoding="utf-8")
    files = sorted(p.relative_to(VENDORS).as_posix() for p in VENDORS.rglob("*.json"))
    assert files
    for name in files:
        assert f"`{name}`" in readme, f"{name} has no source in tests/fixtures/vendors/README.md"


# --- MercadoLibre ---------------------------------------------------------------------------


def test_an_order_with_only_the_buyers_id_shows_the_billing_name_or_comprador_id() -> None:
    order = body("mercadolibre/order_buyer_id_only.json")
    no_billing = build_sale_facts([order], pack=None, billing=None, shipment_costs=None)
    assert no_billing.buyer_nickname == ""
    assert buyer_name(no_billing) == "Comprador 266272126"
    billed = build_sale_facts(
        [order], pack=None, billing=body("mercadolibre/billing_info_mco.json"), shipment_costs=None
    )
    assert buyer_name(billed) == "Adrian Garces"


def test_billing_info_still_processing_names_the_buyer_without_identification() -> None:
    billing = body("mercadolibre/billing_info_processing.json")
    assert parse_billing(billing) is None  # no identification yet: not a fiscal identity
    order = body("mercadolibre/order_buyer_id_only.json")
    facts = build_sale_facts([order], pack=None, billing=billing, shipment_costs=None)
    assert buyer_name(facts) == "Distribuidora Andina S.A.S."


def test_total_paid_amount_includes_the_payments_shipping() -> None:
    order = body("mercadolibre/order_shipping_in_total_paid.json")
    facts = build_sale_facts([order], pack=None, billing=None, shipment_costs=None)
    # 2 x 59.900 plus 9.900 of shipping, counted once (not twice, not left out).
    assert facts.total_paid == Decimal("129700")
    assert facts.lines[0].sku == "CAM ALG M 'NEGRA' TALLA MEDIANA ALGODON"


@respx.mock
async def test_the_policy_agents_403_is_a_missing_permission() -> None:
    respx.get(f"{ML}/orders/1").respond(403, json=body("mercadolibre/error_policy_agent.json"))
    async with build_http_client(ML) as http:
        with pytest.raises(PermissionMissingError) as info:
            await send(
                http, "GET", "/orders/1", vendor="mercadolibre", parse_error=parse_meli_error
            )
    assert info.value.vendor_code == "PA_UNAUTHORIZED_RESULT_FROM_POLICIES"
    assert info.value.message == "At least one policy returned UNAUTHORIZED."


@respx.mock
async def test_billing_refused_by_policy_falls_back_to_the_legacy_endpoint() -> None:
    order = body("mercadolibre/order_shipping_in_total_paid.json")
    blocked = body("mercadolibre/error_policy_agent.json")
    respx.get(f"{ML}/orders/billing-info/MCO/677487519924852462").respond(403, json=blocked)
    legacy = respx.get(f"{ML}/orders/2000010733434062/billing_info").respond(
        200, json=body("mercadolibre/billing_info_mco.json")
    )
    async with build_http_client(ML) as http:
        client = MercadoLibreClient(http, StaticBearer("APP_USR-x"))
        found = await client.get_billing_info(order)
        assert parse_billing(found) is not None
        assert legacy.calls.last.request.headers["x-version"] == "2"
        # Both refuse: the connection lacks the permission (never "the buyer has no data").
        legacy.respond(403, json=blocked)
        with pytest.raises(PermissionMissingError) as info:
            await client.get_billing_info(order)
    assert info.value.permission == "billing"
    assert info.value.probe == {
        "order_id": "2000010733434062",
        "billing_info_id": "677487519924852462",
    }


def test_a_missing_permission_waits_without_burning_an_attempt() -> None:
    exc = PermissionMissingError(
        "At least one policy returned UNAUTHORIZED.", permission="billing", vendor="mercadolibre"
    )
    outcome = classify(exc, attempt=1, policy=RetryPolicy())
    assert outcome.verdict is Verdict.PERMISSION
    assert outcome.code == "mercadolibre_needs_permission"
    assert not outcome.burns_attempt
    assert "Facturación" in outcome.message


# --- Siigo ----------------------------------------------------------------------------------


def _catalogs(**rows: list[Any]) -> Catalogs:
    return Catalogs.from_rows(1, rows, utcnow())


def test_the_credit_note_type_is_proposed_without_electronic_type() -> None:
    catalogs = _catalogs(
        document_types_fv=body("siigo/document_types_fv.json"),
        document_types_nc=body("siigo/document_types_nc_array.json"),
    )
    [nc] = catalogs.document_types_nc
    assert nc.electronic_unknown
    assert catalogs.credit_note_is_electronic(nc)
    values, reasons = propose(catalogs)
    assert values["nc_document_id"] == 59625
    assert "electronic" in reasons["nc_document_id"].reason
    assert values["fv_document_id"] == 5636


def test_document_type_code_and_the_portals_object_shape() -> None:
    doc = DocumentType.model_validate(body("siigo/document_types_nc_object.json"))
    assert doc.id == 59625  # the GUID `id` is not the document id: `number` is
    assert doc.code == "1"
    numeric = DocumentType.model_validate({"id": 24446, "code": 1, "type": "FV"})
    assert numeric.code == "1"


def _siigo_client(http: httpx.AsyncClient) -> SiigoClient:
    return SiigoClient(http, StaticBearer("token"), limiter=None, company_key="test")


@respx.mock
async def test_catalog_answers_in_every_published_shape() -> None:
    respx.get(f"{SIIGO}/v1/document-types", params={"type": "NC"}).respond(
        200, json=body("siigo/document_types_nc_object.json")
    )
    users = respx.get(f"{SIIGO}/v1/users").respond(200, json=body("siigo/users_array.json"))
    async with build_http_client(SIIGO) as http:
        client = _siigo_client(http)
        nc = await client.list_document_types("NC")
        assert [DocumentType.model_validate(r).id for r in nc] == [59625]
        as_array = await client.list_users()
        assert [SiigoUser.model_validate(u).full_name for u in as_array] == [
            "David Felipe Yepes Sánchez"
        ]
        users.respond(200, json=body("siigo/users_paginated.json"))
        paginated = await client.list_users()
        assert [u["id"] for u in paginated] == [35071]


def test_siigo_errors_in_both_casings() -> None:
    pascal = siigo_errors(body("siigo/error_pascal.json"))
    lower = siigo_errors(body("siigo/error_lowercase.json"))
    assert [(e.code, e.params) for e in pascal] == [("parameter_required", ("code",))]
    assert [(e.code, e.params) for e in lower] == [("invalid_total_payments", ("payments",))]
    assert "total purchase calculated is 5059932.36" in lower[0].message


@respx.mock
@pytest.mark.parametrize("name", ["siigo/error_pascal.json", "siigo/error_lowercase.json"])
async def test_either_casing_reaches_the_sale_as_a_vendor_code(name: str) -> None:
    respx.post(f"{SIIGO}/v1/invoices").respond(400, json=body(name))
    async with build_http_client(SIIGO) as http:
        with pytest.raises(PermanentError) as info:
            await send(http, "POST", "/v1/invoices", vendor="siigo", parse_error=parse_siigo_error)
    code = body(name).get("Errors", body(name).get("errors"))[0]
    outcome = classify(info.value, attempt=1, policy=RetryPolicy())
    assert outcome.verdict is Verdict.ATTENTION
    assert outcome.code == f"siigo_{code.get('Code') or code.get('code')}"


def test_lowercase_transient_codes_are_retried_and_mixed_ones_need_a_person() -> None:
    transient = {"status": 400, "errors": [{"code": "documents_service", "message": "busy"}]}
    exc = PermanentError("busy", vendor="siigo", status_code=400, vendor_code=None, body=transient)
    assert classify(exc, attempt=1, policy=RetryPolicy()).verdict is Verdict.RETRY
    mixed = {
        "status": 400,
        "errors": [
            {"code": "documents_service", "message": "busy"},
            {"code": "invalid_code", "message": "The code has invalid characters"},
        ],
    }
    exc = PermanentError(
        "x", vendor="siigo", status_code=400, vendor_code="documents_service", body=mixed
    )
    assert classify(exc, attempt=1, policy=RetryPolicy()).verdict is Verdict.ATTENTION


def test_refused_product_codes_are_read_from_lowercase_params() -> None:
    answer = {
        "status": 400,
        "errors": [
            {"code": "parameter_inactive", "message": "inactive", "params": ["items[1].code"]}
        ],
    }
    items = [{"code": "A-1"}, {"code": "B-2"}]
    assert refused_codes(answer, items) == ["B-2"]


def test_a_product_is_proposed_by_its_reference_and_its_barcode() -> None:
    product = Product.model_validate(body("siigo/product_with_reference.json"))
    index = ProductIndex([product])
    [by_reference] = index.propose("MLC-SKU-CAM-ALG-M")
    assert (by_reference.code, by_reference.match) == ("CAMALGM", "reference")
    [by_barcode] = index.propose("7701234567890")
    assert by_barcode.match == "barcode"
    [by_name] = index.propose("CAM ALG M 'NEGRA' TALLA MEDIANA ALGODON", "Camiseta de algodón M")
    assert by_name.match == "similar_name"
