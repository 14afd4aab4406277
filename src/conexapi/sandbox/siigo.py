"""Siigo Nube simulator router (`/siigo/auth`, `/siigo/v1/...`)."""

from __future__ import annotations

import base64
import math
import uuid
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from conexapi.sandbox.constants import CREDIT_NOTE_REASONS
from conexapi.sandbox.faults import FaultAction
from conexapi.sandbox.siigo_errors import SiigoHTTPError, siigo_error
from conexapi.sandbox.siigo_rules import (
    IDEMPOTENCY_RE,
    PARTNER_RE,
    validate_customer,
    validate_document,
    validate_product,
)
from conexapi.sandbox.siigo_state import Company, Document
from conexapi.sandbox.state import SandboxState

# A minimal valid one-page PDF (what GET /pdf hands back in base64).
TINY_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)


def get_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


StateDep = Annotated[SandboxState, Depends(get_state)]


async def _faults(state: SandboxState) -> None:
    action = await state.faults.before_request("siigo")
    if action is FaultAction.RATE_LIMIT:
        raise SiigoHTTPError.one(429, "requests_limit", "The request limit has been exceeded")
    if action is FaultAction.ERROR:
        raise SiigoHTTPError.one(500, "unhandled_error", "An unhandled error has occurred")


async def current_company(request: Request) -> Company:
    state = get_state(request)
    await _faults(state)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    company = state.siigo.company_for_token(token.strip()) if scheme.lower() == "bearer" else None
    if company is None:
        raise SiigoHTTPError.one(401, "unauthorized", "The token is invalid or has expired")
    partner = request.headers.get("partner-id")
    if partner is None:
        raise SiigoHTTPError.one(
            400, "header_required", "The header Partner-Id is required", ["Partner-Id"]
        )
    if not PARTNER_RE.match(partner):
        raise SiigoHTTPError.one(
            400, "invalid_partner_id", "The header Partner-Id is invalid", ["Partner-Id"]
        )
    if not company.allow_request():
        raise SiigoHTTPError.one(
            429, "requests_limit", "The request limit has been exceeded, try again in a few seconds"
        )
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path).removeprefix("/siigo")
    company.calls[f"{request.method} {path}"] += 1
    return company


CompanyDep = Annotated[Company, Depends(current_company)]
router = APIRouter(prefix="/siigo", tags=["siigo"])


