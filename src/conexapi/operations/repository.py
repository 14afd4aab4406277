"""Tenant-scoped queries on sales and their documents (the API never sees another tenant's)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.db import utcnow
from conexapi.operations.schemas import SaleFilter
from conexapi.sales.clock import COLOMBIA
from conexapi.sales.states import RETRYABLE_BY_HAND, SaleState
from conexapi.sync.models import Document, Sale, SaleEvent, SaleOrder
from conexapi.sync.queue import Priority


class SaleRepository:
    def __init__(self, session: AsyncSession, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id

    def _filtered(self, stmt: Select[Any], f: SaleFilter) -> Select[Any]:
        stmt = stmt.where(Sale.tenant_id == self.tenant_id)
        if f.state is not None:
            stmt = stmt.where(Sale.state == f.state.value)
        if f.integration_id is not None:
            stmt = stmt.where(Sale.integration_id == f.integration_id)
        if f.date_from is not None:
            stmt = stmt.where(_sale_day() >= _colombia_midnight(f.date_from))
        if f.date_to is not None:
            stmt = stmt.where(_sale_day() < _colombia_midnight(f.date_to) + timedelta(days=1))
        if f.q:
            like = f"%{f.q.strip()}%"
            by_order = select(SaleOrder.sale_id).where(SaleOrder.order_id == f.q.strip())
            by_doc = select(Document.sale_id).where(
                Document.tenant_id == self.tenant_id, Document.number.like(like)
            )
            stmt = stmt.where(
                or_(
                    Sale.external_id == f.q.strip(),
                    Sale.buyer_name.like(like),
                    Sale.id.in_(by_order),
                    Sale.id.in_(by_doc),
                )
            )
        return stmt

    async def page(self, f: SaleFilter, *, page: int, page_size: int) -> tuple[list[Sale], int]:
        total = (
            await self.session.execute(self._filtered(select(func.count(Sale.id)), f))
        ).scalar_one()
        # needs_attention first: it is the queue a person must work through.
        attention_first = (Sale.state != "needs_attention").asc()
        rows = await self.session.execute(
            self._filtered(select(Sale), f)
            .order_by(attention_first, Sale.created_at.desc(), Sale.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size)
        )
        return list(rows.scalars()), int(total)

    async def counts(self, integration_id: int | None = None) -> dict[str, int]:
        stmt = select(Sale.state, func.count(Sale.id)).where(Sale.tenant_id == self.tenant_id)
        if integration_id is not None:
            stmt = stmt.where(Sale.integration_id == integration_id)
        rows = await self.session.execute(stmt.group_by(Sale.state))
        return {state: int(n) for state, n in rows.all()}

    async def get(self, sale_id: int) -> Sale | None:
        return (
            await self.session.execute(
                select(Sale).where(Sale.id == sale_id, Sale.tenant_id == self.tenant_id)
            )
        ).scalar_one_or_none()

    async def documents(self, sale_ids: Sequence[int]) -> dict[int, list[Document]]:
        if not sale_ids:
            return {}
        rows = await self.session.execute(
            select(Document)
            .where(Document.tenant_id == self.tenant_id, Document.sale_id.in_(sale_ids))
            .order_by(Document.kind, Document.seq)
        )
        grouped: dict[int, list[Document]] = {}
        for doc in rows.scalars():
            grouped.setdefault(doc.sale_id, []).append(doc)
        return grouped

    async def events(self, sale_id: int) -> list[SaleEvent]:
        rows = await self.session.execute(
            select(SaleEvent)
            .where(SaleEvent.sale_id == sale_id, SaleEvent.tenant_id == self.tenant_id)
            .order_by(SaleEvent.created_at, SaleEvent.id)
        )
        return list(rows.scalars())

    async def make_invoiced_due(self, sale_ids: Sequence[int]) -> int:
        """Makes invoiced sales due now, to look at their invoice again (an audit, a
        correction); their state and attempts do not change."""
        return await self._make_due(sale_ids, [SaleState.INVOICED.value], reset_attempts=False)

    async def make_due(self, sale_ids: Sequence[int]) -> int:
        """Makes retryable sales due now (a fresh round of attempts)."""
        states = [s.value for s in RETRYABLE_BY_HAND]
        return await self._make_due(sale_ids, states, reset_attempts=True)

    async def _make_due(
        self, sale_ids: Sequence[int], states: list[str], *, reset_attempts: bool
    ) -> int:
        if not sale_ids:
            return 0
        # A person asked: served before live, sweep and backfill work (`queue.Priority`).
        values: dict[str, Any] = {"next_attempt_at": utcnow(), "priority": int(Priority.RETRIED)}
        if reset_attempts:
            values["attempts"] = 0
        result = await self.session.execute(
            update(Sale)
            .where(
                Sale.tenant_id == self.tenant_id,
                Sale.id.in_(sale_ids),
                Sale.state.in_(states),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def retryable_ids(self, f: SaleFilter) -> list[int]:
        stmt = self._filtered(select(Sale.id), f).where(
            Sale.state.in_([s.value for s in RETRYABLE_BY_HAND])
        )
        return list((await self.session.execute(stmt.limit(10_000))).scalars())


def _sale_day() -> Any:
    return func.coalesce(Sale.sale_date, Sale.created_at)


def _colombia_midnight(day: Any) -> datetime:
    return datetime.combine(day, time(0), tzinfo=COLOMBIA)
