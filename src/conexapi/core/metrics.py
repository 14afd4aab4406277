"""Prometheus metrics: what every process counts, and how a scrape renders them.

Each process counts into `REGISTRY`. The API processes of one `conexapi serve` share their counts
through Prometheus' multi-process mode (`PROMETHEUS_MULTIPROC_DIR`, set by `serve` before any
worker starts), so any of them answers `/metrics` for all; a `conexapi worker` serves its own on
`--metrics-port`. Label values are fixed vocabularies (route templates, states, vendors,
outcomes): never a tenant name, a buyer or an id from outside.
"""

from __future__ import annotations

import hmac
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from pydantic import SecretStr

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "conexapi_http_requests_total",
    "HTTP requests answered",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_LATENCY = Histogram(
    "conexapi_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    registry=REGISTRY,
)
NOTIFICATIONS = Counter(
    "conexapi_notifications_total",
    "MercadoLibre notifications received by the webhook, by outcome",
    ["outcome"],
    registry=REGISTRY,
)
NOTIFICATIONS_APPLIED = Counter(
    "conexapi_notifications_applied_total",
    "Stored order notifications a worker applied (their sales made due)",
    registry=REGISTRY,
)
SALE_TRANSITIONS = Counter(
    "conexapi_sale_transitions_total",
    "Sales processed, by resulting state",
    ["state"],
    registry=REGISTRY,
)
EXTERNAL_CALLS = Counter(
    "conexapi_external_calls_total",
    "Calls to MercadoLibre and Siigo, by vendor and outcome (rate_limited = HTTP 429)",
    ["vendor", "outcome"],
    registry=REGISTRY,
)
EXTERNAL_RETRIES = Counter(
    "conexapi_external_retries_total",
    "Quick retries of one vendor call after a 5xx or timeout (core.retry), by vendor",
    ["vendor"],
    registry=REGISTRY,
)
SALES_DEFERRED = Counter(
    "conexapi_sales_deferred_total",
    "Sale attempts deferred without a vendor call failing, by reason (a request budget's wait)",
    ["reason"],
    registry=REGISTRY,
)
EXTERNAL_LATENCY = Histogram(
    "conexapi_external_call_duration_seconds",
    "Duration of calls to MercadoLibre and Siigo, by vendor and outcome",
    ["vendor", "outcome"],
    # Siigo may take up to 120 s to create a document; MercadoLibre answers in tens of ms.
    buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
SALES_IN_PROGRESS = Gauge(
    "conexapi_worker_sales_in_progress",
    "Sales a worker is processing right now",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
LEASES_RELEASED = Counter(
    "conexapi_worker_leases_released_total",
    "Sales a stopping worker gave back (due again at once) instead of finishing them",
    registry=REGISTRY,
)


def render(multiprocess_dir: Path | None = None) -> bytes:
    """This process's metrics, or, with `multiprocess_dir`, those of every process sharing it."""
    if multiprocess_dir is None:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def metrics_authorized(token: SecretStr | None, authorization: str | None) -> bool:
    """`/metrics` is open unless `CONEXAPI_METRICS_TOKEN` is set; then it needs that bearer."""
    if token is None:
        return True
    if not authorization:
        return False
    expected = f"Bearer {token.get_secret_value()}".encode()
    return hmac.compare_digest(authorization.encode(), expected)
