"""What a person decides for a sale, kept on the sale (`Sale.manual`) and honoured by the engine.

- "Facturada por fuera / no facturar" (`mark_invoiced_elsewhere`): the seller invoiced the sale
  by hand (or does not want it invoiced). The sale becomes `skipped` with the reason
  `invoiced_elsewhere`, with who, when and why in its timeline. ConexAPI never issues a
  document for it; MercadoLibre can still refund it, and then the sale says so
  (`invoiced_elsewhere_refunded`) and an alert asks the seller to issue the credit note
  themselves: ConexAPI never credits an invoice it did not issue. Only sales without any
  document can be marked (nothing was sent to Siigo for them).
- Who the invoice goes to (`set_buyer`): the buyer gave no fiscal data (or data Siigo refuses),
  and the seller chose "consumidor final" or typed a CC/NIT (validated, NIT check digit
  included). The sale is retried at once with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.core.errors import Conflict, NotFound, Unprocessable
from conexapi.db import utcnow
from conexapi.erps.siigo.identification import (
    InvalidIdentification,
    UnknownIdType,
    nit_check_digit,
    normalize_identification,
    siigo_id_type,
    split_nit,
)
from conexapi.messages import text
from conexapi.sales.clock import COLOMBIA
from conexapi.sales.facts import SaleFacts
from conexapi.sales.states import RETRYABLE_BY_HAND, SaleState
from conexapi.sales.step import EventKind, Step
from conexapi.sync import queue
from conexapi.sync.models import Document, Sale

INVOICED_ELSEWHERE = queue.INVOICED_ELSEWHERE
REFUNDED_ELSEWHERE = "invoiced_elsewhere_refunded"
ELSEWHERE_CODES = (INVOICED_ELSEWHERE, REFUNDED_ELSEWHERE)
# A sale can be marked while nothing was invoiced for it by ConexAPI.
MARKABLE = frozenset(
    {
        SaleState.PENDING.value,
        SaleState.WAITING.value,
        SaleState.RETRYING.value,
        SaleState.NEEDS_ATTENTION.value,
        SaleState.DEAD.value,
        SaleState.SKIPPED.value,
    }
)
MAX_BULK = 10_000
BUYER_ID_TYPES = ("CC", "NIT", "CE", "PASAPORTE")
BUYER_FIXABLE = frozenset({"missing_fiscal_data", "invalid_buyer_identification"})


def is_elsewhere(manual: dict[str, Any] | None) -> bool:
    return bool((manual or {}).get(INVOICED_ELSEWHERE))


def elsewhere_message(mark: dict[str, Any]) -> str:
    reason = str(mark.get("reason") or "").strip()
    return text(
        "manual.elsewhere_state",
        user=mark.get("by", ""),
        reason=reason or text("manual.elsewhere_no_reason"),
    )


async def _markable_ids(session: AsyncSession, stmt: Any) -> list[int]:
    """Of the sales selected, those that can be marked: a markable state, not marked already,
    and no document of any kind (nothing was sent to Siigo for them)."""
    has_document = exists().where(Document.sale_id == Sale.id)
    rows = await session.execute(
        stmt.where(
            Sale.state.in_(MARKABLE),
            ~has_document,
            (Sale.error_code.is_(None)) | (Sale.error_code.notin_(ELSEWHERE_CODES)),
        ).limit(MAX_BULK)
    )
    return [int(r) for r in rows.scalars()]


def _range_stmt(tenant_id: int, integration_id: int | None, start: Any, end: Any) -> Any:
    day = Sale.sale_date
    stmt = select(Sale.id).where(
        Sale.tenant_id == tenant_id,
        Sale.sale_date.is_not(None),
        day >= start,
        day < end,
    )
    if integration_id is not None:
        stmt = stmt.where(Sale.integration_id == integration_id)
    return stmt


def _bounds(date_from: date, date_to: date) -> tuple[Any, Any]:
    if date_to < date_from:
        raise Unprocessable("date_to must not be before date_from.", code="invalid_date_range")
    start = datetime.combine(date_from, time(0), tzinfo=COLOMBIA)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=COLOMBIA)
    return start, end


async def count_markable(
    session: AsyncSession,
    *,
    tenant_id: int,
    date_from: date,
    date_to: date,
    integration_id: int | None = None,
) -> int:
    """How many sales of the range (by sale date, Colombia) a bulk mark would change."""
    start, end = _bounds(date_from, date_to)
    return len(await _markable_ids(session, _range_stmt(tenant_id, integration_id, start, end)))


async def mark_invoiced_elsewhere(
    session: AsyncSession,
    *,
    tenant_id: int,
    user: str,
    reason: str = "",
    sale_ids: Sequence[int] | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    integration_id: int | None = None,
    expected: int | None = None,
) -> int:
    """Marks sales "facturada por fuera": one sale, a list, or every sale of a date range.

    With `expected` (the count the person confirmed), nothing changes when the count differs
    (`count_changed`): the person confirms again with the new count. Returns how many sales
    were marked."""
    reason = reason.strip()[:300]
    if sale_ids is not None:
        stmt = select(Sale.id).where(Sale.tenant_id == tenant_id, Sale.id.in_(list(sale_ids)))
    elif date_from is not None and date_to is not None:
        start, end = _bounds(date_from, date_to)
        stmt = _range_stmt(tenant_id, integration_id, start, end)
    else:
        raise Unprocessable("Give sale ids or a date range.", code="invalid_selection")
    ids = await _markable_ids(session, stmt)
    if expected is not None and expected != len(ids):
        raise Conflict(
            f"{len(ids)} sales match now, not {expected}: confirm again.",
            code="count_changed",
            details={"count": len(ids)},
        )
    if not ids:
        return 0
    # Locked, then checked again: a worker that committed an invoice row meanwhile wins, and a
    # worker holding a sale loses its lease (its next write is dropped, nothing is sent).
    locked = list(
        (
            await session.execute(
                select(Sale).where(Sale.id.in_(ids)).order_by(Sale.id).with_for_update()
            )
        ).scalars()
    )
    still = set(await _markable_ids(session, select(Sale.id).where(Sale.id.in_(ids))))
    now = utcnow()
    mark = {"by": user, "at": now.isoformat(), "reason": reason}
    marked = 0
    for sale in locked:
        if sale.id not in still:
            continue
        sale.manual = {**(sale.manual or {}), INVOICED_ELSEWHERE: mark}
        sale.state = SaleState.SKIPPED.value
        sale.error_code = INVOICED_ELSEWHERE
        sale.error_message = elsewhere_message(mark)
        sale.next_attempt_at = None
        sale.lease_owner = None
        sale.lease_until = None
        queue.add_event(
            session,
            sale,
            kind=EventKind.SKIPPED,
            message=text(
                "manual.elsewhere_event",
                user=user,
                reason=reason or text("manual.elsewhere_no_reason"),
            ),
            data={"reason": INVOICED_ELSEWHERE, "by": user, "note": reason},
        )
        marked += 1
    await session.flush()
    return marked


async def unmark_invoiced_elsewhere(
    session: AsyncSession, *, tenant_id: int, sale_id: int, user: str
) -> Sale:
    """Undoes the mark: the sale is processed again like any other (it may be invoiced)."""
    sale = await _sale(session, tenant_id, sale_id)
    if not is_elsewhere(sale.manual):
        raise Conflict("The sale is not marked as invoiced elsewhere.", code="not_marked")
    if sale.error_code == REFUNDED_ELSEWHERE:
        raise Conflict(
            "MercadoLibre refunded this sale: it cannot be invoiced now.", code="refunded_elsewhere"
        )
    manual = dict(sale.manual or {})
    manual.pop(INVOICED_ELSEWHERE, None)
    sale.manual = manual or None
    sale.state = SaleState.PENDING.value
    sale.error_code = None
    sale.error_message = None
    sale.attempts = 0
    sale.next_attempt_at = utcnow()
    queue.add_event(
        session, sale, kind=EventKind.RETRY_REQUESTED, message=text("manual.unmarked", user=user)
    )
    await session.flush()
    return sale


async def acknowledge_refund(
    session: AsyncSession, *, tenant_id: int, sale_id: int, user: str
) -> Sale:
    """The seller says they handled the refund of a sale invoiced elsewhere (their own credit
    note): the sale is back to `invoiced_elsewhere` and its alert resolves."""
    sale = await _sale(session, tenant_id, sale_id)
    if sale.error_code != REFUNDED_ELSEWHERE:
        raise Conflict("The sale has no refund to acknowledge.", code="no_refund_to_acknowledge")
    manual = dict(sale.manual or {})
    mark = dict(manual.get(INVOICED_ELSEWHERE) or {})
    mark["refund_acknowledged_total"] = str(refunded_total(sale.facts))
    mark["refund_acknowledged_by"] = user
    mark["refund_acknowledged_at"] = utcnow().isoformat()
    manual[INVOICED_ELSEWHERE] = mark
    sale.manual = manual
    sale.error_code = INVOICED_ELSEWHERE
    sale.error_message = elsewhere_message(mark)
    queue.add_event(
        session,
        sale,
        kind=EventKind.CHECKED,
        message=text("manual.refund_acknowledged", user=user),
    )
    await session.flush()
    return sale


def refunded_total(facts: dict[str, Any] | None) -> Decimal:
    """What MercadoLibre gave back on the sale, from its stored facts."""
    total = Decimal("0")
    for refund in (facts or {}).get("refunds") or []:
        total += Decimal(str(refund.get("amount") or "0"))
    return total


def elsewhere_step(code: str | None, manual: dict[str, Any], facts: SaleFacts) -> Step:
    """A sale the seller invoiced elsewhere, looked at again: it stays `skipped`; a refund not
    acknowledged yet becomes `invoiced_elsewhere_refunded` (an alert asks the seller to issue
    the credit note in Siigo themselves). Never a document."""
    mark = dict(manual.get(INVOICED_ELSEWHERE) or {})
    refunded = sum((r.amount for r in facts.refunds), Decimal("0"))
    acknowledged = Decimal(str(mark.get("refund_acknowledged_total") or "0"))
    if refunded > acknowledged:
        message = text("manual.elsewhere_refunded", amount=_cop(refunded))
        return Step(
            state=SaleState.SKIPPED,
            next_at=None,
            message=message,
            kind=EventKind.CHECKED if code == REFUNDED_ELSEWHERE else EventKind.NEEDS_ATTENTION,
            code=REFUNDED_ELSEWHERE,
            error=message,
            data={"reason": REFUNDED_ELSEWHERE, "refunded": str(refunded)},
        )
    message = elsewhere_message(mark)
    return Step(
        state=SaleState.SKIPPED,
        next_at=None,
        message=message,
        kind=EventKind.CHECKED,
        code=INVOICED_ELSEWHERE,
        error=message,
    )


def _cop(amount: Decimal) -> str:
    whole = f"{amount.quantize(Decimal('0.01')):,.2f}"
    integer, _, cents = whole.partition(".")
    integer = integer.replace(",", ".")
    return f"$ {integer}" if cents == "00" else f"$ {integer},{cents}"


# -- the buyer ---------------------------------------------------------------------------------


def clean_buyer(
    *, consumer_final: bool, id_type: str = "", identification: str = "", name: str = ""
) -> dict[str, Any]:
    """The buyer a person chose, validated as Siigo will take it; `invalid_identification` /
    `invalid_buyer_name` otherwise."""
    if consumer_final:
        return {"consumer_final": True}
    kind = id_type.strip().upper()
    if kind not in BUYER_ID_TYPES:
        raise Unprocessable(
            "The id type must be CC, NIT, CE or PASAPORTE.", code="invalid_identification"
        )
    clean_name = " ".join(name.split())[:100]
    if len(clean_name) < 2:
        raise Unprocessable("Give the buyer's name.", code="invalid_buyer_name")
    company = kind == "NIT"
    try:
        code = siigo_id_type(kind)
        number = normalize_identification(code, identification, company=company)
    except (InvalidIdentification, UnknownIdType) as exc:
        raise Unprocessable(str(exc), code="invalid_identification") from exc
    buyer: dict[str, Any] = {
        "id_type": kind,
        "identification": number,
        "name": clean_name,
        "is_company": company,
    }
    if company:
        _, given = split_nit(identification, company=True)
        buyer["check_digit"] = given or nit_check_digit(number)
    return buyer


async def set_buyer(
    session: AsyncSession,
    *,
    tenant_id: int,
    sale_id: int,
    user: str,
    buyer: dict[str, Any],
) -> Sale:
    """Saves who the sale's invoice goes to and retries it now."""
    sale = await _sale(session, tenant_id, sale_id)
    if sale.state not in {s.value for s in RETRYABLE_BY_HAND}:
        raise Conflict(
            "Only a sale waiting for a person takes another buyer.", code="sale_not_waiting_for_fix"
        )
    has_doc = (
        await session.execute(select(Document.id).where(Document.sale_id == sale.id).limit(1))
    ).first()
    if has_doc is not None:
        raise Conflict("The sale already has a document.", code="sale_has_document")
    sale.manual = {
        **(sale.manual or {}),
        "buyer": {**buyer, "by": user, "at": utcnow().isoformat()},
    }
    sale.attempts = 0
    sale.next_attempt_at = utcnow()
    described = (
        text("manual.buyer_consumer_final")
        if buyer.get("consumer_final")
        else f"{buyer['id_type']} {buyer['identification']} · {buyer['name']}"
    )
    queue.add_event(
        session,
        sale,
        kind=EventKind.RETRY_REQUESTED,
        message=text("manual.buyer_set", user=user, buyer=described),
        data={"buyer": buyer},
    )
    await session.flush()
    return sale


