"""MercadoLibre simulator routers: consent page (auth host) and the REST API (api host)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode, urlparse

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from conexapi.sandbox.clock import ml_time, money, parse_time
from conexapi.sandbox.constants import (
    ML_CLIENT_ID,
    ML_CLIENT_SECRET,
    SANDBOX_APPLICATION_ID,
    SITE_ID,
)
from conexapi.sandbox.faults import FaultAction
from conexapi.sandbox.ml_errors import MLHTTPError, PolicyBlocked, forbidden_order, not_found
from conexapi.sandbox.ml_models import Order
from conexapi.sandbox.ml_state import MercadoLibreState, OAuthError
from conexapi.sandbox.ml_views import render_claim, render_return, render_shipment
from conexapi.sandbox.state import SandboxState

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def get_state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


StateDep = Annotated[SandboxState, Depends(get_state)]


async def ml_guard(request: Request) -> None:
    """Count the call per path template and apply injected faults (no state change on faults)."""
    state = get_state(request)
    route = request.scope.get("route")
    path = getattr(route, "path", request.url.path).removeprefix("/mercadolibre")
    state.ml.calls[f"{request.method} {path}"] += 1
    if not state.ml.allow_app_request():
        # Over the application's quota (every seller together), as MercadoLibre answers it.
        raise MLHTTPError(429, "local_rate_limited", "Too many requests")
    action = await state.faults.before_request("mercadolibre")
    if action is FaultAction.RATE_LIMIT:
        raise MLHTTPError(429, "local_rate_limited", "Too many requests")
    if action is FaultAction.ERROR:
        raise MLHTTPError(500, "internal_error", "Internal server error")


def current_user(request: Request, authorization: Annotated[str | None, Header()] = None) -> int:
    state = get_state(request)
    if not authorization:
        raise MLHTTPError(401, "unauthorized", "authorization value not present")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise MLHTTPError(401, "unauthorized", "authorization value not present")
    seller_id = state.ml.authenticate(token.strip())
    if seller_id is None:
        raise MLHTTPError(401, "unauthorized", "invalid access token")
    return seller_id


UserDep = Annotated[int, Depends(current_user)]

auth_router = APIRouter(prefix="/mercadolibre-auth", tags=["mercadolibre-auth"])
api_router = APIRouter(
    prefix="/mercadolibre", tags=["mercadolibre"], dependencies=[Depends(ml_guard)]
)


def _error_page(message: str) -> HTMLResponse:
    body = (
        "<!doctype html><html lang='es'><head><meta charset='utf-8'><title>Mercado Libre</title>"
        "</head><body><h1>Lo sentimos, la aplicación no puede conectarse a tu cuenta.</h1>"
        f"<p>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=400)


def is_loopback(uri: str) -> bool:
    parsed = urlparse(uri)
    return parsed.scheme in ("http", "https") and (parsed.hostname or "") in LOOPBACK_HOSTS


@auth_router.get("/authorization", response_model=None)
async def authorization(request: Request, state: StateDep) -> Response:
    """Consent page: auto-approves as the default seller (or ?seller_id= / the control setting)."""
    params = request.query_params
    redirect_uri = params.get("redirect_uri", "")
    if params.get("client_id") != ML_CLIENT_ID:
        return _error_page("invalid client_id")
    registered = state.config.redirect_uri
    if not redirect_uri or (
        redirect_uri != registered if registered else not is_loopback(redirect_uri)
    ):
        return _error_page("redirect_uri does not match the application configuration")
    if params.get("response_type") != "code":
        return _error_page("response_type must be code")
    method = params.get("code_challenge_method")
    challenge = params.get("code_challenge")
    if challenge and method and method.upper() not in ("S256", "PLAIN"):
        return _error_page("invalid code_challenge_method")
    seller_raw = params.get("seller_id")
    if seller_raw is not None:
        seller_id = int(seller_raw) if seller_raw.isdigit() else -1
    else:
        seller_id = state.ml.next_consent_seller or min(state.ml.sellers)
        state.ml.next_consent_seller = None
    if seller_id not in state.ml.sellers:
        return _error_page("unknown user")
    code = state.ml.issue_code(seller_id, redirect_uri, challenge, method)
    query = {"code": code}
    if params.get("state") is not None:
        query["state"] = params["state"]
    sep = "&" if urlparse(redirect_uri).query else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(query)}", status_code=302)


# ---------------------------------------------------------------------------- OAuth
@api_router.post("/oauth/token")
async def oauth_token(request: Request, state: StateDep) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        raise MLHTTPError(400, "invalid_request", "the body must be form-urlencoded", oauth=True)
    form = await request.form()
    data = {k: str(v) for k, v in form.items()}
    if data.get("client_id") != ML_CLIENT_ID or data.get("client_secret") != ML_CLIENT_SECRET:
        raise MLHTTPError(401, "invalid_client", "invalid client_id or client_secret", oauth=True)
    grant_type = data.get("grant_type")
    try:
        if grant_type == "authorization_code":
            if not data.get("code") or not data.get("redirect_uri"):
                raise OAuthError("invalid_request", "code and redirect_uri are required")
            return state.ml.exchange_code(
                data["code"], data["redirect_uri"], data.get("code_verifier")
            )
        if grant_type == "refresh_token":
            if not data.get("refresh_token"):
                raise OAuthError("invalid_request", "refresh_token is a required parameter")
            return state.ml.refresh(data["refresh_token"])
    except OAuthError as exc:
        raise MLHTTPError(exc.status, exc.error, exc.description, oauth=True) from exc
    raise MLHTTPError(400, "unsupported_grant_type", "unsupported grant_type", oauth=True)


@api_router.get("/oauth/token")
async def oauth_token_get() -> None:
    # Refresh via GET answers 404 on the real API (classic integrator mistake).
    raise not_found("resource not found")


# ---------------------------------------------------------------------------- users / apps
@api_router.get("/users/me")
async def users_me(state: StateDep, user: UserDep) -> dict[str, Any]:
    return state.ml.sellers[user].render(private=True)


@api_router.get("/users/{user_id}")
async def users_get(user_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    seller = state.ml.sellers.get(user_id)
    if seller is None:
        raise not_found(f"User not found: {user_id}")
    return seller.render(private=user_id == user)


@api_router.get("/applications/{client_id}")
async def applications_get(client_id: str, state: StateDep, user: UserDep) -> dict[str, Any]:
    """The application's settings as its owner configured them in DevCenter (§1.6; fields as in
    the "Application and permissions" page): `callback_url` is the redirect URI."""
    if client_id not in (ML_CLIENT_ID, str(SANDBOX_APPLICATION_ID)):
        raise not_found("Application not found")
    config = state.config
    return {
        "id": SANDBOX_APPLICATION_ID,
        "site_id": SITE_ID,
        "name": "ConexAPI Sandbox",
        "description": "Simulated MercadoLibre application",
        "short_name": "conexapi-sandbox",
        "callback_url": state.ml.redirect_uri(config.redirect_uri) or "",
        "sandbox_mode": False,
        "active": True,
        "max_requests_per_hour": 18000,
        "scopes": ["offline_access", "read", "write"],
        "notifications_callback_url": config.notify_url or "",
        "notifications_topics": list(config.notification_topics),
        "domains": [],
        "certification_status": "not_certified",
        "use_pkce": False,
        "blocked": False,
        "disabled": False,
    }


# ---------------------------------------------------------------------------- orders
def own_order(ml: MercadoLibreState, order_id: int, user: int) -> Order:
    _check_orders_permission(ml, user)
    order = ml.orders.get(order_id)
    if order is None:
        raise not_found(f"Order not found: {order_id}")
    if order.seller_id != user:
        raise forbidden_order()
    return order


def _range(request: Request, name: str) -> tuple[datetime | None, datetime | None] | None:
    lo_raw = request.query_params.get(f"{name}.from")
    hi_raw = request.query_params.get(f"{name}.to")
    if lo_raw is None and hi_raw is None:
        return None
    lo = parse_time(lo_raw) if lo_raw else None
    hi = parse_time(hi_raw) if hi_raw else None
    if (lo_raw and lo is None) or (hi_raw and hi is None):
        raise MLHTTPError(400, "bad_request", f"Invalid date for {name}")
    return lo, hi


def _to_hour(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.replace(minute=0, second=0, microsecond=0)


@api_router.get("/orders/search")
async def orders_search(request: Request, state: StateDep, user: UserDep) -> dict[str, Any]:
    q = request.query_params
    seller_raw = q.get("seller")
    if seller_raw is None:
        raise MLHTTPError(400, "bad_request", "Missing seller or buyer param")
    if not seller_raw.isdigit() or int(seller_raw) != user:
        raise MLHTTPError(403, "forbidden", "Invalid caller.id")
    _check_orders_permission(state.ml, user)
    try:
        offset = int(q.get("offset", "0"))
        limit = int(q.get("limit", "50"))
    except ValueError as exc:
        raise MLHTTPError(400, "bad_request", "Invalid offset or limit") from exc
    if limit > 51 or limit < 0 or offset < 0:
        raise MLHTTPError(400, "bad_request", f"Invalid limit. Max allowed is 51. Got {limit}")
    sort = q.get("sort", "date_asc")
    if sort not in ("date_asc", "date_desc"):
        raise MLHTTPError(400, "bad_request", f"Invalid sort: {sort}")
    statuses = set(filter(None, q.get("order.status", "").split(","))) or None
    ranges: dict[str, tuple[datetime | None, datetime | None]] = {}
    for param, attr in (
        ("order.date_created", "date_created"),
        ("order.date_closed", "date_closed"),
        ("order.date_last_updated", "last_updated"),
    ):
        bounds = _range(request, param)
        if bounds is not None:
            ranges[attr] = bounds
    quirks = state.config.quirks.mercadolibre
    if quirks.date_filters_hour_precision:
        ranges = {
            attr: tuple(_to_hour(b) for b in bounds)  # type: ignore[misc]
            for attr, bounds in ranges.items()
        }
    found = state.ml.search(user, statuses, ranges, sort == "date_desc")
    if quirks.seller_search_hides_cancelled and statuses is None:
        found = [o for o in found if o.status != "cancelled"]
    page = found[offset : offset + limit]
    names = {"date_asc": "Date ascending", "date_desc": "Date descending"}
    return {
        "query": q.get("q"),
        "results": [o.render() for o in page],
        "sort": {"id": sort, "name": names[sort]},
        "available_sorts": [{"id": k, "name": v} for k, v in names.items() if k != sort],
        "filters": [],
        "paging": {"total": len(found), "offset": offset, "limit": limit},
        "display": "complete",
    }


@api_router.get("/orders/billing-info/{site_id}/{billing_info_id}")
async def billing_info(
    site_id: str, billing_info_id: str, state: StateDep, user: UserDep
) -> dict[str, Any]:
    _check_billing_permission(state, user)
    entry = state.ml.billing.get(billing_info_id)
    if site_id != SITE_ID or entry is None:
        raise not_found("Billing info not found")
    seller_id, info = entry
    if seller_id != user:
        raise MLHTTPError(403, "forbidden", "The user has not access to the billing info")
    return info.read_v2(seller_id)


@api_router.get("/orders/{order_id}")
async def order_get(order_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    return own_order(state.ml, order_id, user).render()


@api_router.get("/orders/{order_id}/discounts")
async def order_discounts(order_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    own_order(state.ml, order_id, user)
    return state.ml.discounts.get(order_id, {"details": []})


@api_router.get("/orders/{order_id}/billing_info")
async def order_billing_legacy(
    order_id: int,
    state: StateDep,
    user: UserDep,
    x_version: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Deprecated endpoint: V1 shape, or the current shape with `x-version: 2`."""
    _check_billing_permission(state, user)
    order = own_order(state.ml, order_id, user)
    info = order.buyer.billing
    if info is None:
        raise not_found("Billing info not found")
    if x_version == "2":
        return info.read_v2(order.seller_id)
    return info.render_legacy()


