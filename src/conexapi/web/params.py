"""Reading the dashboard's query-string inputs, where an empty field means "not given"."""

from __future__ import annotations

from datetime import date

from conexapi.core.errors import Unprocessable
from conexapi.db import MAX_DATE, MIN_DATE


def optional_date(value: str | None) -> date | None:
    """`AAAA-MM-DD` → a date; empty → None; anything else → 422 `invalid_date`."""
    if not value:
        return None
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable("Fecha no válida (use AAAA-MM-DD).", code="invalid_date") from exc
    if not MIN_DATE <= parsed <= MAX_DATE:
        raise Unprocessable(
            f"Fecha fuera de rango (entre {MIN_DATE.isoformat()} y {MAX_DATE.isoformat()}).",
            code="invalid_date",
        )
    return parsed
