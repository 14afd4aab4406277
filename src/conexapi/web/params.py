"""Reading the dashboard's query-string inputs, where an empty field means "not given"."""

from __future__ import annotations

from datetime import date

from conexapi.core.errors import Unprocessable


def optional_date(value: str | None) -> date | None:
    """`AAAA-MM-DD` → a date; empty → None; anything else → 422 `invalid_date`."""
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise Unprocessable("Fecha no válida (use AAAA-MM-DD).", code="invalid_date") from exc
