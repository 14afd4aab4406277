"""An integration links one MercadoLibre account to one Siigo company, with its settings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from conexapi.db import Base, TimestampMixin, UTCDateTime


class Integration(TimestampMixin, Base):
    __tablename__ = "integration"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    # One integration per ML account: two would invoice the same sale twice.
    ml_connection_id: Mapped[int] = mapped_column(
        ForeignKey("connection.id", ondelete="CASCADE"), unique=True
    )
    siigo_connection_id: Mapped[int] = mapped_column(
        ForeignKey("connection.id", ondelete="CASCADE"), index=True
    )
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    proposals: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    # "Vista previa": every invoice is built and shown, none is sent to Siigo (`sync.preview`).
    preview: Mapped[bool] = mapped_column(default=False, server_default=false())
    sweep_watermark: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_sweep_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # No sale of this integration is claimed before this moment (its Siigo company's request
    # budget has no token until then: `sync.queue.pause_claims`), and why (a stable code).
    claims_paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claims_paused_reason: Mapped[str | None] = mapped_column(String(60), nullable=True)


class ProductMapping(TimestampMixin, Base):
    """A MercadoLibre SKU (or item:variation) mapped to a Siigo product code."""

    __tablename__ = "product_mapping"
    __table_args__ = (UniqueConstraint("integration_id", "sku"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    erp_code: Mapped[str] = mapped_column(String(30))


class UnmappedSku(Base):
    """A sale waiting for a SKU (or item:variation) that has no usable Siigo product: written
    by the engine when the sale blocks, it is the list the seller maps from (with the item's
    title, for proposals) and what makes the sale due again once every SKU it waits for is
    mapped (`sync.unblock`). A sale's rows are replaced each time it blocks and dropped when it
    moves on."""

    __tablename__ = "unmapped_sku"
    __table_args__ = (
        UniqueConstraint("sale_id", "sku"),
        Index("ix_unmapped_sku_integration_sku", "integration_id", "sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integration.id", ondelete="CASCADE"))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sale.id", ondelete="CASCADE"))
    sku: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
