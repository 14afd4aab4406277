"""The sale (the unit of work and the queue), its documents and its timeline."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Computed,
    Date,
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
        # Every list filter (docs/big-sellers.md): tenant or integration, state, date, then id
        # (the keyset); the trailing state lets "everything but needs_attention" skip rows
        # without reading them.
        Index("ix_sale_tenant_sort", "tenant_id", "sort_at", "id", "state"),
        Index("ix_sale_tenant_state_sort", "tenant_id", "state", "sort_at", "id"),
        # The backlog and a sale's place in it, counted without reading rows.
        Index("ix_sale_tenant_state_due", "tenant_id", "state", "next_attempt_at"),
        # Ventas' causes (needs_attention per error code), counted without reading rows.
        Index("ix_sale_tenant_state_error", "tenant_id", "state", "error_code"),
        # A search's few matches, filtered and paged by date and state without reading their
        # rows (`SaleRepository._page_of_matches` names it).
        Index("ix_sale_tenant_id_sort", "tenant_id", "id", "sort_at", "state", "integration_id"),
        Index("ix_sale_integration_sort", "integration_id", "sort_at", "id", "state"),
        Index("ix_sale_integration_state_sort", "integration_id", "state", "sort_at", "id"),
        Index("ix_sale_external_id", "external_id"),
        Index("ix_sale_buyer_ident", "buyer_ident"),
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
    # Since when its attempts keep failing for passing reasons (network, 5xx); cleared by any
    # other outcome. `dead` comes when this is older than `CONEXAPI_WORKER_DEAD_AFTER_HOURS`.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The full orders (by id) a sweep's or backfill's `orders/search` just returned for it: the
    # worker uses them instead of asking for each order again. Cleared when the sale is
    # processed, and when a notification says the order changed since.
    prefetched: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
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
    buyer_ident: Mapped[str] = mapped_column(String(40), default="", server_default="")
    sale_date: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The date lists order and filter by: the sale's date, else when ConexAPI first saw it.
    sort_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), Computed("coalesce(sale_date, created_at)", persisted=True), nullable=True
    )
    error_code: Mapped[str | None] = mapped_column(String(60), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    facts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    profit: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # When its orders were last read from MercadoLibre: notifications arriving within
    # `CONEXAPI_NOTIFICATION_REFETCH_SECONDS` of it wait for the window to end (coalescing).
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # What a person decided for this sale (`sync.manual`): {"invoiced_elsewhere": {by, at,
    # reason, note}} and/or {"buyer": {...}} (who the invoice goes to). None: nothing.
    manual: Mapped[dict[str, Any] | None] = mapped_column(nullable=True, default=None)
    # While its integration previews (`Integration.preview`): the invoice ConexAPI would send
    # to Siigo, exactly (`sync.preview`). None once live.
    preview: Mapped[dict[str, Any] | None] = mapped_column(nullable=True, default=None)


class Document(TimestampMixin, Base):
    """A fiscal document for a sale. The row exists, with its key, before the ERP call."""

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("sale_id", "kind", "seq"),
        Index("ix_document_tenant_number", "tenant_id", "number"),
    )

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
    __table_args__ = (
        UniqueConstraint("integration_id", "order_id"),
        Index("ix_sale_order_order_id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(40))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id", ondelete="CASCADE"), index=True)


class SaleStateTally(Base):
    """How many sales an integration has in a state: delta rows (+1/-1) that database triggers
    write with every insert, state change and delete of a sale (migration c8a4f2e61b07), so
    concurrent writers never wait on one hot row; `operations.tally` folds them now and then.
    A count is the sum of `n`."""

    __tablename__ = "sale_state_tally"
    __table_args__ = (Index("ix_sale_state_tally_key", "tenant_id", "integration_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20))
    n: Mapped[int] = mapped_column(Integer)


class SaleTerm(Base):
    """What the search finds a sale by, besides its numbers (docs/big-sellers.md, "Search"):
    kind "w", each word of the buyer's name and identification; kind "k", each key of its facts
    (the buyer's nickname, each line's SKU, the identification the facts give if it differs).
    Written by database triggers on every insert and change of those columns (migration
    b7d4e9a2c615), so every writer keeps it; the sale's delete takes its terms by cascade.
    Terms are lower case; on SQLite also without accents (MariaDB's collation ignores them)."""

    __tablename__ = "sale_term"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(1), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    sale_id: Mapped[int] = mapped_column(
        ForeignKey("sale.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    # The sale's `sort_at`, kept by triggers (migration b4e8d2f6a0c3): a search's page is read
    # in order from its terms' range.
    sort_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SalePair(Base):
    """Every ordered pair "a b" of two different words of a sale's buyer name and
    identification that do not begin with a digit, or "*" for a name with too many or too long
    words (`conexapi.sales.terms.sale_pairs`): a search of two words reads only its matches.
    Written by database triggers (migration e8b3f5c1a274); the sale's delete takes them."""

    __tablename__ = "sale_pair"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    pair: Mapped[str] = mapped_column(String(100), primary_key=True)
    sale_id: Mapped[int] = mapped_column(
        ForeignKey("sale.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    sort_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # as SaleTerm's


class SaleDayMark(Base):
    """A day whose report figures must be computed again: written by triggers when a sale or
    one of its documents changes (`at` is the sale's date; the day is Colombia's)."""

    __tablename__ = "sale_day_mark"
    __table_args__ = (Index("ix_sale_day_mark_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class SaleDayStat(Base):
    """One integration's day (Colombia date) as the reports see it: profit amounts, the
    reconciliation's counts and the ids of its sales with differences (`reports.days`)."""

    __tablename__ = "sale_day_stat"
    __table_args__ = (Index("ix_sale_day_stat_tenant_day", "tenant_id", "day"),)

    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integration.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
