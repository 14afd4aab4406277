"""The breaker per Siigo company: ConexAPI never walks an API user into Siigo's block.

Siigo blocks an API user when more than 80 % of its requests fail over 7 days
(docs/vendors/siigo.md §3). Every document ConexAPI sends to a company (invoice, credit note,
customer) is counted per hour in `siigo_tally`, with whether Siigo refused it (a validation or
business error: a passing 5xx or a 429 is not the user's failure). When, over the last
`CONEXAPI_BREAKER_WINDOW_HOURS`, at least `CONEXAPI_BREAKER_MIN_REQUESTS` were sent and the
share refused reached `CONEXAPI_BREAKER_REFUSED_SHARE` (50 % by default, far below 80 %),
sending to that company pauses: its sales wait (`siigo_paused`), the seller is alerted with the
reasons (`alerts`), and sending resumes only when a person acts (`resume`: the API's
`POST /api/v1/connections/{id}/resume`, the dashboard's "Reanudar el envío a Siigo" button).
After a resume, only what is sent from then on counts, so the person's fix is judged on its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.models import Connection, SiigoTally
from conexapi.core.errors import PermanentError
from conexapi.db import naive_utc, retry_on_lock_conflict, utcnow
from conexapi.integrations.models import Integration
from conexapi.messages import text
from conexapi.sync.models import Sale
from conexapi.sync.policy import SIIGO_TRANSIENT_CODES

if TYPE_CHECKING:
    from conexapi.runtime import Runtime
    from conexapi.settings import WorkerSection

log = structlog.get_logger("conexapi.breaker")

T = TypeVar("T")

PAUSED_CODE = "siigo_paused"
RESUMED_AT = "breaker_resumed_at"
# Refusal codes kept per hour, to tell the seller why.
KEPT_CODES = 5


@dataclass(frozen=True)
class Limits:
    window: timedelta
    min_requests: int
    refused_share: float

    @classmethod
    def from_settings(cls, worker: WorkerSection) -> Limits:
        return cls(
            window=timedelta(hours=worker.breaker_window_hours),
            min_requests=worker.breaker_min_requests,
            refused_share=worker.breaker_refused_share,
        )


def refusal_code(exc: BaseException) -> str | None:
    """The code of a refusal that counts against the API user, or None (a success, a passing
    failure, a 429)."""
    if not isinstance(exc, PermanentError) or exc.vendor != "siigo":
        return None
    code = exc.vendor_code or "rejected"
    return None if code in SIIGO_TRANSIENT_CODES else code


async def guarded(runtime: Runtime, connection_id: int, call: Callable[[], Awaitable[T]]) -> T:
    """Sends one document to a Siigo company, counting how Siigo answered."""
    try:
        result = await call()
    except Exception as exc:
        code = refusal_code(exc)
        if code is not None:
            await record(runtime, connection_id, refused=code)
        raise
    await record(runtime, connection_id, refused=None)
    return result


async def record(runtime: Runtime, connection_id: int, *, refused: str | None) -> None:
    """Counts one document sent (refused: with its code), and trips the breaker when the
    refused share has climbed too high. Best effort: a failure to count never fails the sale."""

    async def write() -> None:
        async with runtime.sessions() as session:
            await tally(session, connection_id, utcnow(), refused=refused)
            if refused is not None:
                await trip_if_needed(
                    session, connection_id, Limits.from_settings(runtime.settings.worker)
                )
            await session.commit()

    try:
        await retry_on_lock_conflict(write)
    except Exception as exc:
        log.warning("breaker.record_failed", connection_id=connection_id, error=str(exc))


async def tally(
    session: AsyncSession, connection_id: int, now: datetime, *, refused: str | None
) -> None:
    """One atomic upsert of the company's row for this hour (no read-then-write: concurrent
    workers never deadlock on it)."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    row = {
        "connection_id": connection_id,
        "hour": hour,
        "sent": 1,
        "refused": 1 if refused is not None else 0,
        "last_codes": [refused] if refused is not None else [],
    }
    increments: dict[str, Any] = {"sent": SiigoTally.sent + 1}
    if refused is not None:
        increments["refused"] = SiigoTally.refused + 1
    dialect = session.bind.dialect.name if session.bind is not None else ""
    if dialect == "sqlite":
        stmt: Any = (
            sqlite_insert(SiigoTally)
            .values(**row)
            .on_conflict_do_update(index_elements=["connection_id", "hour"], set_=increments)
        )
    else:
        stmt = mysql_insert(SiigoTally).values(**row).on_duplicate_key_update(**increments)
    await session.execute(stmt)
    if refused is not None:
        where = (SiigoTally.connection_id == connection_id, SiigoTally.hour == hour)
        current = (await session.execute(select(SiigoTally).where(*where))).scalar_one()
        codes = list(current.last_codes or [])
        inserted_now = current.refused == 1 and codes == [refused]
        if not inserted_now:
            current.last_codes = [*codes[-(KEPT_CODES - 1) :], refused]


