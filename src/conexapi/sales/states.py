"""The states of a sale and of its fiscal documents (the sale's state is the queue: see
`sync.queue`). The API exposes them as these lowercase strings."""

from __future__ import annotations

from enum import StrEnum


class SaleState(StrEnum):
    PENDING = "pending"
    WAITING = "waiting"
    RETRYING = "retrying"
    NEEDS_ATTENTION = "needs_attention"
    INVOICED = "invoiced"
    CREDITED = "credited"
    SKIPPED = "skipped"
    DEAD = "dead"


RETRYABLE_BY_HAND = {SaleState.NEEDS_ATTENTION, SaleState.RETRYING, SaleState.DEAD}


class DocumentKind(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class DocumentStatus(StrEnum):
    IN_FLIGHT = "in_flight"  # sent (or about to be) with its idempotency key; outcome unknown
    ISSUED = "issued"
    FAILED = "failed"  # Siigo refused it; nothing was created
