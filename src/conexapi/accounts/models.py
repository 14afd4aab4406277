from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from conexapi.db import Base, TimestampMixin, UTCDateTime


class Role(StrEnum):
    """Viewers read; admins also change settings and retry; owners also manage users."""

    OWNER = "owner"
    ADMIN = "admin"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return {"viewer": 0, "admin": 1, "owner": 2}[self.value]


class Tenant(TimestampMixin, Base):
    __tablename__ = "tenant"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class User(TimestampMixin, Base):
    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenant.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default=Role.VIEWER.value)
    is_active: Mapped[bool] = mapped_column(default=True)
    # In every access token (`ver`); bumped by sign-out-everywhere, a password, role or active
    # change: every token issued before stops working at once.
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class LoginThrottle(Base):
    """Sign-in attempts per key, shared by every API replica through the database.

    A key is a hash of what is counted: the (e-mail, client address) pair, the client address or
    the e-mail alone (`accounts.throttle`). `failures` counts attempts since the counter was last
    quiet; `window_started_at` is the last counted attempt (the counter is forgotten after
    `CONEXAPI_LOGIN_LOCKOUT_SECONDS` without one); `locked_until` refuses attempts (429) until then.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(254), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