@dataclass(frozen=True)
class Share:
    sent: int
    refused: int
    codes: list[str]

    @property
    def ratio(self) -> float:
        return self.refused / self.sent if self.sent else 0.0


async def share(session: AsyncSession, connection_id: int, *, since: datetime) -> Share:
    """What was sent to the company since `since` (hour buckets that end after it)."""
    start = since.replace(minute=0, second=0, microsecond=0)
    rows = (
        await session.execute(
            select(SiigoTally.sent, SiigoTally.refused, SiigoTally.last_codes)
            .where(SiigoTally.connection_id == connection_id, SiigoTally.hour >= start)
            .order_by(SiigoTally.hour)
        )
    ).all()
    codes: list[str] = []
    for _, _, last in rows:
        codes.extend(str(c) for c in last or [])
    return Share(
        sent=sum(int(r[0]) for r in rows),
        refused=sum(int(r[1]) for r in rows),
        codes=codes[-KEPT_CODES:],
    )


async def trip_if_needed(session: AsyncSession, connection_id: int, limits: Limits) -> bool:
    """Pauses sending to the company when its refused share reached the limit. Returns whether
    it did now."""
    conn = await session.get(Connection, connection_id, with_for_update=True)
    if conn is None or conn.paused_at is not None:
        return False
    now = utcnow()
    since = now - limits.window
    resumed = _moment((conn.meta or {}).get(RESUMED_AT))
    if resumed is not None and resumed > since:
        since = resumed
    seen = await share(session, connection_id, since=since)
    if seen.sent < limits.min_requests or seen.ratio < limits.refused_share:
        return False
    conn.paused_at = now
    conn.pause_reason = text(
        "breaker.paused",
        refused=seen.refused,
        sent=seen.sent,
        percent=round(seen.ratio * 100),
        codes=", ".join(dict.fromkeys(seen.codes)) or "—",
    )
    log.warning(
        "breaker.tripped",
        connection_id=connection_id,
        sent=seen.sent,
        refused=seen.refused,
        codes=seen.codes,
    )
    return True


async def resume(session: AsyncSession, connection_id: int) -> int:
    """A person resumed sending to the company: the pause is lifted, what was sent before no
    longer counts, and the sales it held are due now. Returns how many. The caller commits."""
    conn = await session.get(Connection, connection_id, with_for_update=True)
    if conn is None:
        return 0
    now = utcnow()
    conn.paused_at = None
    conn.pause_reason = None
    conn.meta = {**(conn.meta or {}), RESUMED_AT: now.isoformat()}
    integrations = select(Integration.id).where(Integration.siigo_connection_id == connection_id)
    result = await session.execute(
        update(Sale)
        .where(Sale.integration_id.in_(integrations), Sale.error_code == PAUSED_CODE)
        .values(next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    log.info("breaker.resumed", connection_id=connection_id)
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def paused_count(session: AsyncSession, connection_id: int) -> int:
    integrations = select(Integration.id).where(Integration.siigo_connection_id == connection_id)
    return int(
        (
            await session.execute(
                select(func.count(Sale.id)).where(
                    Sale.integration_id.in_(integrations), Sale.error_code == PAUSED_CODE
                )
            )
        ).scalar_one()
    )


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return naive_utc(datetime.fromisoformat(value))
    except ValueError:
        return None
