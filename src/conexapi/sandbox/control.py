"""Sandbox-only control API under /_sandbox (never mixed into the simulated vendor APIs)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, Field

from conexapi.sandbox.config import FaultsState, QuirksState
from conexapi.sandbox.ml_models import PERMISSIONS
from conexapi.sandbox.scenarios import KINDS
from conexapi.sandbox.siigo_state import Company, Document
from conexapi.sandbox.state import SandboxState, seed_products


def get_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


StateDep = Annotated[SandboxState, Depends(get_state)]
router = APIRouter(prefix="/_sandbox", tags=["sandbox-control"])


class ResetBody(BaseModel):
    seed: int | None = None
    sales: int | None = Field(default=None, ge=0)


class GenerateBody(BaseModel):
    seller_id: int | None = None
    count: int = Field(default=1, ge=0, le=10000)
    seed: int | None = None
    mix: dict[str, float] | None = None
    kinds: list[str] | None = None


class SellerBody(BaseModel):
    id: int
    nickname: str
    consent_next: bool = False


class PermissionsBody(BaseModel):
    """Functional permissions of the application for this seller (missing keys unchanged)."""

    orders: bool | None = None
    billing: bool | None = None


class ApplicationBody(BaseModel):
    redirect_uri: str | None = None
    notify_url: str | None = None
    notification_topics: list[str] | None = None


class NotificationBody(BaseModel):
    topic: str = Field(min_length=1, max_length=60)
    resource: str = Field(min_length=1, max_length=300)
    user_id: int | None = None


class RefundBody(BaseModel):
    amount: Decimal | None = None
    quantity: int | None = Field(default=None, ge=1)


class CompanyBody(BaseModel):
    username: str
    access_key: str
    requests_per_minute: int | None = Field(default=None, ge=0)
    seed_products: bool = True


class StampBody(BaseModel):
    status: Literal["Accepted", "Rejected", "Draft"]
    errors: list[str] = Field(default_factory=list)


class StampModeBody(BaseModel):
    mode: Literal["accept", "delay"]
    delay_polls: int | None = Field(default=None, ge=0)


class RejectRuleBody(BaseModel):
    company: str | None = None
    identification: str | None = None
    message: str = "Regla: FAK24, Rechazo: No está informado el NIT del adquiriente"


class ClockBody(BaseModel):
    offset_days: int


class StreamBody(BaseModel):
    interval_seconds: float = Field(default=5.0, gt=0)
    batch: int = Field(default=1, ge=1)
    seller_id: int | None = None


@router.get("/state")
async def sandbox_state(state: StateDep) -> dict[str, Any]:
    return state.counts()


@router.post("/reset")
async def reset(body: ResetBody, state: StateDep) -> dict[str, Any]:
    await state.stop_stream()
    state.reset(body.seed, body.sales)
    return state.counts()


@router.get("/faults")
async def get_faults(state: StateDep) -> FaultsState:
    return state.config.faults


@router.put("/faults")
async def put_faults(body: FaultsState, state: StateDep) -> FaultsState:
    state.set_faults(body)
    return body


@router.get("/quirks")
async def get_quirks(state: StateDep) -> QuirksState:
    return state.config.quirks


@router.put("/quirks")
async def put_quirks(body: QuirksState, state: StateDep) -> QuirksState:
    state.config.quirks = body
    return body


@router.post("/scenarios/generate")
async def generate(body: GenerateBody, state: StateDep) -> list[dict[str, Any]]:
    unknown = [k for k in (body.kinds or []) + list(body.mix or {}) if k not in KINDS]
    if unknown:
        raise HTTPException(400, {"error": "unknown_kind", "kinds": unknown, "known": list(KINDS)})
    seller = body.seller_id or min(state.ml.sellers)
    if seller not in state.ml.sellers:
        raise HTTPException(404, {"error": "unknown_seller", "seller_id": seller})
    sales = state.generate(seller, body.count, body.seed, body.mix, body.kinds)
    return [s.render() for s in sales]


@router.post("/scenarios/advance")
async def advance(state: StateDep) -> dict[str, int]:
    return {"applied": state.scenarios.advance()}


@router.get("/scenarios")
async def list_sales(state: StateDep) -> list[dict[str, Any]]:
    return [s.render() for s in state.scenarios.sales]


@router.get("/mercadolibre/sellers")
async def sellers(state: StateDep) -> list[dict[str, Any]]:
    return [s.render() for s in state.ml.sellers.values()]


@router.post("/mercadolibre/sellers", status_code=201)
async def add_seller(body: SellerBody, state: StateDep) -> dict[str, Any]:
    seller = state.ml.add_seller(body.id, body.nickname)
    if body.consent_next:
        state.ml.next_consent_seller = body.id
    return seller.render()


@router.put("/mercadolibre/consent-seller")
async def consent_seller(body: dict[str, int], state: StateDep) -> dict[str, Any]:
    seller_id = body.get("seller_id")
    if seller_id not in state.ml.sellers:
        raise HTTPException(404, {"error": "unknown_seller"})
    state.ml.next_consent_seller = seller_id
    return {"next_consent_seller": seller_id}


@router.post("/mercadolibre/orders/{order_id}/{action}")
async def order_action(
    order_id: int, action: str, state: StateDep, body: RefundBody | None = None
) -> dict[str, Any]:
    if order_id not in state.ml.orders:
        raise HTTPException(404, {"error": "unknown_order"})
    if action == "pay":
        order = state.ml.pay(order_id)
    elif action == "cancel":
        order = state.ml.cancel(order_id)
    elif action == "refund":
        body = body or RefundBody()
        order = state.ml.refund(order_id, body.amount, body.quantity)
    elif action == "fraud":
        order = state.ml.mark_fraud(order_id)
    elif action == "refund_covered":
        order = state.ml.refund_covered(order_id)
    else:
        raise HTTPException(404, {"error": "unknown_action", "action": action})
    return order.render()


@router.put("/mercadolibre/sellers/{seller_id}/permissions")
async def seller_permissions(
    seller_id: int, body: PermissionsBody, state: StateDep
) -> dict[str, Any]:
    seller = state.ml.sellers.get(seller_id)
    if seller is None:
        raise HTTPException(404, {"error": "unknown_seller"})
    for name in PERMISSIONS:
        value = getattr(body, name)
        if value is True:
            seller.permissions.add(name)
        elif value is False:
            seller.permissions.discard(name)
    return {"seller_id": seller_id, "permissions": sorted(seller.permissions)}


@router.put("/mercadolibre/application")
async def application(body: ApplicationBody, state: StateDep) -> dict[str, Any]:
    """The application's DevCenter settings: redirect URI, notifications URL, topics."""
    for name in body.model_fields_set:
        setattr(state.config, name, getattr(body, name))
    return {
        "redirect_uri": state.config.redirect_uri,
        "notify_url": state.config.notify_url,
        "notification_topics": state.config.notification_topics,
    }


