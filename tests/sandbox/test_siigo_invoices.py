"""Siigo invoices and credit notes: every rule of docs/vendors/siigo.md §9.4, the exact total,
idempotency, stamping."""

from __future__ import annotations

import base64
import copy
from typing import Any

import httpx
import pytest

from conexapi.sandbox import SandboxState

from .test_siigo import CUSTOMER

INVOICES = "/siigo/v1/invoices"


@pytest.fixture
async def customer(client: httpx.AsyncClient, siigo_headers: dict[str, str]) -> dict[str, Any]:
    resp = await client.post("/siigo/v1/customers", json=CUSTOMER, headers=siigo_headers)
    assert resp.status_code == 201
    body: dict[str, Any] = resp.json()
    return body


def invoice_body(state: SandboxState, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "document": {"id": 24446},
        "date": state.clock.colombia_today().isoformat(),
        "customer": {"identification": "1020304050", "branch_office": 0},
        "seller": 629,
        "observations": "MercadoLibre orden 2000010733434062 - Ref ConexAPI: MLCO1FV",
        "items": [
            {
                "code": "CAM-ALG-M-NEG",
                "description": "Camiseta algodón talla M",
                "quantity": 2,
                "price": 50336.134454,
                "discount": 0,
                "taxes": [{"id": 13156}],
            }
        ],
        "payments": [{"id": 5636, "value": 119800.00}],
        "stamp": {"send": True},
        "mail": {"send": False},
    }
    body.update(overrides)
    return body


def codes(resp: httpx.Response) -> list[str]:
    assert resp.status_code == 400, resp.text
    return [e["Code"] for e in resp.json()["Errors"]]


