"""Siigo Nube simulator: auth, headers, rate limit, catalogs, customers, products
(docs/vendors/siigo.md §2-§8)."""

from __future__ import annotations

import httpx

from conexapi.sandbox import SandboxState

CUSTOMER = {
    "type": "Customer",
    "person_type": "Person",
    "id_type": "13",
    "identification": "1020304050",
    "name": ["Laura Marcela", "Gómez Rincón"],
    "branch_office": 0,
    "address": {
        "address": "Cra 15 # 93-47",
        "city": {"country_code": "Co", "state_code": "11", "city_code": "11001"},
    },
    "contacts": [{"first_name": "Laura", "last_name": "Gómez", "email": "laura@example.com"}],
}


async def test_auth_success_and_failure(client: httpx.AsyncClient) -> None:
    ok = await client.post(
        "/siigo/auth", json={"username": "sandbox@conexapi.dev", "access_key": "sandbox"}
    )
    assert ok.status_code == 200
    body = ok.json()
    assert body["expires_in"] == 86400
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "SiigoAPI"
    bad = await client.post(
        "/siigo/auth", json={"username": "sandbox@conexapi.dev", "access_key": "nope"}
    )
    assert bad.status_code == 401
    err = bad.json()
    assert err["Status"] == 401
    assert err["Errors"][0]["Code"] == "unauthorized"
    assert set(err["Errors"][0]) == {"Code", "Message", "Params", "Detail"}
    stats = (await client.get("/_sandbox/siigo/stats")).json()
    assert stats["auth_calls"] == 2


async def test_bearer_and_partner_id_required(
    client: httpx.AsyncClient, siigo_headers: dict[str, str]
) -> None:
    no_token = await client.get("/siigo/v1/taxes", headers={"Partner-Id": "ConexAPI"})
    assert no_token.status_code == 401
    no_partner = await client.get(
        "/siigo/v1/taxes", headers={"Authorization": siigo_headers["Authorization"]}
    )
    assert no_partner.json()["Errors"][0]["Code"] == "header_required"
    hyphen = await client.get(
        "/siigo/v1/taxes", headers={**siigo_headers, "Partner-Id": "Conex-API"}
    )
    assert hyphen.json()["Errors"][0]["Code"] == "invalid_partner_id"
    await client.post("/_sandbox/siigo/expire-tokens")
    assert (await client.get("/siigo/v1/taxes", headers=siigo_headers)).status_code == 401


