"""The seller sees the schedule (issue 14, build 8): a deferred or waiting sale's row and timeline
say why and until when, in Spanish, through the message catalogue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conexapi.sync.policy import RetryPolicy
from conexapi.sync.schedule import approx, describe, schedule_data
from tests.stack import Stack, running_stack, stack_settings

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def test_a_wait_reads_as_why_and_for_how_long() -> None:
    at = NOW + timedelta(minutes=4, seconds=10)
    assert (
        describe("rate_limited", at, NOW, vendor="Siigo") == "esperando el límite de Siigo, ~4 min"
    )
    assert describe("siigo_rate_deferred", at, NOW) == "esperando el límite de Siigo, ~4 min"
    assert (
        describe("billing_processing", NOW + timedelta(minutes=15), NOW)
        == "esperando los datos de facturación de MercadoLibre, ~15 min"
    )
    assert describe("transient_error", NOW + timedelta(seconds=40), NOW) == (
        "reintento tras una falla pasajera, ~40 s"
    )
    assert (
        describe("siigo_paused", None, NOW) == "envío a Siigo en pausa hasta que usted lo reanude"
    )
    # Not a scheduled wait: a reason for a person is shown as the error, not as a schedule.
    assert describe("unmapped_products", at, NOW) is None
    assert describe(None, at, NOW) is None
    assert describe("rate_limited", NOW - timedelta(seconds=1), NOW, vendor="Siigo") == (
        "esperando el límite de Siigo; se procesa en un momento"
    )


def test_waits_are_rounded_as_a_person_reads_them() -> None:
    assert approx(timedelta(seconds=0)) == "1 s"
    assert approx(timedelta(seconds=59)) == "59 s"
    assert approx(timedelta(minutes=59)) == "59 min"
    assert approx(timedelta(hours=3, minutes=10)) == "3 h"
    assert approx(timedelta(days=3)) == "3 días"
    data = schedule_data("rate_limited", datetime(2026, 11, 30, 15, 0))  # naive UTC, as stored
    assert data == {"wait": "rate_limited", "until": "2026-11-30T15:00:00+00:00"}


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def test_a_sale_deferred_by_siigo_shows_why_and_until_when(stack: Stack) -> None:
    await stack.generate(1, mix={"single": 1})
    r = await stack.control.put("/_sandbox/faults", json={"siigo": {"rate_limit_rate": 1.0}})
    assert r.status_code == 200, r.text
    worker = stack.worker(
        policy=RetryPolicy(base_seconds=0.05, cap_seconds=0.2, rate_limit_default_seconds=240)
    )
    assert await worker.run_once() == 1
    [sale] = await stack.sales()
    assert sale["state"] == "pending"
    assert sale["error"]["code"] == "rate_limited"
    assert sale["schedule"] is not None
    assert sale["schedule"].startswith("esperando el límite de Siigo, ~")
    assert sale["attempts"] == 0

    r = await stack.api.get(f"/api/v1/sales/{sale['id']}", headers=stack.headers)
    assert r.status_code == 200, r.text
    deferred = [e for e in r.json()["timeline"] if e["kind"] == "deferred"]
    assert deferred
    assert deferred[-1]["wait"] == "esperando el límite de Siigo"
    assert deferred[-1]["until"] is not None
