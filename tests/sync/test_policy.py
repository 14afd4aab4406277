from __future__ import annotations

import random
from datetime import timedelta

import pytest

from conexapi.core.errors import (
    AuthError,
    NotFoundError,
    PermanentError,
    RateLimitedError,
    TransientError,
)
from conexapi.sync.policy import RetryPolicy, Verdict, actionable, classify

POLICY = RetryPolicy(base_seconds=10, cap_seconds=300, dead_after=timedelta(hours=2))


def test_transient_errors_retry_with_growing_jittered_backoff() -> None:
    rng = random.Random(1)
    delays = [POLICY.backoff(n, rng) for n in range(1, 8)]
    assert all(timedelta(seconds=5) <= d <= timedelta(seconds=300) for d in delays)
    ceilings = [min(300, 10 * 2 ** (n - 1)) for n in range(1, 8)]
    assert all(d.total_seconds() <= c for d, c in zip(delays, ceilings, strict=True))
    outcome = classify(
        TransientError("boom", vendor="siigo", status_code=503), attempt=1, policy=POLICY
    )
    assert outcome.verdict is Verdict.RETRY
    assert outcome.burns_attempt


def test_a_429_defers_by_the_vendor_hint_without_burning_an_attempt() -> None:
    outcome = classify(
        RateLimitedError("slow down", vendor="siigo", status_code=429, retry_after=42),
        attempt=3,
        policy=POLICY,
    )
    assert outcome.verdict is Verdict.DEFER
    assert outcome.delay == timedelta(seconds=42)
    assert not outcome.burns_attempt


@pytest.mark.parametrize(
    ("exc", "verdict", "code"),
    [
        (
            PermanentError(
                "The total payments must be equal",
                vendor="siigo",
                status_code=400,
                vendor_code="invalid_total_payments",
            ),
            Verdict.ATTENTION,
            "siigo_invalid_total_payments",
        ),
        (
            PermanentError(
                "busy", vendor="siigo", status_code=400, vendor_code="documents_service"
            ),
            Verdict.RETRY,
            "transient_error",
        ),
        (
            AuthError(
                "revoked", vendor="mercadolibre", status_code=400, vendor_code="invalid_grant"
            ),
            Verdict.REAUTH,
            "mercadolibre_needs_reauth",
        ),
        (
            NotFoundError("no such order", vendor="mercadolibre", status_code=404),
            Verdict.ATTENTION,
            "mercadolibre_not_found",
        ),
        (RuntimeError("bug"), Verdict.RETRY, "internal_error"),
    ],
)
def test_classification(exc: Exception, verdict: Verdict, code: str) -> None:
    outcome = classify(exc, attempt=1, policy=POLICY)
    assert outcome.verdict is verdict
    assert outcome.code == code
    assert outcome.message


def test_a_settled_sale_recheck_waits_about_as_long_as_it_has_been_failing() -> None:
    rng = random.Random(3)
    short = POLICY.recheck_delay(timedelta(seconds=1), rng)
    assert timedelta(seconds=5) <= short <= timedelta(seconds=10)
    long = [POLICY.recheck_delay(timedelta(hours=5), rng) for _ in range(20)]
    assert all(timedelta(seconds=5) <= d <= timedelta(seconds=300) for d in long)
    assert max(long) > timedelta(seconds=10)


def test_only_a_reason_about_the_sale_itself_is_kept_as_actionable() -> None:
    assert actionable("unmapped_products")
    assert actionable("siigo_invalid_total_payments")
    for passing in ("transient_error", "rate_limited", "billing_processing", None, ""):
        assert not actionable(passing), passing
    for wait in ("mercadolibre_needs_reauth", "siigo_paused", "mercadolibre_needs_permission"):
        assert not actionable(wait), wait
