"""What processing a sale decided (`Step`), and the kinds of entry a sale's timeline holds.

The result vocabulary, in one place:
- `sales.decision.Decision`: whether a sale with no invoice is invoiced now, later or never
  (pure: MercadoLibre's facts + the integration's settings).
- `sync.policy.Outcome`: what a *failure* means (retry, defer, attention, re-authorize).
- `Step` (here): what one attempt ends with, whatever happened: the sale's next state, when it
  is due again, and the timeline entry that explains it. Decisions and outcomes both end as a
  `Step`; only `Step` is written to the sale.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from conexapi.sales.states import SaleState


class EventKind(StrEnum):
    """A timeline entry's kind (stored in `sale_event.kind`)."""

    RECEIVED = "received"  # an order of the sale was notified, swept or backfilled
    RETRY_REQUESTED = "retry_requested"  # a person asked to retry
    CHECKED = "checked"  # processed, nothing changed (not written when the state is the same)
    WAITING = "waiting"  # not billable yet (unpaid, pack incomplete, not delivered, data pending)
    SKIPPED = "skipped"  # never to be invoiced
    INVOICED = "invoiced"  # the invoice was issued in Siigo
    CREDIT_NOTE = "credit_note"  # a credit note was issued in Siigo
    REFUND_COVERED = "refund_covered"  # MercadoLibre covered a refund: no credit note
    CORRECTION_REQUESTED = "correction_requested"  # a person asked to correct a wrong invoice
    CORRECTED = "corrected"  # the wrong invoice was annulled and a corrected one issued
    WAITING_DIAN = "waiting_dian"  # a refund waits for the DIAN to accept the invoice
    DIAN_REJECTED = "dian_rejected"  # the DIAN rejected the invoice
    DEFERRED = "deferred"  # a vendor asked to wait (429); no attempt burnt
    RECHECK_DEFERRED = "recheck_deferred"  # an invoiced sale's re-check failed; asked again
    RETRYING = "retrying"  # a transient failure; retried with backoff
    DEAD = "dead"  # transient failures exhausted; waits for a person
    NEEDS_ATTENTION = "needs_attention"  # a person must fix something
    NEEDS_REAUTH = "needs_reauth"  # a connection must be re-authorized
    NEEDS_PERMISSION = "needs_permission"  # the marketplace application lacks a permission


@dataclass(kw_only=True)
class Step:
    """What one attempt decided: the sale's next state, when it is due again, and why.

    `message` is the Spanish sentence for the timeline; `code`/`error` are what the sale shows as
    its error while it is failing (`needs_attention`, `retrying`, `dead`, waiting for a
    connection); `data` goes with the timeline entry.
    """

    state: SaleState
    next_at: datetime | None
    message: str
    kind: EventKind
    code: str | None = None
    error: str | None = None
    data: dict[str, Any] | None = None
    reset_attempts: bool = False

    @classmethod
    def attention(
        cls,
        code: str,
        message: str,
        *,
        kind: EventKind = EventKind.NEEDS_ATTENTION,
        data: dict[str, Any] | None = None,
    ) -> Step:
        """A person must fix something: the sale waits in `needs_attention`, not due, saying
        what and how."""
        return cls(
            state=SaleState.NEEDS_ATTENTION,
            next_at=None,
            message=message,
            kind=kind,
            code=code,
            error=message,
            data=data,
        )