async def test_rate_limit_per_company(
    client: httpx.AsyncClient, siigo_headers: dict[str, str], state: SandboxState
) -> None:
    state.siigo.default.requests_per_minute = 3
    codes = [
        (await client.get("/siigo/v1/taxes", headers=siigo_headers)).status_code for _ in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    limited = await client.get("/siigo/v1/taxes", headers=siigo_headers)
    assert limited.json()["Errors"][0]["Code"] == "requests_limit"
    # Another company has its own window.
    await client.post(
        "/_sandbox/siigo/companies", json={"username": "otra@empresa.co", "access_key": "k"}
    )
    other = await client.post(
        "/siigo/auth", json={"username": "otra@empresa.co", "access_key": "k"}
    )
    headers = {"Authorization": f"Bearer {other.json()['access_token']}", "Partner-Id": "ConexAPI"}
    assert (await client.get("/siigo/v1/taxes", headers=headers)).status_code == 200
    stats = (await client.get("/_sandbox/siigo/stats")).json()
    assert stats["companies"]["sandbox@conexapi.dev"]["rate_limited"] == 3


async def test_catalogs(client: httpx.AsyncClient, siigo_headers: dict[str, str]) -> None:
    missing = await client.get("/siigo/v1/document-types", headers=siigo_headers)
    assert missing.json()["Errors"][0]["Code"] == "parameter_required"
    fv = (await client.get("/siigo/v1/document-types?type=FV", headers=siigo_headers)).json()
    electronic = next(d for d in fv if d["id"] == 24446)
    assert electronic["code"] == "1"  # a string, as in the portal and the blueprint
    assert electronic["electronic_type"] == "ElectronicInvoice"
    assert electronic["automatic_number"] is True
    assert any(not d["active"] for d in fv)
    assert any(d["electronic_type"] == "NoElectronic" for d in fv)
    nc = (await client.get("/siigo/v1/document-types?type=NC", headers=siigo_headers)).json()
    assert [d["id"] for d in nc] == [77775]
    # Siigo's NC types say nothing about being electronic (blueprint `DocumentTypeNC`).
    assert "electronic_type" not in nc[0]
    taxes = (await client.get("/siigo/v1/taxes", headers=siigo_headers)).json()
    assert {
        "id": 13156,
        "name": "IVA 19%",
        "type": "IVA",
        "percentage": 19,
        "active": True,
    } in taxes
    pay = await client.get("/siigo/v1/payment-types?document_type=FV", headers=siigo_headers)
    mp = next(p for p in pay.json() if p["id"] == 5636)
    assert mp["name"] == "MercadoPago"
    assert mp["due_date"] is False
    no_type = await client.get("/siigo/v1/payment-types", headers=siigo_headers)
    assert no_type.status_code == 400
    users = (await client.get("/siigo/v1/users", headers=siigo_headers)).json()
    assert users["pagination"]["total_results"] == 2
    assert any(u["id"] == 629 and u["active"] for u in users["results"])
    groups = (await client.get("/siigo/v1/account-groups", headers=siigo_headers)).json()
    assert any(g["id"] == 1253 and g["active"] for g in groups)
    unknown = await client.get("/siigo/v1/cities", headers=siigo_headers)
    assert unknown.status_code == 404
    assert unknown.json()["Errors"][0]["Code"] == "not_found"


async def test_customers(client: httpx.AsyncClient, siigo_headers: dict[str, str]) -> None:
    created = await client.post("/siigo/v1/customers", json=CUSTOMER, headers=siigo_headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id_type"] == {"code": "13", "name": "Cédula de ciudadanía"}
    dup = await client.post("/siigo/v1/customers", json=CUSTOMER, headers=siigo_headers)
    assert dup.json()["Errors"][0]["Code"] == "already_exists"
    found = await client.get(
        "/siigo/v1/customers", params={"identification": "1020304050"}, headers=siigo_headers
    )
    assert found.json()["results"][0]["id"] == body["id"]
    none = await client.get(
        "/siigo/v1/customers", params={"identification": "999"}, headers=siigo_headers
    )
    assert none.status_code == 200
    assert none.json()["results"] == []
    bad = {**CUSTOMER, "identification": "12a", "name": ["Solo"], "contacts": []}
    errors = (await client.post("/siigo/v1/customers", json=bad, headers=siigo_headers)).json()
    codes = {e["Code"] for e in errors["Errors"]}
    assert codes == {"invalid_identification", "invalid_array"}
    nit = {
        **CUSTOMER,
        "person_type": "Company",
        "id_type": "31",
        "identification": "900123456",
        "check_digit": "1",
        "name": ["Distribuidora Andina S.A.S."],
    }
    wrong_dv = await client.post("/siigo/v1/customers", json=nit, headers=siigo_headers)
    assert wrong_dv.json()["Errors"][0]["Params"] == ["check_digit"]
    nit["check_digit"] = "8"
    ok = await client.post("/siigo/v1/customers", json=nit, headers=siigo_headers)
    assert ok.status_code == 201, ok.text
    put = await client.put(
        f"/siigo/v1/customers/{body['id']}",
        json={**CUSTOMER, "name": ["Laura", "Gómez"]},
        headers=siigo_headers,
    )
    assert put.json()["name"] == ["Laura", "Gómez"]
    assert put.json()["id"] == body["id"]


async def test_products(client: httpx.AsyncClient, siigo_headers: dict[str, str]) -> None:
    seeded = await client.get(
        "/siigo/v1/products", params={"code": "CAM-ALG-M-NEG"}, headers=siigo_headers
    )
    assert seeded.json()["results"][0]["active"] is True
    assert (
        await client.get("/siigo/v1/products", params={"code": "ENVIOML"}, headers=siigo_headers)
    ).json()["results"] == []
    body = {
        "code": "ENVIOML",
        "name": "Envío MercadoLibre",
        "account_group": 1253,
        "type": "Service",
        "taxes": [{"id": 13156}],
    }
    created = await client.post("/siigo/v1/products", json=body, headers=siigo_headers)
    assert created.status_code == 201
    dup = await client.post("/siigo/v1/products", json=body, headers=siigo_headers)
    assert dup.json()["Errors"][0]["Code"] == "already_exists"
    spaced = await client.post(
        "/siigo/v1/products", json={**body, "code": "A B"}, headers=siigo_headers
    )
    assert spaced.json()["Errors"][0]["Code"] == "invalid_code"
    long = await client.post(
        "/siigo/v1/products", json={**body, "code": "X" * 31}, headers=siigo_headers
    )
    assert long.json()["Errors"][0]["Code"] == "length_max"
    got = await client.get(f"/siigo/v1/products/{created.json()['id']}", headers=siigo_headers)
    assert got.json()["code"] == "ENVIOML"
