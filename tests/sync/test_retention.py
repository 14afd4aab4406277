"""Retention (issue 14, build 7): the upkeep deletes applied notifications older than
`CONEXAPI_NOTIFICATION_RETENTION_DAYS`, in small batches, never a pending one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from conexapi.db import utcnow
from conexapi.inbox.models import Notification
from conexapi.sync.upkeep import ENGINE_JOBS, PRUNE_BATCH, prune_notifications
from tests.stack import Stack, running_stack, stack_settings


@pytest.fixture
async def stack(db_url: str) -> Any:
    async with running_stack(stack_settings(db_url)) as s:
        yield s


def _rows(prefix: str, n: int, status: str, received: Any) -> list[dict[str, Any]]:
    return [
        {
            "source": "mercadolibre",
            "dedupe_key": f"{prefix}-{i}",
            "topic": "orders_v2",
            "resource": f"/orders/{i}",
            "account_id": "1",
            "status": status,
            "body": {},
            "received_at": received,
        }
        for i in range(n)
    ]


async def test_old_applied_notifications_are_deleted_in_batches(stack: Stack) -> None:
    assert prune_notifications in ENGINE_JOBS
    now = utcnow()
    days = stack.runtime.settings.worker.notification_retention_days
    old = now - timedelta(days=days, hours=1)
    recent = now - timedelta(days=days) + timedelta(hours=1)
    old_applied = 2 * PRUNE_BATCH + 7
    async with stack.runtime.sessions() as session:
        await session.execute(
            insert(Notification),
            _rows("old-accepted", old_applied - 3, "accepted", old)
            + _rows("old-ignored", 3, "ignored", old)
            + _rows("old-pending", 4, "pending", old)
            + _rows("recent", 5, "accepted", recent),
        )
        await session.commit()

    assert await prune_notifications(stack.runtime, now=now) == old_applied
    async with stack.runtime.sessions() as session:
        left = dict(
            (
                await session.execute(
                    select(Notification.status, func.count()).group_by(Notification.status)
                )
            ).all()
        )
    assert left == {"pending": 4, "accepted": 5}  # never a pending one, nor a recent one
    assert await prune_notifications(stack.runtime, now=now) == 0
