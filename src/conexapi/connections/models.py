"""A seller's connections to MercadoLibre and Siigo, with their secrets encrypted at rest."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from conexapi.db import Base, TimestampMixin, UTCDateTime


class Provider(StrEnum):
    MERCADOLIBRE = "mercadolibre"
    SIIGO = "siigo"


class ConnectionStatus(StrEnum):
    ACTIVE = "active"
    NEEDS_REAUTH = "needs_reauth"
    # The MercadoLibre application lacks a functional permission (e.g. "Facturación"): only its
    # owner can grant it, in DevCenter; the sellers need not re-authorize
    # (docs/vendors/mercadolibre.md §1.1). Which ones, and what to ask again to notice the grant,
    # are in `meta`.
    NEEDS_PERMISSION = "needs_permission"


class Connection(TimestampMixin, Base):
    """One ML seller account or one Siigo company.

    `credentials_enc`: Siigo {username, access_key}; empty for ML.
    `access_token_enc` / `token_expires_at`: the current ML access token or the cached 24 h Siigo
    token, shared by every process. `refresh_token_enc`: the ML refresh token (single use).
    `refresh_owner` / `refresh_started_at`: the renewal in flight, committed before the vendor is
    called (see `connections.renewal`); `refresh_owner` is the renewing process, or `lost` while a
    renewed pair may still come back from a process that stopped.
    """

    __tablename__ = "connection"
    __table_args__ = (UniqueConstraint("provider", "external_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default=ConnectionStatus.ACTIVE.value)
    external_account_id: Mapped[str] = mapped_column(String(191))
    account_name: Mapped[str] = mapped_column(String(191), default="")
    credentials_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    access_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    refresh_token_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    last_refresh_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    refresh_owner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    refresh_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The breaker of a Siigo company (`sync.breaker`): sending is paused since then, for this
    # reason (Spanish, for the seller), until a person resumes it.
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    pause_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class OAuthState(Base):
    """A pending MercadoLibre consent: single use, expiring, bound to the tenant that asked."""

    __tablename__ = "oauth_state"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    code_verifier_enc: Mapped[str | None] = mapped_column(Text, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ErpCatalog(Base):
    """A cached Siigo catalog (document types, taxes, ...), read once and refreshed on demand."""

    __tablename__ = "erp_catalog"
    __table_args__ = (UniqueConstraint("connection_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connection.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    data: Mapped[list[Any]] = mapped_column(default=list)
    fetched_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KnownCustomer(Base):
    """A buyer already present in a Siigo company, so a returning buyer costs no lookup."""

    __tablename__ = "known_customer"
    __table_args__ = (UniqueConstraint("connection_id", "identification", "branch_office"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connection.id", ondelete="CASCADE"))
    identification: Mapped[str] = mapped_column(String(50))
    branch_office: Mapped[int] = mapped_column(Integer, default=0)
    erp_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class KnownProduct(Base):
    """A product code found active in a Siigo company, and when: shared by every worker, so a
    fresh process does not look up again a code another one checked a moment ago. Only positives
    are stored (a product created a second ago must be found); see `connections.known_products`.
    """

    __tablename__ = "known_product"
    __table_args__ = (UniqueConstraint("connection_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connection.id", ondelete="CASCADE"))
    # Siigo codes have at most 30 characters; an unmapped SKU (up to 120) is looked up as is.
    code: Mapped[str] = mapped_column(String(120))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The product's taxes as Siigo said then (`tax_classification`, `taxes[].id`); NULL when the
    # code was recorded without them (then it is asked again before invoicing).
    tax_classification: Mapped[str | None] = mapped_column(String(20), nullable=True)
    taxes: Mapped[list[Any]] = mapped_column(default=list)


class SiigoTally(Base):
    """Documents sent to a Siigo company per hour, and how many Siigo refused (validation), for
    the breaker (`sync.breaker`): Siigo blocks an API user whose requests fail > 80 % over 7
    days (docs/vendors/siigo.md)."""

    __tablename__ = "siigo_tally"
    __table_args__ = (UniqueConstraint("connection_id", "hour"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connection.id", ondelete="CASCADE"))
    hour: Mapped[datetime] = mapped_column(UTCDateTime())
    sent: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    # The last refusal codes of the hour (a few), to tell the seller why.
    last_codes: Mapped[list[Any]] = mapped_column(default=list)


class RateBucket(Base):
    """A token bucket shared by every worker (Siigo: requests per minute per company;
    MercadoLibre: requests per second per application). `rate_factor` is the share of the nominal
    rate in force (lowered by a 429, growing back: `connections.rate_limit`); `held` tokens are
    set aside for sales' first requests (`RateLimiter.hold`)."""

    __tablename__ = "rate_bucket"

    key: Mapped[str] = mapped_column(String(191), primary_key=True)
    tokens: Mapped[float] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rate_factor: Mapped[float] = mapped_column(default=1.0, server_default="1")
    # Tokens set aside for requests to come (`RateLimiter.hold`), and when those holds expire.
    held: Mapped[int] = mapped_column(default=0, server_default="0")
    held_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
