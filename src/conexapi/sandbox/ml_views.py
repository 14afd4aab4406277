"""MercadoLibre renderings that need more than one record (shipments, claims) + fiscal uploads."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile

from conexapi.sandbox.clock import ml_time, money
from conexapi.sandbox.constants import SITE_ID
from conexapi.sandbox.ml_errors import MLHTTPError, forbidden_order, not_found
from conexapi.sandbox.ml_models import Claim, Shipment
from conexapi.sandbox.ml_state import MercadoLibreState

if TYPE_CHECKING:
    from fastapi import Request

    from conexapi.sandbox.state import SandboxState

MAX_PDF_BYTES = 1024 * 1024


def render_shipment(ml: MercadoLibreState, s: Shipment) -> dict[str, Any]:
    """New (x-format-new) shape; the buyer address is hidden until the order is paid."""
    orders = [ml.orders[o] for o in s.order_ids if o in ml.orders]
    paid = any(o.payment.status in ("approved", "refunded") for o in orders)
    buyer = orders[0].buyer if orders else None
    billing = buyer.billing if buyer else None
    address: dict[str, Any] | None = None
    if paid:
        address = {
            "street_name": billing.street_name if billing else "Calle 1",
            "street_number": billing.street_number if billing else "#1-1",
            "zip_code": billing.zip_code if billing else "110111",
            "city": {"id": None, "name": s.city_name},
            "state": {"id": None, "name": s.state_name},
            "neighborhood": {"id": None, "name": billing.neighborhood if billing else None},
            "comment": billing.comment if billing else None,
        }
    cost_type = "charged" if s.receiver_cost > 0 else "free"
    return {
        "id": s.id,
        "status": s.status,
        "substatus": None,
        "tracking_number": None,
        "tracking_method": None,
        "logistic": {"mode": "me2", "type": s.logistic_type, "direction": "forward"},
        "lead_time": {
            "cost": money(s.receiver_cost),
            "list_cost": money(s.gross_amount),
            "cost_type": cost_type,
            "currency_id": "COP",
            "shipping_method": {"id": 509245, "name": "Normal a domicilio", "type": "standard"},
        },
        "origin": {"type": "seller_address", "sender_id": s.seller_id},
        "destination": {
            "type": "buyer_address",
            "receiver_id": s.buyer_id,
            "receiver_name": f"{buyer.first_name} {buyer.last_name or ''}".strip()
            if buyer and paid
            else None,
            "receiver_phone": "XXXXXXX" if paid else None,  # masked in CO
            "shipping_address": address,
        },
        "source": {"site_id": SITE_ID, "market_place": "MELI"},
        "items_types": ["new"],
        "tags": [],
        "date_created": ml_time(s.date_created),
        "last_updated": ml_time(s.last_updated),
    }


def render_claim(c: Claim) -> dict[str, Any]:
    partial = c.return_quantity < c.total_quantity
    if c.covered:
        reason = "coverage_decision"
    elif c.has_return:
        reason = "partial_refunded" if partial else "payment_refunded"
    else:
        reason = "partial_refunded"
    return {
        "id": c.id,
        "resource": "order",
        "resource_id": c.order_id,
        "status": c.status,
        "type": "mediations",
        "stage": "dispute" if c.covered else "claim",
        "parent_id": None,
        "reason_id": "PDD9939",
        "fulfilled": True,
        "quantity_type": "partial" if partial else "total",
        "claimed_quantity": c.return_quantity,
        "players": [
            {
                "role": "complainant",
                "type": "buyer",
                "user_id": c.buyer_id,
                "available_actions": [],
            },
            {
                "role": "respondent",
                "type": "seller",
                "user_id": c.seller_id,
                "available_actions": [],
            },
        ],
        "resolution": {
            "reason": reason,
            "date_created": ml_time(c.last_updated),
            "benefited": ["complainant"],
            "closed_by": "mediator",
            "applied_coverage": c.covered,
        },
        "related_entities": ["return"] if c.has_return else [],
        "site_id": SITE_ID,
        "date_created": ml_time(c.date_created),
        "last_updated": ml_time(c.last_updated),
        "claim_version": 2,
    }


def render_return(c: Claim) -> dict[str, Any]:
    partial = c.return_quantity < c.total_quantity
    return {
        "id": c.id + 1,
        "claim_id": c.id,
        "type": "claim",
        "subtype": "return_partial" if partial else "return_total",
        "status": "delivered",
        "status_money": "refunded",
        "refund_at": "delivered",
        "resource_type": "order",
        "orders": [
            {
                "order_id": c.order_id,
                "item_id": c.item_id,
                "variation_id": c.variation_id,
                "context_type": "partial" if partial else "total",
                # ML sends these quantities as strings like "1.0".
                "total_quantity": f"{c.total_quantity}.0",
                "return_quantity": f"{c.return_quantity}.0",
            }
        ],
        "shipments": [],
        "date_created": ml_time(c.date_created),
        "date_closed": ml_time(c.last_updated),
        "last_updated": ml_time(c.last_updated),
    }


def check_fiscal_target(state: SandboxState, target_id: int, user: int) -> None:
    """The path takes a pack id, or an order id when the order has no pack."""
    ml = state.ml
    pack = ml.packs.get(target_id)
    if pack is not None:
        if pack.seller_id != user:
            raise forbidden_order()
        return
    order = ml.orders.get(target_id)
    if order is None:
        raise not_found(f"Pack not found: {target_id}")
    if order.seller_id != user:
        raise forbidden_order()
    if order.pack_id is not None:
        raise MLHTTPError(400, "bad_request", "The order belong to a pack/purchase")


async def upload_fiscal_documents(
    state: SandboxState, target_id: int, user: int, request: Request
) -> dict[str, Any]:
    check_fiscal_target(state, target_id, user)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise MLHTTPError(400, "bad_request", "Content-Type must be multipart/form-data")
    async with request.form() as form:
        files = [f for f in form.getlist("fiscal_document") if isinstance(f, UploadFile)]
        if not files:
            raise MLHTTPError(400, "bad_request", "fiscal_document is required")
        existing = state.ml.fiscal_documents[target_id]
        staged: list[dict[str, Any]] = []
        for upload in files:
            name = upload.filename or ""
            if not name.strip():
                raise MLHTTPError(400, "bad_request", "The filename can not be empty")
            content = await upload.read()
            lower = name.lower()
            if lower.endswith(".pdf") or upload.content_type == "application/pdf":
                file_type = "PDF"
                if len(content) > MAX_PDF_BYTES:
                    raise MLHTTPError(
                        400, "bad_request", "The file exceeds the maximum size of 1MB"
                    )
            elif lower.endswith(".xml") or upload.content_type in ("application/xml", "text/xml"):
                file_type = "XML"
            else:
                raise MLHTTPError(400, "bad_request", "Invalid file type, only PDF and XML")
            if any(d["file_type"] == file_type for d in existing + staged):
                raise MLHTTPError(
                    409,
                    "conflict",
                    f"Error, a file already exists for this pack of the type {file_type}",
                )
            staged.append(
                {
                    "id": f"{user}_{uuid.uuid4()}",
                    "date": ml_time(state.clock.now()),
                    "file_type": file_type,
                    "filename": name,
                    "size": len(content),
                }
            )
    existing.extend(staged)
    return {"ids": [d["id"] for d in staged]}
