"""The one place that decides what a failure means for a sale.

- transient (network, timeout, 5xx) → `retrying`, exponential backoff with full jitter, one
  attempt burnt; once the failures have gone on for `dead_after` (a time budget, not a count)
  → `dead` (visible, retryable by hand), keeping the last reason a person can act on. While an
  `invoiced` or `needs_attention` sale is re-checked, a transient failure changes nothing
  (`sync.pipeline`);
- rate limited (429) → deferred by the vendor's hint, no attempt burnt; likewise a token
  renewal another process has in flight, and our own request budget (a Siigo company's bucket,
  the MercadoLibre application's budget) that has no token within a second: the sale is deferred
  to the moment it has one (`siigo_budget_wait`, `mercadolibre_budget_wait`);
- permanent (validation, configuration) → `needs_attention` with the vendor's code and message in
  plain words; never retried blindly (Siigo blocks API users whose requests fail > 80 %);
- auth → the connection needs re-authorization; the sale waits for it;
- a missing functional permission (MercadoLibre's PolicyAgent) → the connection lacks it; the
  sale waits for it without burning an attempt, and resumes once it is granted.

Siigo error bodies come in two casings (docs/vendors/siigo.md §4.1, §16); every code of either
counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from conexapi.core.errors import (
    AuthError,
    BudgetWaitError,
    IntegrationError,
    NotFoundError,
    PermanentError,
    PermissionMissingError,
    RateLimitedError,
    RenewalPendingError,
    TransientError,
)
from conexapi.core.http import siigo_errors
from conexapi.messages import text, with_detail

if TYPE_CHECKING:
    from conexapi.settings import WorkerSection


class Verdict(StrEnum):
    RETRY = "retry"
    DEFER = "defer"
    ATTENTION = "attention"
    REAUTH = "reauth"
    PERMISSION = "permission"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    code: str
    message: str
    delay: timedelta = timedelta(0)
    burns_attempt: bool = True


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 30.0
    cap_seconds: float = 3600.0
    dead_after: timedelta = timedelta(hours=48)
    rate_limit_default_seconds: float = 30.0

    @classmethod
    def from_settings(cls, worker: WorkerSection) -> RetryPolicy:
        return cls(
            base_seconds=worker.retry_base_seconds,
            cap_seconds=worker.retry_cap_seconds,
            dead_after=timedelta(hours=worker.dead_after_hours),
            rate_limit_default_seconds=worker.rate_limit_default_seconds,
        )

    def backoff(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Full jitter: uniform in [base/2, min(cap, base * 2**(attempt-1))]."""
        ceiling = min(self.cap_seconds, self.base_seconds * (2 ** max(0, attempt - 1)))
        low = min(self.base_seconds / 2, ceiling)
        return timedelta(seconds=(rng or random).uniform(low, ceiling))

    def recheck_delay(self, failing_for: timedelta, rng: random.Random | None = None) -> timedelta:
        """The wait before re-checking a settled sale (`invoiced`, `needs_attention`) whose last
        re-checks failed for a passing reason: about as long as they have been failing (so the
        waits double), at least `base/2`, at most `cap`; nothing is counted."""
        ceiling = min(self.cap_seconds, max(self.base_seconds, failing_for.total_seconds()))
        low = min(self.base_seconds / 2, ceiling)
        return timedelta(seconds=(rng or random).uniform(low, ceiling))


# The codes of passing failures (`classify`): not a reason a person can act on.
PASSING_CODES = frozenset(
    {
        "transient_error",
        "integration_error",
        "internal_error",
        "rate_limited",
        "token_renewal_pending",
        "siigo_rate_deferred",
        # waits on MercadoLibre data on a schedule: nothing for a person to do
        "billing_processing",
        "shipping_unknown",
    }
)


# Waits that end by themselves or whose cause is the connection's, not the sale's: once the sale
# is processed again they are stale, never a reason to keep.
CONNECTION_WAITS = frozenset(
    {
        "mercadolibre_needs_reauth",
        "siigo_needs_reauth",
        "mercadolibre_needs_permission",
        "siigo_paused",
    }
)


def actionable(code: str | None) -> bool:
    """Whether a sale's error code is something a person can act on about this sale (not a
    passing failure, nor a wait on its connection)."""
    return bool(code) and code not in PASSING_CODES and code not in CONNECTION_WAITS


# Siigo codes that describe a temporary service problem even though they come as a 400
# (docs/vendors/siigo.md §4.4).
SIIGO_TRANSIENT_CODES = frozenset(
    {
        "documents_service",
        "payment_types_service",
        "general_service",
        "service_unavailable",
        "request_timeout",
        "requests_limit",
        "entry_service",
    }
)

