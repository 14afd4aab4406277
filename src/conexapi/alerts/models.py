"""Alerts raised for a tenant, and where the tenant wants them delivered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from conexapi.db import Base, TimestampMixin, UTCDateTime


class AlertKind(StrEnum):
    CONNECTION_NEEDS_REAUTH = "connection_needs_reauth"
    CONNECTION_NEEDS_PERMISSION = "connection_needs_permission"
    SALES_NEED_ATTENTION = "sales_need_attention"
    SALES_DEAD = "sales_dead"
    # A sale the seller invoiced elsewhere was refunded: their own credit note is due.
    SALES_REFUNDED_ELSEWHERE = "sales_refunded_elsewhere"
    SIIGO_PAUSED = "siigo_paused"  # the breaker paused sending to a Siigo company


class AlertStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class DeliveryState(StrEnum):
    PENDING = "pending"  # to be sent on the next delivery round
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the maximum attempts
    SKIPPED = "skipped"  # no channel configured


class Alert(TimestampMixin, Base):
    """One alert. While open it is unique per (tenant, kind, subject): `open_key` holds
    "kind:subject" while open and NULL once resolved (NULLs never collide in a unique key)."""

    __tablename__ = "alert"
    __table_args__ = (
        UniqueConstraint("tenant_id", "open_key"),
        Index("ix_alert_delivery", "delivery_state", "next_delivery_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(120))
    open_key: Mapped[str | None] = mapped_column(String(170), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=AlertStatus.OPEN.value)
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivery_state: Mapped[str] = mapped_column(String(20), default=DeliveryState.PENDING.value)
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_delivery_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivery_log: Mapped[list[Any]] = mapped_column(default=list)


class AlertSettings(TimestampMixin, Base):
    """Per tenant: an outgoing webhook and/or e-mail recipients for alerts."""

    __tablename__ = "alert_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(500), nullable=True)
    email_to: Mapped[str | None] = mapped_column(String(500), nullable=True)
