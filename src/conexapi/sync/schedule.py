"""The seller sees the schedule: why a sale is not being worked on right now, and until when.

A sale deferred (a vendor's limit), retrying (a passing failure), waiting for vendor data on a
schedule (billing info still PROCESSING, a shipping cost), for a permission, or held by the
breaker of its Siigo company, carries an error code and a due time; `describe` turns both into
the Spanish line its row and detail show ("esperando el límite de Siigo, ~4 min"). Timeline
entries of those steps keep the same two facts in their data (`schedule_data`).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conexapi.messages import text

# Which wait each code is (a key of the catalogue: "schedule.<wait>").
WAITS = {
    "rate_limited": "vendor_limit",
    "siigo_rate_deferred": "siigo_limit",
    "token_renewal_pending": "token_renewal",
    "transient_error": "passing_failure",
    "integration_error": "passing_failure",
    "internal_error": "passing_failure",
    "billing_processing": "billing_processing",
    "shipping_unknown": "shipping_unknown",
    "mercadolibre_needs_permission": "permission",
    "siigo_paused": "siigo_paused",
}


def schedule_data(code: str | None, until: datetime | None) -> dict[str, Any]:
    """What a timeline entry of a scheduled wait keeps: which wait, and until when (UTC ISO)."""
    if code is None or until is None:
        return {}
    aware = until if until.tzinfo is not None else until.replace(tzinfo=UTC)
    return {"wait": code, "until": aware.isoformat()}


def wait_label(code: str | None, vendor: str | None = None) -> str | None:
    """The Spanish name of a wait ("esperando el límite de Siigo"), or None when `code` is no
    scheduled wait."""
    wait = WAITS.get(code or "")
    if wait is None:
        return None
    return text(f"schedule.{wait}", vendor=vendor or "el proveedor")


def approx(delta: timedelta) -> str:
    """A wait as a seller reads it: "~40 s", "~4 min", "~3 h", "~2 días"."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return text("schedule.seconds", n=max(1, seconds))
    minutes = round(seconds / 60)
    if minutes < 60:
        return text("schedule.minutes", n=minutes)
    hours = round(seconds / 3600)
    if hours < 48:
        return text("schedule.hours", n=hours)
    return text("schedule.days", n=round(seconds / 86400))


def describe(
    code: str | None,
    until: datetime | None,
    now: datetime,
    *,
    vendor: str | None = None,
) -> str | None:
    """ "esperando el límite de Siigo, ~4 min": why the sale waits and for how long; None when it
    is not in a scheduled wait, or when its time has come (it is about to be worked on)."""
    label = wait_label(code, vendor)
    if label is None:
        return None
    if until is None:
        return text("schedule.until_someone_acts", wait=label)
    if until <= now:
        return text("schedule.now", wait=label)
    return text("schedule.for", wait=label, wait_for=approx(until - now))


def vendor_of(message: str | None) -> str | None:
    """Which vendor a deferral's message names (the messages say "Siigo ..." or
    "MercadoLibre ...")."""
    if not message:
        return None
    for vendor in ("Siigo", "MercadoLibre"):
        if message.startswith(vendor) or f"con {vendor}" in message:
            return vendor
    return None