VENDOR_LABEL = {"siigo": "Siigo", "mercadolibre": "MercadoLibre"}


def classify(exc: BaseException, *, attempt: int, policy: RetryPolicy) -> Outcome:
    """Maps a failure to what happens to the sale. `attempt` counts this failed try."""
    if isinstance(exc, BudgetWaitError):
        seconds = max(exc.retry_after or 0.0, 0.1)
        key = "sync.deferred_siigo_budget" if exc.vendor == "siigo" else "sync.deferred_meli_budget"
        return Outcome(
            Verdict.DEFER,
            f"{exc.vendor}_budget_wait",
            text(key, wait=_wait_words(seconds)),
            timedelta(seconds=seconds),
            burns_attempt=False,
        )
    if isinstance(exc, RateLimitedError):
        seconds = exc.retry_after or policy.rate_limit_default_seconds
        return Outcome(
            Verdict.DEFER,
            "rate_limited",
            f"{_vendor(exc)} pidió esperar (límite de peticiones); "
            f"se reintenta en {int(seconds)} s.",
            timedelta(seconds=seconds),
            burns_attempt=False,
        )
    if isinstance(exc, RenewalPendingError):
        seconds = exc.retry_after or policy.rate_limit_default_seconds
        return Outcome(
            Verdict.DEFER,
            "token_renewal_pending",
            f"La conexión con {_vendor(exc)} está renovando su acceso; "
            f"se reintenta en {int(seconds)} s.",
            timedelta(seconds=seconds),
            burns_attempt=False,
        )
    if isinstance(exc, TransientError) or (
        isinstance(exc, PermanentError) and _transient_codes(exc)
    ):
        return Outcome(
            Verdict.RETRY,
            "transient_error",
            with_detail(text("sync.vendor_transient", vendor=_vendor(exc)), _short(exc)),
            policy.backoff(attempt),
        )
    if isinstance(exc, AuthError):
        return Outcome(
            Verdict.REAUTH,
            f"{exc.vendor}_needs_reauth",
            with_detail(text("sync.vendor_reauth", vendor=_vendor(exc)), exc.message),
        )
    if isinstance(exc, PermissionMissingError):
        permission = text(f"permission.{exc.permission or 'unknown'}")
        return Outcome(
            Verdict.PERMISSION,
            f"{exc.vendor}_needs_permission",
            text("sync.waiting_permission", permission=permission),
            burns_attempt=False,
        )
    if isinstance(exc, NotFoundError):
        return Outcome(
            Verdict.ATTENTION,
            f"{exc.vendor}_not_found",
            with_detail(text("sync.vendor_not_found", vendor=_vendor(exc)), exc.message),
        )
    if isinstance(exc, PermanentError):
        code = exc.vendor_code or "rejected"
        # Siigo's own words say what to fix (they are Spanish); MercadoLibre's are English and
        # go behind "Detalles" with the code.
        said = exc.message if exc.vendor == "siigo" else ""
        return Outcome(
            Verdict.ATTENTION,
            f"{exc.vendor}_{code}",
            with_detail(
                text(
                    "sync.vendor_rejected", vendor=_vendor(exc), said=f": {said}" if said else "."
                ),
                code if said else f"{code}: {exc.message}",
            ),
        )
    if isinstance(exc, IntegrationError):
        return Outcome(
            Verdict.RETRY,
            "integration_error",
            with_detail(text("sync.vendor_transient", vendor=_vendor(exc)), str(exc)),
            policy.backoff(attempt),
        )
    # An unexpected bug: retry with backoff (it may be a race), and it ends `dead` if it persists.
    return Outcome(
        Verdict.RETRY,
        "internal_error",
        with_detail(text("sync.internal_error"), type(exc).__name__),
        policy.backoff(attempt),
    )


def _wait_words(seconds: float) -> str:
    """A short wait in the seller's words: "5 s", "4 min", "2 h"."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{round(seconds / 3600)} h"


def _transient_codes(exc: PermanentError) -> bool:
    """A 400 that only says Siigo had a passing problem (§4.4), in either casing: every error
    it lists is one of those (a validation error among them needs a person)."""
    codes = {e.code for e in siigo_errors(exc.body) if e.code}
    if not codes and exc.vendor_code:
        codes = {exc.vendor_code}
    return bool(codes) and codes <= SIIGO_TRANSIENT_CODES


def _vendor(exc: IntegrationError) -> str:
    return VENDOR_LABEL.get(exc.vendor, exc.vendor)


def _short(exc: IntegrationError) -> str:
    if exc.status_code:
        return f"HTTP {exc.status_code}"
    return exc.message[:80]
