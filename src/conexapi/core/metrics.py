"""Prometheus metrics, in one registry per process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

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
    "MercadoLibre notifications received, by outcome",
    ["outcome"],
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
    "Calls to MercadoLibre and Siigo, by vendor and outcome",
    ["vendor", "outcome"],
    registry=REGISTRY,
)
