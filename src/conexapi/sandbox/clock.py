"""The sandbox clock: real time shifted by a control-settable number of days."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

COLOMBIA_TZ = timezone(timedelta(hours=-5), "COT")
CENT = Decimal("0.01")


class Clock:
    def __init__(self, offset_days: int = 0) -> None:
        self.offset_days = offset_days

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(days=self.offset_days)

    def colombia_today(self) -> date:
        # Siigo validates document dates against the Colombian calendar day (UTC-5).
        return self.now().astimezone(COLOMBIA_TZ).date()


def ml_time(dt: datetime | None) -> str | None:
    """MercadoLibre timestamps: ISO-8601 with ms and the -05:00 offset."""
    if dt is None:
        return None
    return dt.astimezone(COLOMBIA_TZ).isoformat(timespec="milliseconds")


def utc_z(dt: datetime) -> str:
    """Notification timestamps are UTC with a Z suffix."""
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_time(value: str) -> datetime | None:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=COLOMBIA_TZ)
    return dt


def money(value: Decimal | None) -> int | float | None:
    """Render a Decimal as a JSON number: int when whole (COP usually is), float otherwise."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
