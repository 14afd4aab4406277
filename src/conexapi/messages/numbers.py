"""Numbers, money and dates the way a Colombian reader writes them: "1.230", "$ 1.234,50",
"30/11/2026". Pages, exports and the sentences of the catalogue all use these."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["cop", "dmy", "integer", "to_decimal"]


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None


def _group(whole: int) -> str:
    return f"{whole:,}".replace(",", ".")


def cop(value: Any, *, empty: str = "—") -> str:
    """Colombian pesos: "$ 129.700"; cents only when there are any ("$ 1.234,50")."""
    amount = to_decimal(value)
    if amount is None:
        return empty
    sign = "-" if amount < 0 else ""
    amount = abs(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    whole, cents = divmod(amount, 1)
    grouped = _group(int(whole))
    if cents:
        grouped += "," + f"{int(cents * 100):02d}"
    return f"{sign}$ {grouped}"


def integer(value: Any) -> str:
    """A count with the thousands point: 1230 → "1.230"."""
    amount = to_decimal(value)
    if amount is None:
        return "—"
    sign = "-" if amount < 0 else ""
    return sign + _group(int(abs(amount)))


def dmy(value: date | datetime | str | None) -> str:
    """dd/mm/aaaa (an ISO "2026-11-30" string is accepted too)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            return value
    else:
        day = value
    return f"{day.day:02d}/{day.month:02d}/{day.year}"
