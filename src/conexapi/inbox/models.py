"""Every notification received, durable and deduplicated, kept raw for audit and replay."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from conexapi.db import Base, UTCDateTime


class NotificationStatus(StrEnum):
    PENDING = "pending"  # an order notification stored, its sale not made due yet (inbox.apply)
    ACCEPTED = "accepted"  # acted on (its sale made due), or kept for audit (other topics)
    IGNORED = "ignored"  # a seller that is not connected


class Notification(Base):
    __tablename__ = "notification"
    # Workers look for pending notifications (inbox.apply) in id order; the retention deletes
    # old ones by `received_at` (`sync.upkeep.prune_notifications`).
    __table_args__ = (
        Index("ix_notification_status_id", "status", "id"),
        Index("ix_notification_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(20))
    dedupe_key: Mapped[str] = mapped_column(String(191), unique=True)
    topic: Mapped[str] = mapped_column(String(60))
    resource: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    integration_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    status: Mapped[str] = mapped_column(String(20))  # NotificationStatus
    reason: Mapped[str | None] = mapped_column(String(120), nullable=True)
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
