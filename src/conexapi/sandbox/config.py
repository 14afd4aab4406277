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
    # MercadoLibre billing-info endpoints only: the PolicyAgent refuses them as if the
    # application lacked the "Facturación" permission (403 PA_UNAUTHORIZED_RESULT_FROM_POLICIES).
    billing_forbidden_rate: float = Field(default=0.0, ge=0, le=1)


class NotificationFaults(BaseModel):
    drop_rate: float = Field(default=0.0, ge=0, le=1)
    duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    # For each change, also a notification of a topic ConexAPI does not use (`messages`, whose
    # resource has no leading "/", `questions`, `items`...), as MercadoLibre sends them.
    other_topic_rate: float = Field(default=0.0, ge=0, le=1)


class FaultsState(BaseModel):
    mercadolibre: FaultConfig = Field(default_factory=FaultConfig)
    siigo: FaultConfig = Field(default_factory=FaultConfig)
    notifications: NotificationFaults = Field(default_factory=NotificationFaults)


class SiigoQuirks(BaseModel):
    """Shapes real Siigo answers take besides the documented one (docs/vendors/siigo.md §4.1, §8,
    §16)."""

    # "pascal": {"Status", "Errors": [{"Code", ...}]} (documented); "lowercase": {"status",
    # "errors": [{"code", ...}]} (seen in production); "mixed": either, at random (seeded).
    error_case: Literal["pascal", "lowercase", "mixed"] = "pascal"
    # `GET /v1/users`: paginated (portal, SDK) or a bare array (older blueprint).
    users_shape: Literal["paginated", "array"] = "paginated"
    # Document type `code`: a string ("1", portal and blueprint) or a number.
    document_type_code: Literal["string", "number"] = "string"
    # `GET /v1/document-types?type=NC`: an array, or the portal's single object (GUID `id`,
    # numeric id in `number`).
    credit_note_types_shape: Literal["array", "object"] = "array"


class MercadoLibreQuirks(BaseModel):
    """Shapes real MercadoLibre answers take (docs/vendors/mercadolibre.md §15)."""

    # Share of newly generated buyers whose orders carry only `buyer.id` (2024+ shape: no
    # nickname, no names); the `buyer_id_only` scenario kind makes one on demand.
    buyer_id_only_rate: float = Field(default=0.0, ge=0, le=1)
    # "If you search as a seller, you filter out cancelled orders" (§3.3): the seller's
    # `orders/search` leaves cancelled orders out unless `order.status` asks for them.
    seller_search_hides_cancelled: bool = False
    # Date filters use the hour and discard minutes, seconds and milliseconds (§3.3): both
    # bounds of every date filter are cut to their hour.
    date_filters_hour_precision: bool = False


class QuirksState(BaseModel):
    mercadolibre: MercadoLibreQuirks = Field(default_factory=MercadoLibreQuirks)
    siigo: SiigoQuirks = Field(default_factory=SiigoQuirks)


class ScenarioMix(BaseModel):
    """Relative weights of the generated sale kinds (see scenarios.KINDS)."""

    weights: dict[str, float] = Field(default_factory=dict)


class SandboxConfig(BaseModel):
    seed: int = 7
    initial_sales: int = Field(default=20, ge=0)
    notify_url: str | None = None
    # The MercadoLibre application's registered redirect URI: when set, the consent page accepts
    # only that one (exact match, as MercadoLibre); when not, any loopback URI, and the first one
    # used counts as registered. Topics it is subscribed to (`GET /applications/{id}`).
    redirect_uri: str | None = None
    notification_topics: list[str] = Field(default_factory=lambda: ["orders_v2"])
    ml_access_token_ttl_seconds: int = Field(default=21600, gt=0)
    siigo_token_ttl_seconds: int = Field(default=86400, gt=0)
    siigo_requests_per_minute: int = Field(default=100, ge=0)  # 0 = unlimited
    # MercadoLibre limits requests per application (all sellers together): above this many in
    # any second the API answers 429 `local_rate_limited` (0 = unlimited).
    ml_app_requests_per_second: int = Field(default=0, ge=0)
    notification_retry_interval_seconds: float = Field(default=5.0, ge=0)
    notification_max_attempts: int = Field(default=8, ge=1)
    notification_timeout_seconds: float = Field(default=0.5, gt=0)  # ML's 500 ms rule
    stamp_mode: Literal["accept", "delay"] = "accept"
    stamp_delay_polls: int = Field(default=2, ge=0)
    clock_offset_days: int = 0
    faults: FaultsState = Field(default_factory=FaultsState)
    quirks: QuirksState = Field(default_factory=QuirksState)
    mix: dict[str, float] | None = None
    stream_interval_seconds: float | None = None  # continuous mode when set
    stream_batch: int = Field(default=1, ge=1)
