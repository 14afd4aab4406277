"""`POST /webhooks/mercadolibre`: validate, record once, make the sale due, answer 200 at once."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from conexapi.api.deps import RuntimeDep
from conexapi.core.errors import AppError
from conexapi.core.metrics import NOTIFICATIONS
from conexapi.inbox.batcher import IntakeBatcher
from conexapi.inbox.service import MeliNotification
from conexapi.runtime import Runtime

router = APIRouter(tags=["webhooks"])


def intake_batcher(runtime: Runtime) -> IntakeBatcher:
    batcher = runtime.extras.get("intake")
    if not isinstance(batcher, IntakeBatcher):
        batcher = IntakeBatcher(runtime.sessions)
        runtime.extras["intake"] = batcher
    return batcher


MAX_NOTIFICATION_BYTES = 16_384


@router.post("/webhooks/mercadolibre")
async def mercadolibre_notification(request: Request, runtime: RuntimeDep) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_NOTIFICATION_BYTES:
        NOTIFICATIONS.labels("rejected_too_large").inc()
        raise AppError("Notification body too large.", code="payload_too_large", status_code=413)
    try:
        raw = json.loads(body)
        if not isinstance(raw, dict):
            raise ValueError("not an object")
        payload = MeliNotification.model_validate(raw)
    except (ValueError, ValidationError) as exc:
        NOTIFICATIONS.labels("rejected_malformed").inc()
        raise AppError(
            "Not a MercadoLibre notification: expected JSON with resource, user_id, topic and "
            "application_id.",
            code="invalid_notification",
            status_code=400,
        ) from exc
    settings = runtime.settings.mercadolibre
    expected_app = settings.application_id or (
        settings.client_id if settings.client_id and settings.client_id.isdigit() else None
    )
    if expected_app is not None and str(payload.application_id) != expected_app:
        NOTIFICATIONS.labels("ignored_foreign_application").inc()
        return {"status": "ignored", "reason": "foreign_application"}
    # Answered only after the batch holding this notification is committed: a 200 means stored.
    result = await intake_batcher(runtime).submit(payload, raw)
    return {"status": result.status, **({"reason": result.reason} if result.reason else {})}
