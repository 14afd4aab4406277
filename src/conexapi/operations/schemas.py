"""API shapes of the operations API: sales (the contract's `GET /api/v1/sales` items and the
sale detail) and jobs (backfills)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from conexapi.db import DbDate, DbId
from conexapi.sales.clock import colombia_today
from conexapi.sales.states import SaleState
from conexapi.sync.backfill import MAX_HISTORY


class ErrorRead(BaseModel):
    code: str
    message: str


class DocumentSummary(BaseModel):
    erp_id: str | None
    number: str | None
    total: Decimal | None
    stamp_status: str | None


class SaleRead(BaseModel):
    id: int
    integration_id: int
    external_id: str
    order_ids: list[str]
    state: SaleState
    total: Decimal | None
    buyer_name: str
    sale_date: datetime | None
    invoice: DocumentSummary | None
    credit_note: DocumentSummary | None
    error: ErrorRead | None
    attempts: int
    next_attempt_at: datetime | None
    # Why the sale is not being worked on now and until when, in Spanish ("esperando el límite
    # de Siigo, ~4 min"); None when it is not in a scheduled wait (`sync.schedule`).
    schedule: str | None = None
    created_at: datetime
    updated_at: datetime


class SalePage(BaseModel):
    items: list[SaleRead]
    # Exact when `total_exact`; a filtered list (search, dates) is counted only up to 10,000,
    # and then `total` is 10,000 and `total_exact` false ("more than 10,000").
    total: int
    total_exact: bool = True
    page: int
    page_size: int
    # Where the next page starts (keyset): pass it back as `cursor`; null on the last page.
    next_cursor: str | None = None
    counts: dict[str, int]


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    message: str
    data: dict[str, Any]
    created_at: datetime
    # A scheduled wait's entry: what it waited for (Spanish) and until when.
    wait: str | None = None
    until: datetime | None = None


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    seq: int
    status: str
    idempotency_key: str
    erp_id: str | None
    number: str | None
    total: Decimal | None
    deviation: Decimal | None
    stamp_status: str | None
    stamp_errors: list[Any]
    cufe: str | None
    public_url: str | None
    breakdown: dict[str, Any]
    created_at: datetime


class SaleDetail(SaleRead):
    facts: dict[str, Any]
    profit: dict[str, Any]
    documents: list[DocumentRead]
    timeline: list[EventRead]
    breakdown: dict[str, Any] | None
    manual: dict[str, Any] | None = Field(
        default=None,
        description="What a person decided: invoiced_elsewhere {by, at, reason}, buyer {...}",
    )
    preview: dict[str, Any] | None = Field(
        default=None,
        description="Vista previa: the customer and invoice bodies ConexAPI would send to Siigo",
    )


class InvoicedElsewhere(BaseModel):
    """Mark one sale "facturada por fuera / no facturar"."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(default="", max_length=300)


class InvoicedElsewhereBulk(BaseModel):
    """Mark every sale of a date range (sale date, Colombia) that has no document.

    With `dry_run`, nothing changes and `count` says how many would be marked; send that count
    back as `expected_count` to mark them (a different count now answers 409 `count_changed`)."""

    model_config = ConfigDict(extra="forbid")
    date_from: DbDate
    date_to: DbDate
    integration_id: DbId | None = None
    reason: str = Field(default="", max_length=300)
    dry_run: bool = False
    expected_count: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _range(self) -> InvoicedElsewhereBulk:
        if self.date_to < self.date_from:
            raise ValueError("date_to must not be before date_from")
        return self


class BulkMarkResult(BaseModel):
    count: int = Field(description="Sales marked (or, with dry_run, that would be)")
    dry_run: bool


class BuyerChoice(BaseModel):
    """Who the invoice of a sale goes to when the buyer gave no (usable) fiscal data."""

    model_config = ConfigDict(extra="forbid")
    consumer_final: bool = False
    id_type: str = Field(default="", max_length=20, description="CC, NIT, CE or PASAPORTE")
    identification: str = Field(default="", max_length=30)
    name: str = Field(default="", max_length=100)


class SaleFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: SaleState | None = None
    q: str | None = Field(default=None, max_length=100)
    date_from: DbDate | None = None
    date_to: DbDate | None = None
    integration_id: DbId | None = None


class RetryAll(SaleFilter):
    """Retry every sale matching the filter (only needs_attention, retrying and dead ones)."""


class RetryResult(BaseModel):
    retried: int


class BreakerRead(BaseModel):
    """The breaker of one Siigo company (`sync.breaker`): whether sending is paused and why,
    what was sent and refused in its window, and how many sales wait for a resume."""

    connection_id: int
    paused: bool
    paused_at: datetime | None
    reason: str | None
    sent: int
    refused: int
    refused_share: float
    waiting_sales: int
    resumed: int = 0


# -- jobs -------------------------------------------------------------------------------------


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date_from: DbDate
    date_to: DbDate

    @model_validator(mode="after")
    def _range(self) -> BackfillRequest:
        if self.date_to < self.date_from:
            raise ValueError("date_to must not be before date_from")
        if self.date_to > colombia_today():
            raise ValueError("date_to cannot be in the future")
        if colombia_today() - self.date_from > MAX_HISTORY:
            raise ValueError("MercadoLibre keeps orders for 12 months: date_from is too old")
        return self


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    integration_id: int
    kind: str
    state: str
    params: dict[str, Any]
    done: int
    error: str | None


# -- progress (the dashboard refreshes rows and counts from this) ------------------------------


class QueuedSale(BaseModel):
    id: int
    state: SaleState
    error: ErrorRead | None
    place: int | None  # 1 = next for the worker; None when the sale is not waiting in the queue
    # Waiting, but further back than the places ranked (`repository.PLACE_CAP`): after this one.
    after_place: int | None = None
    eta_minutes: int | None
    next_attempt_at: datetime | None
    invoice_number: str | None


class Progress(BaseModel):
    backlog: int  # sales due for the worker now (pending, retrying or retried by hand)
    backlog_exact: bool = True  # False: more than `backlog` (counted up to a cap)
    backlog_minutes: int  # how long they take at Siigo's request limit
    requests_per_minute: int
    counts: dict[str, int]
    sales: list[QueuedSale]
