"""Colombian time: Siigo refuses electronic documents dated before "today" in Colombia (UTC-5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

COLOMBIA = timezone(timedelta(hours=-5), "America/Bogota")


def colombia_today(now: datetime | None = None) -> date:
    moment = now or datetime.now(UTC)
    return moment.astimezone(COLOMBIA).date()


def colombia_date(moment: datetime) -> date:
    """The calendar date of `moment` in Colombia; a naive datetime is UTC (as stored)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(COLOMBIA).date()