async def test_create_invoice_shape(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    resp = await client.post(INVOICES, json=invoice_body(state), headers=siigo_headers)
    assert resp.status_code == 201, resp.text
    inv = resp.json()
    assert inv["name"] == "FV-1-1"
    assert inv["number"] == 1
    assert inv["total"] == 119800.0
    assert inv["customer"] == {
        "id": customer["id"],
        "identification": "1020304050",
        "branch_office": 0,
    }
    line = inv["items"][0]
    assert line["taxes"][0]["value"] == 19127.73
    assert line["taxes"][0]["base_value"] == 100672.27
    assert line["total"] == 119800.0
    assert inv["stamp"]["status"] == "Accepted"
    assert len(inv["stamp"]["cufe"]) == 96
    second = await client.post(INVOICES, json=invoice_body(state), headers=siigo_headers)
    assert second.json()["name"] == "FV-1-2"


async def test_unreachable_gross_price_total_rule(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    items = [
        {"code": "STICKER-PACK-10", "quantity": 1, "taxed_price": 1025, "taxes": [{"id": 13156}]}
    ]
    body = invoice_body(state, items=items, payments=[{"id": 5636, "value": 1025}])
    resp = await client.post(INVOICES, json=body, headers=siigo_headers)
    assert codes(resp) == ["invalid_total_payments"]
    assert resp.json()["Errors"][0]["Message"] == (
        "The total payments must be equal to the total invoice. "
        "The total invoice calculated is 1024.99"
    )
    for price, total in ((861.34, 1024.99), (861.35, 1025.01)):
        items = [
            {"code": "STICKER-PACK-10", "quantity": 1, "price": price, "taxes": [{"id": 13156}]}
        ]
        ok = await client.post(
            INVOICES,
            json=invoice_body(state, items=items, payments=[{"id": 5636, "value": total}]),
            headers=siigo_headers,
        )
        assert ok.status_code == 201, ok.text
        assert ok.json()["total"] == total


async def test_line_without_taxes_is_taxed_at_zero(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    items = [{"code": "CAM-ALG-M-NEG", "quantity": 1, "price": 59900}]
    resp = await client.post(
        INVOICES,
        json=invoice_body(state, items=items, payments=[{"id": 5636, "value": 59900}]),
        headers=siigo_headers,
    )
    assert resp.status_code == 201
    assert resp.json()["items"][0]["taxes"] == []


RULES: list[tuple[str, dict[str, Any], str]] = [
    ("inactive doc type", {"document": {"id": 24447}}, "document_settings"),
    ("NC doc type on invoice", {"document": {"id": 77775}}, "invalid_reference"),
    ("bad date format", {"date": "14/03/2026"}, "invalid_date"),
    ("unknown customer", {"customer": {"identification": "111"}}, "invalid_reference"),
    ("unknown seller", {"seller": 999}, "invalid_reference"),
    ("inactive seller", {"seller": 630}, "parameter_inactive"),
]


@pytest.mark.parametrize(("case", "override", "code"), RULES, ids=[r[0] for r in RULES])
async def test_header_rules(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
    case: str,
    override: dict[str, Any],
    code: str,
) -> None:
    resp = await client.post(INVOICES, json=invoice_body(state, **override), headers=siigo_headers)
    assert code in codes(resp)


ITEM_RULES: list[tuple[str, dict[str, Any], str, str]] = [
    ("unknown code", {"code": "NOPE"}, "invalid_reference", "The product doesn't exist: NOPE"),
    ("inactive product", {"code": "PROD-DESCONT-01"}, "parameter_inactive", ""),
    ("3-decimal quantity", {"quantity": 1.234}, "invalid_value", "Invalid value: quantity"),
    ("zero quantity", {"quantity": 0}, "invalid_value", "Invalid value: quantity"),
    ("7-decimal price", {"price": 1.1234567}, "invalid_amount", "The price amount is invalid"),
    ("negative price", {"price": -1}, "invalid_amount", ""),
    (
        "unknown tax",
        {"taxes": [{"id": 1212121}]},
        "invalid_reference",
        "The tax doesn't exist: 1212121",
    ),
    (
        "duplicated tax type",
        {"taxes": [{"id": 13156}, {"id": 13157}]},
        "invalid_array",
        "The array taxes has invalid values",
    ),
    (
        "four taxes",
        {"taxes": [{"id": 13156}, {"id": 13160}, {"id": 13157}, {"id": 13158}]},
        "invalid_array",
        "",
    ),
]


@pytest.mark.parametrize(
    ("case", "override", "code", "message"), ITEM_RULES, ids=[r[0] for r in ITEM_RULES]
)
async def test_item_rules(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
    case: str,
    override: dict[str, Any],
    code: str,
    message: str,
) -> None:
    body = invoice_body(state)
    body["items"][0].update(override)
    resp = await client.post(INVOICES, json=body, headers=siigo_headers)
    assert code in codes(resp)
    err = next(e for e in resp.json()["Errors"] if e["Code"] == code)
    assert err["Params"][0].startswith("items[0]")
    if message:
        assert err["Message"] == message


PAYMENT_RULES: list[tuple[str, dict[str, Any], str]] = [
    ("NC payment type", {"id": 5637, "value": 119800}, "invalid_payment"),
    ("inactive payment type", {"id": 5639, "value": 119800}, "parameter_inactive"),
    ("due date missing", {"id": 5638, "value": 119800}, "parameter_required"),
    ("3-decimal value", {"id": 5636, "value": 119800.001}, "invalid_amount"),
    ("wrong total", {"id": 5636, "value": 119799}, "invalid_total_payments"),
]


@pytest.mark.parametrize(
    ("case", "payment", "code"), PAYMENT_RULES, ids=[r[0] for r in PAYMENT_RULES]
)
async def test_payment_rules(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
    case: str,
    payment: dict[str, Any],
    code: str,
) -> None:
    resp = await client.post(
        INVOICES, json=invoice_body(state, payments=[payment]), headers=siigo_headers
    )
    assert codes(resp) == [code]


async def test_due_date_payment_ok_and_several_errors_at_once(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    ok = await client.post(
        INVOICES,
        json=invoice_body(
            state, payments=[{"id": 5638, "value": 119800, "due_date": "2030-01-01"}]
        ),
        headers=siigo_headers,
    )
    assert ok.status_code == 201
    body = invoice_body(state, seller=630, date="2000-01-01")
    body["items"][0]["code"] = "NOPE"
    assert set(codes(await client.post(INVOICES, json=body, headers=siigo_headers))) == {
        "invalid_date",
        "parameter_inactive",
        "invalid_reference",
    }


async def test_date_rule_uses_colombian_today_and_clock_offset(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    today = state.clock.colombia_today().isoformat()
    await client.put("/_sandbox/clock", json={"offset_days": 2})
    # Two days later the 24 h token has expired too: authenticate again.
    auth = await client.post(
        "/siigo/auth", json={"username": "sandbox@conexapi.dev", "access_key": "sandbox"}
    )
    headers = {**siigo_headers, "Authorization": f"Bearer {auth.json()['access_token']}"}
    resp = await client.post(INVOICES, json=invoice_body(state, date=today), headers=headers)
    assert codes(resp) == ["invalid_date"]


async def test_customer_without_contacts(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
) -> None:
    no_contacts = {**copy.deepcopy(CUSTOMER), "identification": "55555", "contacts": []}
    state.siigo.default.create_customer(no_contacts, state.clock.now())
    body = invoice_body(state, customer={"identification": "55555"})
    assert codes(await client.post(INVOICES, json=body, headers=siigo_headers)) == [
        "customer_settings"
    ]


async def test_idempotency(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    bad = await client.post(
        INVOICES, json=invoice_body(state), headers={**siigo_headers, "Idempotency-Key": "a-b"}
    )
    assert codes(bad) == ["invalid_idempotency_key"]
    headers = {**siigo_headers, "Idempotency-Key": "MLCO2000010733434062FV"}
    first = await client.post(INVOICES, json=invoice_body(state), headers=headers)
    different = invoice_body(state, observations="changed")
    replay = await client.post(INVOICES, json=different, headers=headers)
    assert replay.status_code == 201
    assert replay.json() == first.json()
    assert len(state.siigo.default.invoices) == 1


async def test_lost_response_creates_then_fails(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    await client.put("/_sandbox/faults", json={"siigo": {"lost_response_rate": 1.0}})
    headers = {**siigo_headers, "Idempotency-Key": "KEY1"}
    lost = await client.post(INVOICES, json=invoice_body(state), headers=headers)
    assert lost.status_code == 500
    assert lost.json()["Errors"][0]["Code"] == "unhandled_error"
    created = (await client.get("/_sandbox/siigo/invoices")).json()
    assert len(created) == 1
    assert created[0]["idempotency_key"] == "KEY1"
    await client.put("/_sandbox/faults", json={})
    replay = await client.post(INVOICES, json=invoice_body(state), headers=headers)
    assert replay.status_code == 201
    assert replay.json()["id"] == created[0]["id"]


async def test_siigo_error_fault_does_not_create(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    await client.put("/_sandbox/faults", json={"siigo": {"error_rate": 1.0}})
    resp = await client.post(INVOICES, json=invoice_body(state), headers=siigo_headers)
    assert resp.status_code == 500
    assert state.siigo.default.invoices == {}


async def test_stamp_modes_rejection_and_pdf(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    draft = await client.post(
        INVOICES, json=invoice_body(state, stamp={"send": False}), headers=siigo_headers
    )
    assert "stamp" not in draft.json()
    await client.put("/_sandbox/siigo/stamp-mode", json={"mode": "delay", "delay_polls": 2})
    delayed = (await client.post(INVOICES, json=invoice_body(state), headers=siigo_headers)).json()
    assert delayed["stamp"]["status"] == "Draft"
    statuses = [
        (await client.get(f"{INVOICES}/{delayed['id']}", headers=siigo_headers)).json()["stamp"][
            "status"
        ]
        for _ in range(3)
    ]
    assert statuses == ["Draft", "Accepted", "Accepted"]
    await client.put("/_sandbox/siigo/stamp-mode", json={"mode": "accept"})
    await client.post("/_sandbox/siigo/reject-next", json={"message": "Regla: FAK24, Rechazo: X"})
    rejected = (await client.post(INVOICES, json=invoice_body(state), headers=siigo_headers)).json()
    assert rejected["stamp"]["status"] == "Rejected"
    errors = await client.get(f"{INVOICES}/{rejected['id']}/stamp/errors", headers=siigo_headers)
    assert errors.json()["errors"][0]["message"] == "Regla: FAK24, Rechazo: X"
    pdf = await client.get(f"{INVOICES}/{rejected['id']}/pdf", headers=siigo_headers)
    assert base64.b64decode(pdf.json()["base64"]).startswith(b"%PDF")
    listing = (
        await client.get(
            INVOICES, params={"customer_identification": "1020304050"}, headers=siigo_headers
        )
    ).json()
    assert listing["pagination"]["total_results"] == 3
    assert all("stamp" not in inv for inv in listing["results"])
    named = await client.get(INVOICES, params={"name": "FV-1-2"}, headers=siigo_headers)
    assert [i["id"] for i in named.json()["results"]] == [delayed["id"]]


async def test_credit_note_requires_accepted_invoice(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    draft = (
        await client.post(
            INVOICES, json=invoice_body(state, stamp={"send": False}), headers=siigo_headers
        )
    ).json()
    accepted = (await client.post(INVOICES, json=invoice_body(state), headers=siigo_headers)).json()
    note: dict[str, Any] = {
        "document": {"id": 77775},
        "date": state.clock.colombia_today().isoformat(),
        "invoice": draft["id"],
        "reason": 2,
        "items": invoice_body(state)["items"],
        "payments": [{"id": 5637, "value": 119800}],
        "stamp": {"send": True},
    }
    url = "/siigo/v1/credit-notes"
    assert codes(await client.post(url, json=note, headers=siigo_headers)) == ["invalid_document"]
    assert "invalid_value" in codes(
        await client.post(
            url, json={**note, "invoice": accepted["id"], "reason": 5}, headers=siigo_headers
        )
    )
    assert codes(
        await client.post(
            url,
            json={**note, "invoice": accepted["id"], "payments": [{"id": 5636, "value": 119800}]},
            headers=siigo_headers,
        )
    ) == ["invalid_payment"]
    headers = {**siigo_headers, "Idempotency-Key": "MLCO1NC1"}
    ok = await client.post(url, json={**note, "invoice": accepted["id"]}, headers=headers)
    assert ok.status_code == 201, ok.text
    nc = ok.json()
    assert nc["name"] == "NC-2-1"
    assert nc["invoice"]["id"] == accepted["id"]
    assert nc["stamp"]["status"] == "Accepted"
    assert "cude" in nc["stamp"]
    replay = await client.post(url, json={**note, "invoice": accepted["id"]}, headers=headers)
    assert replay.json()["id"] == nc["id"]
    got = await client.get(f"{url}/{nc['id']}", headers=siigo_headers)
    assert got.json()["total"] == 119800.0
    listing = await client.get(url, headers=siigo_headers)
    assert listing.json()["pagination"]["total_results"] == 1


async def test_each_line_is_computed_with_its_own_tax(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    items = [
        {"code": "FUNDA-CEL-A54", "quantity": 1, "price": 20924.369748, "taxes": [{"id": 13156}]},
        {"code": "CAFE-TOST-250G", "quantity": 2, "price": 20476.190476, "taxes": [{"id": 13157}]},
        {"code": "LIBRO-COCINA", "quantity": 1, "price": 59900},
    ]
    # 20.924,37 + 19 % = 24.900; 40.952,38 + 5 % = 43.000; 59.900 without IVA.
    body = invoice_body(state, items=items, payments=[{"id": 5636, "value": 127800}])
    resp = await client.post(INVOICES, json=body, headers=siigo_headers)
    assert resp.status_code == 201, resp.text
    lines = resp.json()["items"]
    assert [line["total"] for line in lines] == [24900.0, 43000.0, 59900.0]
    assert [t["percentage"] for t in lines[1]["taxes"]] == [5]
    assert lines[2]["taxes"] == []
    wrong = invoice_body(state, items=items, payments=[{"id": 5636, "value": 128000}])
    assert codes(await client.post(INVOICES, json=wrong, headers=siigo_headers)) == [
        "invalid_total_payments"
    ]


@pytest.mark.parametrize(
    ("document_id", "code"),
    [(24449, "parameter_required"), (24450, "document_settings"), (24452, "parameter_required")],
)
async def test_document_types_ask_for_what_they_need(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
    document_id: int,
    code: str,
) -> None:
    body = invoice_body(state, document={"id": document_id})
    assert code in codes(await client.post(INVOICES, json=body, headers=siigo_headers))


async def test_a_type_without_decimals_totals_in_whole_pesos(
    client: httpx.AsyncClient,
    siigo_headers: dict[str, str],
    state: SandboxState,
    customer: dict[str, Any],
) -> None:
    items = [{"code": "STICKER-PACK-10", "quantity": 1, "price": 861.34, "taxes": [{"id": 13156}]}]
    body = invoice_body(
        state, document={"id": 24451}, items=items, payments=[{"id": 5636, "value": 1024.99}]
    )
    assert codes(await client.post(INVOICES, json=body, headers=siigo_headers)) == [
        "invalid_total_payments"
    ]
    body["payments"] = [{"id": 5636, "value": 1025}]
    assert (await client.post(INVOICES, json=body, headers=siigo_headers)).status_code == 201
