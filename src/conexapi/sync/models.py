"""The sale (the unit of work and the queue), its documents and its timeline."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from conexapi.db import Base, TimestampMixin, UTCDateTime
from conexapi.sales.states import DocumentStatus, SaleState

Money = Numeric(16, 2)


class Sale(TimestampMixin, Base):
    """A pack, or an order without pack: what becomes exactly one invoice.

    It is due when `next_attempt_at` is set and has passed; a worker holds `lease_until` while it
    works on it. `invoiced` sales stay due (later `next_attempt_at`) while the DIAN status or a
    cancellation is still to be followed.
    """

    __tablename__ = "sale"
    __table_args__ = (
        UniqueConstraint("integration_id", "external_id"),
        Index("ix_sale_due", "next_attempt_at"),
        Index("ix_sale_tenant_state", "tenant_id", "state"),
        # Fair claims: one integration's due sales by priority (`sync.queue.claim_due`), and the
        # sales in flight (leased) per integration.
        Index("ix_sale_integration_due", "integration_id", "priority", "next_attempt_at"),
        Index("ix_sale_lease", "lease_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    external_id: Mapped[str] = mapped_column(String(40))
    order_ids: Mapped[list[Any]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(20), default=SaleState.PENDING.value)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Why the sale is due (`sync.queue.Priority`): 0 a person retried it, 1 a live
    # notification, 2 a sweep re-check, 3 a backfill. Claims take the lowest first.
    priority: Mapped[int] = mapped_column(SmallInteger, default=1, server_default="1")
    # Set while the sale is deferred for a reason that is not a failure (a request budget's wait,
    # a vendor's 429...): until when, and the reason's code; cleared by the next attempt's end.
    deferred_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    deferred_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)
    total: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    buyer_name: Mapped[str] = mapped_column(String(200), default="")
    sale_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profit: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When its orders were last read from MercadoLibre: notifications arriving within
    # `CONEXAPI_NOTIFICATION_REFETCH_SECONDS` of it wait for the window to end (coalescing).
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Document(TimestampMixin, Base):
    """A fiscal document for a sale. The row exists, with its key, before the ERP call."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("sale_id", "kind", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    seq: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str] = mapped_column(String(30), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=DocumentStatus.IN_FLIGHT.value)
    refund_ref: Mapped[str | None] = mapped_column(String(120), nullable=True)
    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    number: Mapped[str | None] = mapped_column(String(40), nullable=True)
    total: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    deviation: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    stamp_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    stamp_errors: Mapped[list[Any]] = mapped_column(default=list)
    cufe: Mapped[str | None] = mapped_column(String(120), nullable=True)
    public_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    breakdown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SaleEvent(Base):
    """The sale's timeline: every notification, decision, attempt and document."""

    __tablename__ = "sale_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Job(TimestampMixin, Base):
    """Long work a person started (a backfill): resumable, with its progress."""

    __tablename__ = "job"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    cursor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SaleOrder(Base):
    """Which sale an order belongs to, so a notification about any order finds its pack's sale."""

    __tablename__ = "sale_order"
    __table_args__ = (UniqueConstraint("integration_id", "order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(40))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id", ondelete="CASCADE"), index=True)
