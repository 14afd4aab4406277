"""API shapes of the operations API: sales (the contract's `GET /api/v1/sales` items and the
sale detail) and jobs (backfills)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    total: int
    page: int
    page_size: int
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


class SaleFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: SaleState | None = None
    q: str | None = Field(default=None, max_length=100)
    date_from: date | None = None
    date_to: date | None = None
    integration_id: int | None = None


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
    date_from: date
    date_to: date

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
