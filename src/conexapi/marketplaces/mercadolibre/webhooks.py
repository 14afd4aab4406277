"""`POST /webhooks/mercadolibre`: validate, record once, make the sale due, answer 200 at once."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError

from conexapi.api.deps import RuntimeDep, SessionDep
from conexapi.core.errors import AppError
from conexapi.core.metrics import NOTIFICATIONS
from conexapi.inbox.service import MeliNotification, record_notification

router = APIRouter(tags=["webhooks"])

MAX_NOTIFICATION_BYTES = 16_384


@router.post("/webhooks/mercadolibre")
async def mercadolibre_notification(
    request: Request, session: SessionDep, runtime: RuntimeDep
) -> dict[str, Any]:
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
    result = await record_notification(session, payload, raw, application_id=expected_app)
    # SessionDep commits before this response leaves: a 200 means the notification is stored.
    return {"status": result.status, **({"reason": result.reason} if result.reason else {})}