def _check_orders_permission(ml: MercadoLibreState, user: int) -> None:
    """Orders, packs and shipments need "Ventas y envíos" (§1.1)."""
    seller = ml.sellers.get(user)
    if seller is not None and "orders" not in seller.permissions:
        raise PolicyBlocked()


def _check_billing_permission(state: SandboxState, user: int) -> None:
    """Billing info needs the application's "Facturación" permission; without it the
    PolicyAgent answers 403 before looking at the resource (§1.1, §5.3). Injected as a fault,
    or per seller (`PUT /_sandbox/mercadolibre/sellers/{id}/permissions`)."""
    seller = state.ml.sellers.get(user)
    if seller is not None and "billing" not in seller.permissions:
        raise PolicyBlocked()
    if state.faults.billing_forbidden():
        raise PolicyBlocked()


# ---------------------------------------------------------------------------- packs
@api_router.get("/packs/{pack_id}")
async def pack_get(pack_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    _check_orders_permission(state.ml, user)
    pack = state.ml.packs.get(pack_id)
    if pack is None:
        raise not_found(f"Pack not found: {pack_id}")
    if pack.seller_id != user:
        raise forbidden_order()
    statuses = [state.ml.orders[o].status for o in pack.order_ids]
    if all(s == "cancelled" for s in statuses):
        status = "cancelled"
    elif all(s in ("paid", "partially_refunded", "cancelled") for s in statuses):
        status = "released"
    else:
        status = "error"
    return {
        "id": pack.id,
        "status": status,
        "status_detail": None,
        "buyer": {"id": pack.buyer_id},
        "shipment": {"id": pack.shipment_id},
        "orders": [{"id": o} for o in pack.order_ids],
        "date_created": ml_time(pack.date_created),
        "last_updated": ml_time(pack.last_updated),
    }


@api_router.post("/packs/{pack_id}/fiscal_documents")
async def fiscal_upload(
    pack_id: int, request: Request, state: StateDep, user: UserDep
) -> dict[str, Any]:
    from conexapi.sandbox.ml_views import upload_fiscal_documents

    return await upload_fiscal_documents(state, pack_id, user, request)


@api_router.get("/packs/{pack_id}/fiscal_documents")
async def fiscal_list(pack_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    from conexapi.sandbox.ml_views import check_fiscal_target

    check_fiscal_target(state, pack_id, user)
    docs = state.ml.fiscal_documents.get(pack_id, [])
    return {
        "pack_id": pack_id,
        "fiscal_documents": [
            {k: d[k] for k in ("id", "date", "file_type", "filename")} for d in docs
        ],
    }


# ---------------------------------------------------------------------------- shipments etc.
@api_router.get("/shipments/{shipment_id}")
async def shipment_get(shipment_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    shipment = state.ml.shipments.get(shipment_id)
    if shipment is None:
        raise not_found(f"Shipment not found: {shipment_id}")
    if shipment.seller_id != user:
        raise MLHTTPError(403, "forbidden", "The user has not access to the shipment")
    return render_shipment(state.ml, shipment)


@api_router.get("/shipments/{shipment_id}/costs")
async def shipment_costs(shipment_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    s = state.ml.shipments.get(shipment_id)
    if s is None:
        raise not_found(f"Shipment not found: {shipment_id}")
    if s.seller_id != user:
        raise MLHTTPError(403, "forbidden", "The user has not access to the shipment")
    return {
        "gross_amount": money(s.gross_amount),
        "receiver": {
            "user_id": s.buyer_id,
            "cost": money(s.receiver_cost),
            "compensation": 0,
            "discounts": [],
        },
        "senders": [
            {
                "user_id": s.seller_id,
                "cost": money(s.sender_cost),
                "compensation": 0,
                "discounts": (
                    [{"rate": 0.5, "type": "mandatory", "promoted_amount": money(s.sender_cost)}]
                    if s.sender_cost
                    else []
                ),
            }
        ],
    }


@api_router.get("/items/{item_id}")
async def item_get(item_id: str, state: StateDep, user: UserDep) -> dict[str, Any]:
    item = state.ml.items.get(item_id)
    if item is None:
        raise not_found(f"Item with id {item_id} not found")
    return item.render()


@api_router.get("/missed_feeds")
async def missed_feeds(request: Request, state: StateDep, user: UserDep) -> dict[str, Any]:
    q = request.query_params
    if q.get("app_id") not in (str(SANDBOX_APPLICATION_ID), ML_CLIENT_ID):
        raise MLHTTPError(403, "forbidden", "The app_id does not belong to the caller")
    topic = q.get("topic")
    if topic == "items" and not q.get("site_id"):
        raise MLHTTPError(400, "bad_request", "site_id is required for topic items")
    try:
        offset, limit = int(q.get("offset", "0")), int(q.get("limit", "10"))
    except ValueError as exc:
        raise MLHTTPError(400, "bad_request", "Invalid offset or limit") from exc
    # Reading does not consume: entries stay until they expire.
    messages = [m for m in state.ml.missed_feeds if topic is None or m["topic"] == topic]
    return {"messages": messages[offset : offset + limit]}


@api_router.get("/post-purchase/v1/claims/search")
async def claims_search(request: Request, state: StateDep, user: UserDep) -> dict[str, Any]:
    """Claims of the seller, by order (`resource=order&resource_id=` or `order_id=`) or by
    player. MercadoLibre answers 400 to `resource_id` without `resource` and to a search with
    no filter at all (its claims documentation, "Buscar reclamos")."""
    q = request.query_params
    if "resource_id" in q and "resource" not in q:
        raise MLHTTPError(400, "bad_request", "resource is required with resource_id")
    order_ref = q.get("order_id") or (
        q.get("resource_id") if q.get("resource") == "order" else None
    )
    if order_ref is None and "players.user_id" not in q:
        raise MLHTTPError(400, "bad_request", "At least one filter is required")
    try:
        offset, limit = int(q.get("offset", "0")), min(int(q.get("limit", "30")), 100)
        order_id = int(order_ref) if order_ref is not None else None
    except ValueError as exc:
        raise MLHTTPError(400, "bad_request", "Invalid request parameters") from exc
    found = [
        c
        for c in state.ml.claims.values()
        if c.seller_id == user and (order_id is None or c.order_id == order_id)
    ]
    return {
        "paging": {"total": len(found), "offset": offset, "limit": limit},
        "data": [render_claim(c) for c in found[offset : offset + limit]],
    }


@api_router.get("/post-purchase/v1/claims/{claim_id}")
async def claim_get(claim_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    claim = state.ml.claims.get(claim_id)
    if claim is None:
        raise not_found(f"Claim not found: {claim_id}")
    if claim.seller_id != user:
        raise MLHTTPError(403, "forbidden", "The user has not access to the claim")
    return render_claim(claim)


@api_router.get("/post-purchase/v2/claims/{claim_id}/returns")
async def claim_returns(claim_id: int, state: StateDep, user: UserDep) -> dict[str, Any]:
    claim = state.ml.claims.get(claim_id)
    if claim is None or not claim.has_return:
        raise not_found(f"Return not found for claim: {claim_id}")
    if claim.seller_id != user:
        raise MLHTTPError(403, "forbidden", "The user has not access to the claim")
    return render_return(claim)


@api_router.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False
)
async def ml_not_found(path: str) -> JSONResponse:
    raise not_found(f"resource /{path} not found")
