"""Sandbox configuration (pydantic): seed, volumes, notification target, faults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FaultConfig(BaseModel):
    """Faults of one simulated vendor. Rates are probabilities in [0, 1] per request."""

    latency_ms: int = Field(default=0, ge=0)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    rate_limit_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_rate: float = Field(default=0.0, ge=0, le=1)
    timeout_seconds: float = Field(default=5.0, ge=0)
    # Siigo document POSTs only: the document IS created, then the reply fails (500 or hang).
    lost_response_rate: float = Field(default=0.0, ge=0, le=1)
    lost_response_mode: Literal["error", "hang"] = "error"


class NotificationFaults(BaseModel):
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)


class FaultsState(BaseModel):
    mercadolibre: FaultConfig = Field(default_factory=FaultConfig)
    siigo: FaultConfig = Field(default_factory=FaultConfig)
    notifications: NotificationFaults = Field(default_factory=NotificationFaults)


class ScenarioMix(BaseModel):
    """Relative weights of the generated sale kinds (see scenarios.KINDS)."""

    weights: dict[str, float] = Field(default_factory=dict)


class SandboxConfig(BaseModel):
    seed: int = 7
    initial_sales: int = Field(default=20, ge=0)
    notify_url: str | None = None
    ml_access_token_ttl_seconds: int = Field(default=21600, gt=0)
    siigo_token_ttl_seconds: int = Field(default=86400, gt=0)
    siigo_requests_per_minute: int = Field(default=100, ge=0)  # 0 = unlimited
    notification_retry_interval_seconds: float = Field(default=5.0, ge=0)
    notification_max_attempts: int = Field(default=8, ge=1)
    notification_timeout_seconds: float = Field(default=0.5, gt=0)  # ML's 500 ms rule
    stamp_mode: Literal["accept", "delay"] = "accept"
    stamp_delay_polls: int = Field(default=2, ge=0)
    clock_offset_days: int = 0
    faults: FaultsState = Field(default_factory=FaultsState)
    mix: dict[str, float] | None = None
    stream_interval_seconds: float | None = None  # continuous mode when set
    stream_batch: int = Field(default=1, ge=1)