@router.post("/mercadolibre/notifications", status_code=202)
async def notify(body: NotificationBody, state: StateDep) -> dict[str, Any]:
    """Delivers one notification of any topic (e.g. `messages`, whose resource has no "/")."""
    user = body.user_id or min(state.ml.sellers)
    state.notifier.emit_other(body.topic, body.resource, user)
    return {"topic": body.topic, "resource": body.resource, "user_id": user}


@router.post("/mercadolibre/sellers/{seller_id}/revoke")
async def revoke(seller_id: int, state: StateDep) -> dict[str, Any]:
    state.ml.revoke(seller_id)
    return {"seller_id": seller_id, "revoked": True}


@router.post("/mercadolibre/sellers/{seller_id}/expire-tokens")
async def expire(seller_id: int, state: StateDep) -> dict[str, Any]:
    return {"seller_id": seller_id, "expired": state.ml.expire_tokens(seller_id)}


@router.get("/mercadolibre/stats")
async def ml_stats(state: StateDep) -> dict[str, Any]:
    return {
        **state.ml.stats(),
        "notifications": state.notifier.counters(),
        "faults_injected": state.faults.injected,
    }


@router.get("/mercadolibre/missed-feeds")
async def ml_missed(state: StateDep) -> list[dict[str, Any]]:
    return state.ml.missed_feeds