async def buyer_fixable_ids(session: AsyncSession, *, tenant_id: int) -> list[int]:
    """Sales waiting for the seller to say who their buyer is."""
    rows = await session.execute(
        select(Sale.id)
        .where(
            Sale.tenant_id == tenant_id,
            Sale.state == SaleState.NEEDS_ATTENTION.value,
            Sale.error_code.in_(BUYER_FIXABLE),
        )
        .limit(MAX_BULK)
    )
    return [int(r) for r in rows.scalars()]


async def consumer_final_all(
    session: AsyncSession, *, tenant_id: int, user: str, expected: int
) -> int:
    """Every sale waiting for its buyer goes to consumidor final (the count the person
    confirmed must still be the count: `count_changed` otherwise)."""
    ids = await buyer_fixable_ids(session, tenant_id=tenant_id)
    if len(ids) != expected:
        raise Conflict(
            f"{len(ids)} sales match now, not {expected}: confirm again.",
            code="count_changed",
            details={"count": len(ids)},
        )
    for sale_id in ids:
        await set_buyer(
            session,
            tenant_id=tenant_id,
            sale_id=sale_id,
            user=user,
            buyer={"consumer_final": True},
        )
    return len(ids)


async def _sale(session: AsyncSession, tenant_id: int, sale_id: int) -> Sale:
    sale = (
        await session.execute(
            select(Sale).where(Sale.id == sale_id, Sale.tenant_id == tenant_id).with_for_update()
        )
    ).scalar_one_or_none()
    if sale is None:
        raise NotFound("Sale not found.", code="sale_not_found")
    return sale
