"""Integrations API: proposals from the Siigo catalogs, validation, tenancy, product mappings."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from conexapi.db import transaction, utcnow
from conexapi.integrations.mappings import resolve_product_codes
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sandbox.constants import (
    COST_CENTER_ID,
    FV_COST_CENTER_ID,
    FV_ELECTRONIC_ID,
    FV_INACTIVE_ID,
    FV_MANUAL_NUMBER_ID,
    FV_NO_DECIMALS_ID,
    FV_NON_ELECTRONIC_ID,
    FV_SELLER_BY_ITEM_ID,
    NC_ELECTRONIC_ID,
    PAYMENT_CREDIT_ID,
    PAYMENT_INACTIVE_ID,
    PAYMENT_MERCADOPAGO_ID,
    PAYMENT_NC_ID,
    SELLER_USER_ID,
    SELLER_USER_INACTIVE_ID,
    TAX_IVA19_ID,
    TAX_RETEFUENTE_ID,
)
from conexapi.sync.models import Sale, SaleEvent
from conexapi.sync.queue import Priority, provisional_sale
from tests.clients.support import connect_meli, connect_siigo, siigo_calls, state_of
from tests.conftest import SignedIn

BASE = "/api/v1/integrations"


async def _connections(
    client: httpx.AsyncClient, who: SignedIn, sandbox: FastAPI
) -> tuple[int, int]:
    siigo = await connect_siigo(client, who)
    meli = await connect_meli(client, who, sandbox)
    assert siigo.status_code == 201, siigo.text
    assert meli.status_code == 200, meli.text
    return int(meli.json()["id"]), int(siigo.json()["id"])


async def _create(
    client: httpx.AsyncClient, who: SignedIn, sandbox: FastAPI, **extra: Any
) -> dict[str, Any]:
    ml, siigo = await _connections(client, who, sandbox)
    response = await client.post(
        BASE,
        json={"mercadolibre_connection_id": ml, "siigo_connection_id": siigo, **extra},
        headers=who.headers,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_settings_are_proposed_with_reasons(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    body = await _create(client, owner, sandbox)
    settings, proposals = body["settings"], body["proposals"]
    assert settings["fv_document_id"] == FV_ELECTRONIC_ID  # not the inactive nor the POS one
    assert settings["nc_document_id"] == NC_ELECTRONIC_ID
    assert settings["seller_id"] == SELLER_USER_ID
    assert settings["payment_type_id"] == PAYMENT_MERCADOPAGO_ID  # no due date, named like it
    assert settings["nc_payment_type_id"] == PAYMENT_NC_ID
    assert settings["iva_tax_id"] == TAX_IVA19_ID
    for name in (
        "fv_document_id",
        "nc_document_id",
        "seller_id",
        "payment_type_id",
        "nc_payment_type_id",
        "iva_tax_id",
    ):
        assert proposals[name]["value"] == settings[name]
        assert proposals[name]["reason"]
    assert "electronic" in proposals["fv_document_id"]["reason"]
    # The same reasons in the seller's words, for the dashboard.
    assert "factura electrónica de venta activo" in proposals["fv_document_id"]["text"]
    assert all(p["text"] for p in proposals.values())
    # No shipping product in the company and not allowed to create one: reported missing.
    assert body["missing"] == ["shipping_product_code"]
    assert settings["shipping_product_code"] is None
    got = await client.get(f"{BASE}/{body['id']}", headers=owner.headers)
    assert got.json()["proposals"] == proposals
    assert got.json()["missing"] == ["shipping_product_code"]


async def test_shipping_product_is_created_when_allowed(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    body = await _create(client, owner, sandbox, create_shipping_product=True)
    assert body["settings"]["shipping_product_code"] == "ENVIOML"
    assert "created" in body["proposals"]["shipping_product_code"]["reason"]
    assert body["missing"] == []
    product = state_of(sandbox).siigo.default.product_by_code("ENVIOML")
    assert product is not None
    assert product["type"] == "Service"
    assert product["taxes"][0]["id"] == TAX_IVA19_ID


async def test_existing_shipping_product_is_found(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    company = state_of(sandbox).siigo.default
    company.create_product(
        {
            "code": "ENVIO",
            "name": "Envio",
            "account_group": 1253,
            "type": "Service",
            "taxes": [{"id": TAX_IVA19_ID}],
        },
        state_of(sandbox).clock.now(),
    )
    body = await _create(client, owner, sandbox)
    assert body["settings"]["shipping_product_code"] == "ENVIO"
    assert "existing" in body["proposals"]["shipping_product_code"]["reason"]
    assert body["missing"] == []


async def test_given_settings_are_kept_and_validated(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    ml, siigo = await _connections(client, owner, sandbox)
    bad = await client.post(
        BASE,
        json={
            "mercadolibre_connection_id": ml,
            "siigo_connection_id": siigo,
            "settings": {"fv_document_id": FV_INACTIVE_ID},
        },
        headers=owner.headers,
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_setting"
    good = await client.post(
        BASE,
        json={
            "mercadolibre_connection_id": ml,
            "siigo_connection_id": siigo,
            "settings": {"fv_document_id": FV_NON_ELECTRONIC_ID, "stamp": False},
        },
        headers=owner.headers,
    )
    assert good.status_code == 201, good.text
    body = good.json()
    assert body["settings"]["fv_document_id"] == FV_NON_ELECTRONIC_ID
    assert body["settings"]["stamp"] is False
    assert "fv_document_id" not in body["proposals"]
    assert body["settings"]["seller_id"] == SELLER_USER_ID


async def test_one_integration_per_ml_account_and_providers_checked(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    body = await _create(client, owner, sandbox)
    ml, siigo = body["mercadolibre_connection_id"], body["siigo_connection_id"]
    dup = await client.post(
        BASE,
        json={"mercadolibre_connection_id": ml, "siigo_connection_id": siigo},
        headers=owner.headers,
    )
    assert dup.status_code == 409
    assert dup.json()["code"] == "integration_exists"
    swapped = await client.post(
        BASE,
        json={"mercadolibre_connection_id": siigo, "siigo_connection_id": ml},
        headers=owner.headers,
    )
    assert swapped.status_code == 422
    assert swapped.json()["code"] == "wrong_provider"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"fv_document_id": FV_INACTIVE_ID}, "inactive"),
        ({"fv_document_id": 1}, "Unknown"),
        ({"nc_document_id": FV_ELECTRONIC_ID}, "Unknown"),
        ({"seller_id": SELLER_USER_INACTIVE_ID}, "inactive"),
        ({"payment_type_id": PAYMENT_INACTIVE_ID}, "inactive"),
        ({"payment_type_id": PAYMENT_CREDIT_ID}, "due date"),
        ({"nc_payment_type_id": PAYMENT_MERCADOPAGO_ID}, "Unknown"),
        ({"iva_tax_id": 424242}, "Unknown"),
        ({"iva_tax_id": TAX_RETEFUENTE_ID}, "not IVA"),
        ({"cost_center_id": 5}, "Unknown"),
        ({"shipping_product_code": "NO SUCH"}, "30 characters"),
        ({"shipping_product_code": "NOPE-404"}, "No product"),
        ({"invoice_trigger": "whenever"}, "invoice_trigger"),
        ({"unknown_setting": 1}, "unknown_setting"),
        # Document types ConexAPI can satisfy (issue 12, item 7).
        ({"fv_document_id": FV_NON_ELECTRONIC_ID}, "not an electronic document type"),
        ({"fv_document_id": FV_MANUAL_NUMBER_ID}, "automatic_number false"),
        ({"fv_document_id": FV_SELLER_BY_ITEM_ID}, "seller_by_item true"),
        ({"fv_document_id": FV_NO_DECIMALS_ID}, "does not take decimals"),
        ({"fv_document_id": FV_COST_CENTER_ID}, "requires a cost center"),
        ({"shipping_tax_id": TAX_RETEFUENTE_ID}, "not IVA"),
        ({"fallback_email": "not-an-address"}, "e-mail"),
    ],
)
async def test_patch_validates_against_catalogs(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    change: dict[str, Any],
    fragment: str,
) -> None:
    body = await _create(client, owner, sandbox)
    response = await client.patch(
        f"{BASE}/{body['id']}", json={"settings": change}, headers=owner.headers
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_setting"
    assert fragment in response.json()["message"]
    assert "details" in response.json()


async def test_patch_applies_valid_changes(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    body = await _create(client, owner, sandbox)
    calls = siigo_calls(sandbox)
    response = await client.patch(
        f"{BASE}/{body['id']}",
        json={
            "settings": {
                "fv_document_id": FV_NON_ELECTRONIC_ID,
                "stamp": False,  # a document type that is not electronic: not sent to the DIAN
                "cost_center_id": COST_CENTER_ID,
                "send_email": True,
            }
        },
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    out = response.json()
    assert out["settings"]["fv_document_id"] == FV_NON_ELECTRONIC_ID
    assert out["settings"]["cost_center_id"] == COST_CENTER_ID
    assert out["settings"]["send_email"] is True
    assert "fv_document_id" not in out["proposals"]
    assert "seller_id" in out["proposals"]
    assert siigo_calls(sandbox) == calls  # validated against the cached catalogs
    listed = await client.get(BASE, headers=owner.headers)
    assert [i["id"] for i in listed.json()] == [body["id"]]


async def test_other_tenant_gets_404_everywhere(
    client: httpx.AsyncClient, owner: SignedIn, other_owner: SignedIn, sandbox: FastAPI
) -> None:
    body = await _create(client, owner, sandbox)
    iid = body["id"]
    h = other_owner.headers
    create = await client.post(
        BASE,
        json={
            "mercadolibre_connection_id": body["mercadolibre_connection_id"],
            "siigo_connection_id": body["siigo_connection_id"],
        },
        headers=h,
    )
    assert create.status_code == 404
    assert (await client.get(BASE, headers=h)).json() == []
    responses = [
        await client.get(f"{BASE}/{iid}", headers=h),
        await client.patch(f"{BASE}/{iid}", json={"settings": {"stamp": False}}, headers=h),
        await client.get(f"{BASE}/{iid}/product-mappings", headers=h),
        await client.put(f"{BASE}/{iid}/product-mappings/SKU1", json={"erp_code": "X"}, headers=h),
        await client.delete(f"{BASE}/{iid}/product-mappings/SKU1", headers=h),
        await client.post(
            f"{BASE}/{iid}/product-mappings/import",
            content=b"sku,erp_code\nA,B\n",
            headers={**h, "Content-Type": "text/csv"},
        ),
        await client.post(f"{BASE}/{iid}/product-mappings/check", json={}, headers=h),
    ]
    for response in responses:
        assert response.status_code == 404, response.text
        assert response.json()["code"] == "integration_not_found"


async def test_product_mappings_crud_and_resolution(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    iid = (await _create(client, owner, sandbox))["id"]
    url = f"{BASE}/{iid}/product-mappings"
    put = await client.put(
        f"{url}/ML-TERMO", json={"erp_code": "TERMO-INOX-750"}, headers=owner.headers
    )
    assert put.status_code == 200, put.text
    assert put.json()["erp_code"] == "TERMO-INOX-750"
    again = await client.put(
        f"{url}/ML-TERMO", json={"erp_code": "CAM-ALG-M-NEG"}, headers=owner.headers
    )
    assert again.json()["erp_code"] == "CAM-ALG-M-NEG"
    bad = await client.put(f"{url}/X", json={"erp_code": "has space"}, headers=owner.headers)
    assert bad.status_code == 422
    # Every mapping is checked against the Siigo catalog when saved: it exists and is active.
    for code, reason in (
        ("NOT-IN-SIIGO", "erp_code_not_found"),
        ("PROD-DESCONT-01", "erp_code_inactive"),
    ):
        refused = await client.put(f"{url}/X", json={"erp_code": code}, headers=owner.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["code"] == reason
    await client.put(f"{url}/OTHER", json={"erp_code": "LAMP-LED-ESC"}, headers=owner.headers)
    page = await client.get(url, params={"q": "termo"}, headers=owner.headers)
    assert page.json()["total"] == 1
    assert page.json()["items"][0]["sku"] == "ML-TERMO"
    async with transaction(runtime.sessions) as session:
        codes = await resolve_product_codes(session, iid, ["ML-TERMO", "SKU-AS-IS", "ML-TERMO"])
    assert codes == {"ML-TERMO": "CAM-ALG-M-NEG", "SKU-AS-IS": "SKU-AS-IS"}
    # A SKU Siigo can't take as a code, and not mapped, resolves to nothing: it needs a mapping.
    async with transaction(runtime.sessions) as session:
        codes = await resolve_product_codes(session, iid, ["SOPORTE CEL 'MAX'", "X" * 31])
    assert codes == {}
    deleted = await client.delete(f"{url}/ML-TERMO", headers=owner.headers)
    assert deleted.status_code == 204
    missing = await client.delete(f"{url}/ML-TERMO", headers=owner.headers)
    assert missing.status_code == 404
    assert (await client.get(url, headers=owner.headers)).json()["total"] == 1


async def test_csv_import_reports_line_by_line(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    iid = (await _create(client, owner, sandbox))["id"]
    csv_text = (
        "sku,erp_code\n"
        "A-1,TERMO-INOX-750\n"  # 2 ok
        ",CODE\n"  # 3 empty sku
        "B-2,has space\n"  # 4 invalid code
        "C-3,it's\n"  # 5 invalid code (quote)
        "A-1,OTHER\n"  # 6 duplicate
        "D-4\n"  # 7 missing columns
        "\n"  # blank: skipped
        "E-5,LAMP-LED-ESC\n"  # 9 ok
        f"F-6,{'X' * 31}\n"  # 10 too long
        "H-8,NOT-IN-SIIGO\n"  # 11 not in the Siigo catalog
        "I-9,PROD-DESCONT-01\n"  # 12 inactive in Siigo
    )
    response = await client.post(
        f"{BASE}/{iid}/product-mappings/import",
        content=csv_text.encode(),
        headers={**owner.headers, "Content-Type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["accepted"] == 2
    rejected = {r["line"]: r for r in report["rejected"]}
    assert set(rejected) == {3, 4, 5, 6, 7, 10, 11, 12}
    assert rejected[3]["reason"] == "empty sku"
    assert rejected[4]["reason"].startswith("invalid code")
    assert rejected[5]["reason"].startswith("invalid code")
    assert rejected[6]["reason"].startswith("duplicate sku")
    assert rejected[7]["reason"] == "missing columns"
    assert rejected[10]["sku"] == "F-6"
    assert rejected[11]["reason"] == "not found in Siigo"
    assert rejected[12]["reason"] == "inactive in Siigo"
    # Multipart upload, semicolons (Excel in Colombia), and a bad header.
    multipart = await client.post(
        f"{BASE}/{iid}/product-mappings/import",
        files={"file": ("map.csv", b"sku;erp_code\nG-7;MOUSE-INAL-M1\n", "text/csv")},
        headers=owner.headers,
    )
    assert multipart.json() == {"accepted": 1, "rejected": [], "sales_retried": 0}
    header = await client.post(
        f"{BASE}/{iid}/product-mappings/import",
        content=b"code,name\nA,B\n",
        headers={**owner.headers, "Content-Type": "text/csv"},
    )
    assert header.status_code == 422
    assert header.json()["code"] == "csv_missing_columns"
    listed = await client.get(f"{BASE}/{iid}/product-mappings", headers=owner.headers)
    assert listed.json()["total"] == 3


async def test_check_reports_missing_and_inactive_products(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    iid = (await _create(client, owner, sandbox))["id"]
    url = f"{BASE}/{iid}/product-mappings"
    for sku, code in (("A", "TERMO-INOX-750"), ("B", "LAMP-LED-ESC"), ("C", "MOUSE-INAL-M1")):
        saved = await client.put(f"{url}/{sku}", json={"erp_code": code}, headers=owner.headers)
        assert saved.status_code == 200, saved.text
    # Since saved: one product deactivated in Siigo, one deleted from it.
    company = sandbox.state.sandbox.siigo.default
    company.product_by_code("LAMP-LED-ESC")["active"] = False  # type: ignore[index]
    assert company.delete_product(company.product_by_code("MOUSE-INAL-M1")["id"])  # type: ignore[index]
    response = await client.post(
        f"{url}/check",
        json={"skus": ["CAM-ALG-M-NEG", "SKU-NO-SIIGO-99", "A"], "refresh": True},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    report = response.json()
    status = {i["sku"]: (i["status"], i["source"]) for i in report["items"]}
    assert status == {
        "A": ("ok", "mapping"),
        "B": ("inactive", "mapping"),
        "C": ("not_found", "mapping"),
        "CAM-ALG-M-NEG": ("ok", "identity"),
        "SKU-NO-SIIGO-99": ("not_found", "identity"),
    }
    assert report["ok"] == 2
    assert report["problems"] == 3


async def test_iva_rate_is_refused_with_a_clear_message(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    body = await _create(client, owner, sandbox)
    patched = await client.patch(
        f"{BASE}/{body['id']}", json={"settings": {"iva_rate": 5}}, headers=owner.headers
    )
    assert patched.status_code == 422
    assert patched.json()["code"] == "setting_removed"
    assert "Siigo's tax catalog" in patched.json()["message"]
    created = await client.post(
        BASE,
        json={
            "mercadolibre_connection_id": body["mercadolibre_connection_id"],
            "siigo_connection_id": body["siigo_connection_id"],
            "settings": {"iva_tax_id": 13157, "iva_rate": 19},
        },
        headers=owner.headers,
    )
    assert created.status_code == 422
    assert "iva_rate was removed" in created.json()["message"]
    assert "iva_rate" not in body["settings"]


async def test_fiscal_settings_are_proposed_with_their_reason(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI
) -> None:
    body = await _create(client, owner, sandbox)
    settings, proposals = body["settings"], body["proposals"]
    assert settings["shipping_tax"] == "principal_good"
    assert "art. 447" in proposals["shipping_tax"]["reason"]
    # The seller's own address (its Siigo API user), never one of ConexAPI's.
    assert settings["fallback_email"] == "sandbox@conexapi.dev"
    assert "e-mail" in proposals["fallback_email"]["reason"]
    assert settings["meli_coupon_invoicing"] == "as_price"
    # Only document types ConexAPI can issue are proposed.
    assert settings["fv_document_id"] == 24446


async def test_a_setting_change_makes_the_sales_it_may_fix_due(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    """Changing a setting sends again, first in the queue, the sales waiting for a setting or
    refused by Siigo; sales waiting for SKUs, on the connection or for their buyer's data keep
    waiting (the buyer's only when the consumidor-final fallback changes)."""
    body = await _create(client, owner, sandbox)
    codes = [
        "missing_settings",
        "siigo_invalid_reference",
        "unmapped_products",
        "siigo_paused",
        "missing_fiscal_data",
    ]
    ids: dict[str, int] = {}
    async with transaction(runtime.sessions) as session:
        for n, code in enumerate(codes):
            row = provisional_sale(owner.tenant_id, body["id"], f"71000{n}", utcnow())
            row.update(state="needs_attention", error_code=code, next_attempt_at=None, attempts=3)
            sale = Sale(**row)
            session.add(sale)
            await session.flush()
            ids[code] = sale.id

    async def due() -> set[str]:
        async with runtime.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Sale.error_code, Sale.next_attempt_at, Sale.priority, Sale.attempts
                    ).where(Sale.id.in_(list(ids.values())))
                )
            ).all()
        found = {str(code) for code, at, _, _ in rows if at is not None}
        assert all(p == Priority.RETRIED and a == 0 for code, at, p, a in rows if code in found)
        return found

    patched = await client.patch(
        f"{BASE}/{body['id']}",
        json={"settings": {"stamp": False}},
        headers=owner.headers,
    )
    assert patched.status_code == 200, patched.text
    assert await due() == {"missing_settings", "siigo_invalid_reference"}
    async with runtime.sessions() as session:
        timeline = (
            await session.execute(
                select(SaleEvent.message).where(SaleEvent.sale_id == ids["missing_settings"])
            )
        ).scalars()
        assert text("sync.retry_after_setting") in list(timeline)
    fallback = await client.patch(
        f"{BASE}/{body['id']}",
        json={"settings": {"consumer_fallback": {"name": "Consumidor final"}}},
        headers=owner.headers,
    )
    assert fallback.status_code == 200, fallback.text
    assert await due() == {"missing_settings", "siigo_invalid_reference", "missing_fiscal_data"}