@router.post("/siigo/companies", status_code=201)
async def add_company(body: CompanyBody, state: StateDep) -> dict[str, Any]:
    company = state.siigo.add_company(body.username, body.access_key, body.requests_per_minute)
    if body.seed_products:
        seed_products(company, state.clock)
    return {"username": company.username, "requests_per_minute": company.requests_per_minute}


def _doc_view(doc: Document, company: Company) -> dict[str, Any]:
    """A document as Siigo renders it, plus what only the sandbox shows: for every line, the
    taxes and classification of the product it maps to (to compare with the line's own)."""
    view = {
        **doc.render(),
        "idempotency_key": doc.idempotency_key,
        "company": doc.company,
        "stamp_send": doc.stamp_send,
    }
    for item in view["items"]:
        product = company.product_by_code(str(item["code"]))
        item["product_taxes"] = (
            [{"id": t["id"], "name": t["name"]} for t in product.get("taxes") or []]
            if product is not None
            else None
        )
        item["product_tax_classification"] = product.get("tax_classification") if product else None
    return view


@router.get("/siigo/invoices")
async def siigo_invoices(state: StateDep) -> list[dict[str, Any]]:
    return [_doc_view(d, c) for c in state.siigo.companies.values() for d in c.invoices.values()]


@router.get("/siigo/credit-notes")
async def siigo_credit_notes(state: StateDep) -> list[dict[str, Any]]:
    return [
        _doc_view(d, c) for c in state.siigo.companies.values() for d in c.credit_notes.values()
    ]


@router.get("/siigo/customers")
async def siigo_customers(state: StateDep) -> list[dict[str, Any]]:
    return [
        {**x, "company": u} for u, c in state.siigo.companies.items() for x in c.customers.values()
    ]


@router.get("/siigo/products")
async def siigo_products(state: StateDep) -> list[dict[str, Any]]:
    return [
        {**x, "company": u} for u, c in state.siigo.companies.items() for x in c.products.values()
    ]


@router.get("/siigo/stats")
async def siigo_stats(state: StateDep) -> dict[str, Any]:
    return {**state.siigo.stats(), "faults_injected": state.faults.injected}


@router.post("/siigo/invoices/{invoice_id}/stamp")
async def force_stamp(invoice_id: str, body: StampBody, state: StateDep) -> dict[str, Any]:
    found = state.siigo.find_document(invoice_id)
    if found is None:
        raise HTTPException(404, {"error": "unknown_document"})
    company, doc = found
    company.force_stamp(doc, body.status, body.errors)
    return _doc_view(doc, company)


@router.post("/siigo/reject-next")
async def reject_next(body: RejectRuleBody, state: StateDep) -> dict[str, Any]:
    company = state.siigo.companies.get(body.company or "") or state.siigo.default
    if body.identification:
        company.reject_identifications[body.identification] = body.message
    else:
        company.reject_next.append({"errors": [{"code": "FAK24", "message": body.message}]})
    return {"queued": len(company.reject_next), "identifications": company.reject_identifications}


@router.put("/siigo/stamp-mode")
async def stamp_mode(body: StampModeBody, state: StateDep) -> dict[str, Any]:
    state.siigo.stamp_mode = body.mode
    if body.delay_polls is not None:
        state.siigo.stamp_delay_polls = body.delay_polls
    return {"mode": state.siigo.stamp_mode, "delay_polls": state.siigo.stamp_delay_polls}


@router.post("/siigo/expire-tokens")
async def siigo_expire(state: StateDep, company: str | None = None) -> dict[str, int]:
    return {"expired": state.siigo.expire_tokens(company)}


@router.put("/clock")
async def clock(body: ClockBody, state: StateDep) -> dict[str, Any]:
    state.set_clock_offset(body.offset_days)
    return {"offset_days": body.offset_days, "colombia_today": state.clock.colombia_today()}


@router.post("/stream")
async def stream_start(body: StreamBody, state: StateDep) -> dict[str, Any]:
    state.start_stream(body.interval_seconds, body.batch, body.seller_id or min(state.ml.sellers))
    return {"running": True, "interval_seconds": body.interval_seconds, "batch": body.batch}


@router.delete("/stream")
async def stream_stop(state: StateDep) -> dict[str, Any]:
    await state.stop_stream()
    return {"running": False}
