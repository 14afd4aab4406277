"""Tolerant readers of MercadoLibre JSON values: numbers may be int, float or str, any key may be
null or missing. Money becomes `Decimal(str(x))`, never a float."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal("0")


def to_decimal(value: Any, default: Decimal = ZERO) -> Decimal:
    """Decimal from an int/float/str JSON number; `default` for null, bool or garbage."""
    if value is None or isinstance(value, bool):
        return default
    try:
        result = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return default
    return result if result.is_finite() else default


def str_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() or None


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def parse_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