async def json_body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise SiigoHTTPError.one(400, "invalid_type", "The body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise SiigoHTTPError.one(400, "invalid_type", "The body must be a JSON object")
    return body


def paginate(request: Request, rows: list[dict[str, Any]]) -> dict[str, Any]:
    q = request.query_params
    try:
        page = max(1, int(q.get("page", "1")))
        page_size = min(100, max(1, int(q.get("page_size", "25"))))
    except ValueError as exc:
        raise SiigoHTTPError.one(400, "invalid_type", "Invalid page or page_size") from exc
    start = (page - 1) * page_size
    base = str(request.url.remove_query_params(["page", "page_size"]))
    sep = "&" if "?" in base else "?"

    def link(p: int) -> dict[str, str]:
        return {"href": f"{base}{sep}page={p}&page_size={page_size}"}

    links: dict[str, Any] = {"self": link(page)}
    if page > 1:
        links["previous"] = link(page - 1)
    if page < math.ceil(len(rows) / page_size):
        links["next"] = link(page + 1)
    return {
        "pagination": {"page": page, "page_size": page_size, "total_results": len(rows)},
        "results": rows[start : start + page_size],
        "_links": links,
    }


@router.post("/auth")
async def auth(request: Request, state: StateDep) -> dict[str, Any]:
    await _faults(state)
    body = await json_body(request)
    return state.siigo.login(body.get("username"), body.get("access_key"))


# ---------------------------------------------------------------------------- catalogs
@router.get("/v1/document-types")
async def document_types(request: Request, state: StateDep, company: CompanyDep) -> Any:
    doc_type = request.query_params.get("type")
    if not doc_type:
        raise SiigoHTTPError.one(400, "parameter_required", "The field type is required", ["type"])
    quirks = state.config.quirks.siigo
    rows = [dict(d) for d in company.document_types.values() if d["type"] == doc_type]
    if quirks.document_type_code == "number":
        for row in rows:
            row["code"] = int(row["code"]) if str(row["code"]).isdigit() else row["code"]
    if doc_type == "NC" and quirks.credit_note_types_shape == "object" and rows:
        # The portal's example: one object, a GUID `id`, the numeric id in `number`.
        first = rows[0]
        return {
            **first,
            "id": str(uuid.uuid5(uuid.NAMESPACE_OID, f"{company.username}/{first['id']}")),
            "number": first["id"],
        }
    return rows


@router.get("/v1/taxes")
async def taxes(company: CompanyDep) -> list[dict[str, Any]]:
    return list(company.taxes.values())


@router.get("/v1/payment-types")
async def payment_types(request: Request, company: CompanyDep) -> list[dict[str, Any]]:
    kind = request.query_params.get("document_type")
    if not kind:
        raise SiigoHTTPError.one(
            400, "parameter_required", "The field document_type is required", ["document_type"]
        )
    if kind not in ("FV", "NC", "RC", "FC"):
        raise SiigoHTTPError.one(404, "not_found", "Resource not found")
    return [
        {k: v for k, v in p.items() if k != "document_type"}
        for p in company.payment_types.values()
        if p["document_type"] == kind
    ]


@router.get("/v1/users")
async def users(request: Request, state: StateDep, company: CompanyDep) -> Any:
    rows = list(company.users.values())
    if state.config.quirks.siigo.users_shape == "array":
        return rows  # the older blueprint: `array[User]`, no pagination
    return paginate(request, rows)


@router.get("/v1/cost-centers")
async def cost_centers(company: CompanyDep) -> list[dict[str, Any]]:
    return company.cost_centers


@router.get("/v1/account-groups")
async def account_groups(company: CompanyDep) -> list[dict[str, Any]]:
    return company.account_groups


@router.get("/v1/available-documents")
async def available_documents(company: CompanyDep) -> list[dict[str, Any]]:
    used = {"FV": len(company.invoices), "NC": len(company.credit_notes)}
    return [
        {"type": t, "total_purchased": 10000, "used": n, "available": 10000 - n}
        for t, n in used.items()
    ]


# ---------------------------------------------------------------------------- customers
@router.post("/v1/customers", status_code=201)
async def customer_create(request: Request, state: StateDep, company: CompanyDep) -> Any:
    body = await json_body(request)
    errors = validate_customer(body)
    if errors:
        raise SiigoHTTPError(400, errors)
    return company.create_customer(body, state.clock.now())


@router.get("/v1/customers")
async def customer_list(request: Request, company: CompanyDep) -> dict[str, Any]:
    q = request.query_params
    rows = list(company.customers.values())
    if q.get("identification"):
        rows = [c for c in rows if c["identification"] == q["identification"]]
    if q.get("branch_office"):
        rows = [c for c in rows if str(c["branch_office"]) == q["branch_office"]]
    if q.get("active"):
        rows = [c for c in rows if str(c["active"]).lower() == q["active"].lower()]
    if q.get("person_type"):
        rows = [c for c in rows if c["person_type"] == q["person_type"]]
    return paginate(request, rows)


@router.get("/v1/customers/{customer_id}")
async def customer_get(customer_id: str, company: CompanyDep) -> dict[str, Any]:
    customer = company.customers.get(customer_id)
    if customer is None:
        raise SiigoHTTPError.one(404, "not_found", "The customer doesn't exist")
    return customer


@router.put("/v1/customers/{customer_id}")
async def customer_put(
    customer_id: str, request: Request, state: StateDep, company: CompanyDep
) -> dict[str, Any]:
    if customer_id not in company.customers:
        raise SiigoHTTPError.one(404, "not_found", "The customer doesn't exist")
    body = await json_body(request)
    errors = validate_customer(body)
    if errors:
        raise SiigoHTTPError(400, errors)
    return company.replace_customer(customer_id, body, state.clock.now())


# ---------------------------------------------------------------------------- products
@router.post("/v1/products", status_code=201)
async def product_create(request: Request, state: StateDep, company: CompanyDep) -> Any:
    body = await json_body(request)
    errors = validate_product(body, company)
    if errors:
        raise SiigoHTTPError(400, errors)
    return company.create_product(body, state.clock.now())


@router.get("/v1/products")
async def product_list(request: Request, company: CompanyDep) -> dict[str, Any]:
    q = request.query_params
    if q.get("code"):
        found = company.product_by_code(q["code"])
        rows = [found] if found else []
    else:
        rows = list(reversed(company.products.values()))  # newest first
    if q.get("active"):
        rows = [p for p in rows if str(p["active"]).lower() == q["active"].lower()]
    return paginate(request, rows)


@router.get("/v1/products/{product_id}")
async def product_get(product_id: str, company: CompanyDep) -> dict[str, Any]:
    product = company.products.get(product_id)
    if product is None:
        raise SiigoHTTPError.one(404, "not_found", "The product doesn't exist")
    return product


@router.delete("/v1/products/{product_id}")
async def product_delete(product_id: str, company: CompanyDep) -> dict[str, Any]:
    """`{id, deleted: true}` (docs/vendors/siigo.md §7); no invoice movements are simulated."""
    if not company.delete_product(product_id):
        raise SiigoHTTPError.one(404, "not_found", "The product doesn't exist")
    return {"id": product_id, "deleted": True}


# ---------------------------------------------------------------------------- documents
async def _create_document(
    request: Request, state: StateDep, company: Company, kind: str
) -> JSONResponse:
    key = request.headers.get("idempotency-key")
    if key is not None and not IDEMPOTENCY_RE.match(key):
        raise SiigoHTTPError.one(
            400,
            "invalid_idempotency_key",
            "The header Idempotency-Key is invalid",
            ["Idempotency-Key"],
        )
    if key is not None and (kind, key) in company.idempotency:
        # Replay: the original document, even when the new payload differs (observed).
        store = company.invoices if kind == "FV" else company.credit_notes
        return JSONResponse(store[company.idempotency[(kind, key)]].render(), status_code=201)
    body = await json_body(request)
    result = validate_document(company, body, state.clock.colombia_today(), kind)
    invoice: Document | None = None
    if kind == "NC":
        invoice = _check_credit_note(company, body, result.errors, result.doc_type)
    if result.errors:
        raise SiigoHTTPError(400, result.errors)
    doc = company.create_document(
        kind,
        result,
        body,
        key,
        state.clock.now(),
        state.siigo.stamp_mode,
        state.siigo.stamp_delay_polls,
        invoice,
    )
    if await state.faults.lost_response():
        raise SiigoHTTPError.one(500, "unhandled_error", "An unhandled error has occurred")
    return JSONResponse(doc.render(), status_code=201)


def _check_credit_note(
    company: Company,
    body: dict[str, Any],
    errors: list[dict[str, Any]],
    doc_type: dict[str, Any] | None,
) -> Document | None:
    invoice = company.invoices.get(str(body.get("invoice")))
    if invoice is None:
        errors.append(siigo_error("invalid_reference", "The invoice doesn't exist", ["invoice"]))
    elif (
        doc_type is not None
        and company.is_electronic(doc_type)
        and (invoice.stamp_status != "Accepted")
    ):
        errors.append(
            siigo_error(
                "invalid_document",
                "The invoice must be sent to DIAN and "
                "accepted before creating an electronic credit note",
                ["invoice"],
            )
        )
    reason = body.get("reason")
    if not isinstance(reason, int) or isinstance(reason, bool) or reason not in CREDIT_NOTE_REASONS:
        errors.append(siigo_error("invalid_value", "Invalid value: reason", ["reason"]))
    return invoice


def _filter_documents(request: Request, docs: list[Document]) -> list[dict[str, Any]]:
    q = request.query_params

    def day(name: str) -> date | None:
        raw = q.get(name)
        if not raw:
            return None
        try:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        except ValueError as exc:
            raise SiigoHTTPError.one(400, "invalid_date", f"Invalid date: {name}", [name]) from exc

    cs, ce, ds, de = day("created_start"), day("created_end"), day("date_start"), day("date_end")
    rows = []
    for d in docs:
        if q.get("document_id") and str(d.doc_type["id"]) != q["document_id"]:
            continue
        if q.get("customer_identification") and (
            d.customer["identification"] != q["customer_identification"]
        ):
            continue
        if q.get("name") and d.name != q["name"]:
            continue
        created = d.created.date()
        if (cs and created < cs) or (ce and created >= ce):  # bare end date = midnight
            continue
        if (ds and d.date < ds.isoformat()) or (de and d.date > de.isoformat()):
            continue
        rows.append(d.render(with_stamp=False))  # list items carry no stamp (faithful)
    return rows


@router.post("/v1/invoices", status_code=201)
async def invoice_create(request: Request, state: StateDep, company: CompanyDep) -> JSONResponse:
    return await _create_document(request, state, company, "FV")


@router.get("/v1/invoices")
async def invoice_list(request: Request, company: CompanyDep) -> dict[str, Any]:
    return paginate(request, _filter_documents(request, list(company.invoices.values())))


def _invoice(company: Company, invoice_id: str) -> Document:
    doc = company.invoices.get(invoice_id)
    if doc is None:
        raise SiigoHTTPError.one(404, "not_found", "The invoice doesn't exist")
    return doc


@router.get("/v1/invoices/{invoice_id}")
async def invoice_get(invoice_id: str, company: CompanyDep) -> dict[str, Any]:
    doc = _invoice(company, invoice_id)
    company.poll(doc)
    return doc.render()


@router.get("/v1/invoices/{invoice_id}/stamp/errors")
async def invoice_stamp_errors(invoice_id: str, company: CompanyDep) -> dict[str, Any]:
    doc = _invoice(company, invoice_id)
    return {"id": doc.id, "errors": doc.stamp_errors}


@router.get("/v1/invoices/{invoice_id}/pdf")
async def invoice_pdf(invoice_id: str, company: CompanyDep) -> dict[str, Any]:
    doc = _invoice(company, invoice_id)
    return {"id": doc.id, "cufe": doc.stamp_code, "base64": base64.b64encode(TINY_PDF).decode()}


@router.post("/v1/credit-notes", status_code=201)
async def credit_note_create(
    request: Request, state: StateDep, company: CompanyDep
) -> JSONResponse:
    return await _create_document(request, state, company, "NC")


@router.get("/v1/credit-notes")
async def credit_note_list(request: Request, company: CompanyDep) -> dict[str, Any]:
    return paginate(request, _filter_documents(request, list(company.credit_notes.values())))


@router.get("/v1/credit-notes/{note_id}")
async def credit_note_get(note_id: str, company: CompanyDep) -> dict[str, Any]:
    doc = company.credit_notes.get(note_id)
    if doc is None:
        raise SiigoHTTPError.one(404, "not_found", "The credit note doesn't exist")
    company.poll(doc)
    return doc.render()


@router.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
async def siigo_not_found(path: str) -> None:
    raise SiigoHTTPError.one(404, "not_found", f"Resource not found: /{path}")
