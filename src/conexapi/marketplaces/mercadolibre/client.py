"""MercadoLibre REST client (one instance per seller connection; the httpx client is shared).

Methods are named after the vendor operation and return the parsed JSON objects. Errors follow
`core.http.send` (TransientError / RateLimitedError / AuthError / NotFoundError / PermanentError).
A 401 is handled once by `MeliAuth` (refresh, replay).

Every request spends a token of the application's budget (`meli_app_limiter`: MercadoLibre
limits requests per application, so every seller, worker and process shares one bucket in the
database); a 429 lowers that budget for a while (AIMD) and surfaces as `RateLimitedError` (the
sale is deferred, no attempt counted). GETs get a couple of quick retries on a 5xx or timeout
(`core.retry`).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from typing import Any

import httpx

from conexapi.connections.rate_limit import RateLimiter, RequestBudget
from conexapi.core.clock import SYSTEM_CLOCK, Clock
from conexapi.core.errors import (
    NotFoundError,
    PermanentError,
    PermissionMissingError,
)
from conexapi.core.http import parse_meli_error, send
from conexapi.core.retry import with_retries
from conexapi.db import is_sqlite
from conexapi.marketplaces.mercadolibre.tokens import MeliTokenManager
from conexapi.runtime import Runtime

VENDOR = "mercadolibre"
SITE_ID = "MCO"
# The functional permission of the application that billing info needs (§1.1, §5.3).
BILLING_PERMISSION = "billing"


class MeliAuth(httpx.Auth):
    """Bearer token from the token manager; on a 401, one refresh (single flight) and one replay."""

    def __init__(self, tokens: MeliTokenManager, connection_id: int) -> None:
        self.tokens = tokens
        self.connection_id = connection_id

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await self.tokens.access_token(self.connection_id)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            token = await self.tokens.refresh_after_401(self.connection_id, token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


class StaticBearer(httpx.Auth):
    """A fixed token (right after the OAuth exchange, before the connection row exists)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def _json_dict(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise PermanentError(
            "MercadoLibre answered an unexpected body", vendor=VENDOR, vendor_code="bad_body"
        )
    return data


class MercadoLibreClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: httpx.Auth,
        *,
        limiter: RateLimiter | None = None,
        budget_key: str = "mercadolibre:app",
        max_wait: float | None = None,
        retries: int = 0,
        retry_base_seconds: float = 0.25,
        clock: Clock | None = None,
    ) -> None:
        self.http = http
        self.auth = auth
        self.retries = retries
        self.retry_base_seconds = retry_base_seconds
        self.clock = clock or SYSTEM_CLOCK
        # The application's budget: `max_wait` holds for the first request only (`admitted`).
        self.budget = RequestBudget(limiter, budget_key, max_wait=max_wait, clock=self.clock)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request within the application's budget."""
        async with self.budget.request():
            return await send(
                self.http,
                method,
                path,
                vendor=VENDOR,
                parse_error=parse_meli_error,
                auth=self.auth,
                **kwargs,
            )

    async def _get(
        self,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        response = await with_retries(
            lambda: self._send("GET", path, params=params, headers=headers),
            retries=self.retries,
            base_seconds=self.retry_base_seconds,
            clock=self.clock,
            vendor=VENDOR,
        )
        return _json_dict(response)

    async def _get_optional(self, path: str, **kw: Any) -> dict[str, Any] | None:
        try:
            return await self._get(path, **kw)
        except NotFoundError:
            return None

    async def get_me(self) -> dict[str, Any]:
        """`GET /users/me`: the authorized seller (`id`, `nickname`, `site_id`, ...)."""
        return await self._get("/users/me")

    async def get_order(self, order_id: int | str) -> dict[str, Any]:
        """`GET /orders/{order_id}`."""
        return await self._get(f"/orders/{order_id}")

    async def get_pack(self, pack_id: int | str) -> dict[str, Any]:
        """`GET /packs/{pack_id}`: the cart, with its `orders[]`."""
        return await self._get(f"/packs/{pack_id}")

    async def search_orders(
        self,
        seller_id: int | str,
        *,
        last_updated_from: str | None = None,
        last_updated_to: str | None = None,
        created_from: str | None = None,
        created_to: str | None = None,
        statuses: list[str] | None = None,
        offset: int = 0,
        limit: int = 50,
        sort: str = "date_asc",
    ) -> dict[str, Any]:
        """`GET /orders/search?seller=...` (one page; `paging.total` tells how many).

        Dates are ISO-8601 with offset. `order.date_last_updated.*` is the filter ML honours for
        sweeps (`order.last_updated.*` is silently ignored). ML shows `limit` ≤ 50.
        """
        params: dict[str, Any] = {
            "seller": seller_id,
            "offset": offset,
            "limit": limit,
            "sort": sort,
        }
        if last_updated_from:
            params["order.date_last_updated.from"] = last_updated_from
        if last_updated_to:
            params["order.date_last_updated.to"] = last_updated_to
        if created_from:
            params["order.date_created.from"] = created_from
        if created_to:
            params["order.date_created.to"] = created_to
        if statuses:
            params["order.status"] = ",".join(statuses)
        return await self._get("/orders/search", params=params)

    async def get_billing_info(self, order: dict[str, Any]) -> dict[str, Any] | None:
        """The buyer's fiscal data; None when ML has none (yet).

        Current endpoint `GET /orders/billing-info/MCO/{buyer.billing_info.id}` first; when the
        order has no billing-info id, that answers 404, or MercadoLibre's PolicyAgent refuses it
        (403, the application lacks the "Facturación" permission), the deprecated
        `GET /orders/{id}/billing_info` with `x-version: 2` (same shape as the current one).
        When both refuse by policy, `PermissionMissingError(permission="billing")`: a connection
        problem, never "no billing data" (§5.2, §5.3).
        """
        buyer = order.get("buyer") or {}
        info_ref = buyer.get("billing_info") if isinstance(buyer, dict) else None
        info_id = info_ref.get("id") if isinstance(info_ref, dict) else None
        blocked: PermissionMissingError | None = None
        if info_id:
            try:
                current = await self._get_optional(f"/orders/billing-info/{SITE_ID}/{info_id}")
            except PermissionMissingError as exc:
                blocked, current = exc, None
            if current:
                return current
        try:
            legacy = await self._get_optional(
                f"/orders/{order['id']}/billing_info", headers={"x-version": "2"}
            )
        except PermissionMissingError as exc:
            blocked, legacy = blocked or exc, None
        if legacy:
            return legacy
        if blocked is not None:
            raise PermissionMissingError(
                blocked.message,
                permission=BILLING_PERMISSION,
                probe={"order_id": str(order["id"]), "billing_info_id": str(info_id or "")},
                vendor=VENDOR,
                status_code=blocked.status_code,
                vendor_code=blocked.vendor_code,
                body=blocked.body,
            )
        return None

    async def check_billing_permission(self, probe: dict[str, str]) -> None:
        """Asks billing info for the order in `probe` again: returns when MercadoLibre lets the
        application read it (whatever the answer), raises `PermissionMissingError` while not."""
        order = {
            "id": probe["order_id"],
            "buyer": {"billing_info": {"id": probe.get("billing_info_id") or None}},
        }
        await self.get_billing_info(order)

    async def get_application(self, app_id: int | str) -> dict[str, Any]:
        """`GET /applications/{app_id}`: the application's settings (`callback_url` is the
        redirect URI, `notifications_callback_url`, `notifications_topics`, `scopes`...)."""
        return await self._get(f"/applications/{app_id}")

    async def get_shipment(self, shipment_id: int | str) -> dict[str, Any]:
        """`GET /shipments/{id}` with `x-format-new: true`."""
        return await self._get(f"/shipments/{shipment_id}", headers={"x-format-new": "true"})

    async def get_shipment_costs(self, shipment_id: int | str) -> dict[str, Any] | None:
        """`GET /shipments/{id}/costs`: `receiver.cost` (buyer pays), `senders[].cost` (seller)."""
        return await self._get_optional(
            f"/shipments/{shipment_id}/costs", headers={"x-format-new": "true"}
        )

    async def get_discounts(self, order_id: int | str) -> dict[str, Any] | None:
        """`GET /orders/{id}/discounts`; None on 404."""
        return await self._get_optional(f"/orders/{order_id}/discounts")

    async def search_order_claims(self, order_id: int | str) -> list[dict[str, Any]]:
        """`GET /post-purchase/v1/claims/search?resource=order&resource_id={order_id}`
        (docs/vendors/mercadolibre.md §7):
        the claims of one order (`data[]`). MercadoLibre answers 400 to `resource_id` without
        `resource` (its claims documentation, "Buscar reclamos")."""
        found = await self._get_optional(
            "/post-purchase/v1/claims/search",
            params={"resource": "order", "resource_id": order_id, "limit": 30},
        )
        rows = (found or {}).get("data")
        return [row for row in rows if isinstance(row, dict)] if isinstance(rows, list) else []

    async def get_claim_returns(self, claim_id: int | str) -> dict[str, Any] | None:
        """`GET /post-purchase/v2/claims/{claim_id}/returns`: the return's `status_money` and
        `orders[].return_quantity`; None when the claim has no return (404)."""
        return await self._get_optional(f"/post-purchase/v2/claims/{claim_id}/returns")

    async def get_missed_feeds(
        self, app_id: int | str, *, topic: str | None = None, offset: int = 0, limit: int = 10
    ) -> dict[str, Any]:
        """`GET /missed_feeds?app_id=` (kept 2 days; reading does not acknowledge)."""
        params: dict[str, Any] = {"app_id": app_id, "offset": offset, "limit": limit}
        if topic:
            params["topic"] = topic
            if topic == "items":
                params["site_id"] = SITE_ID
        return await self._get("/missed_feeds", params=params)

    async def upload_fiscal_document(
        self, pack_or_order_id: int | str, filename: str, content: bytes, content_type: str
    ) -> dict[str, Any]:
        """`POST /packs/{pack_id}/fiscal_documents` (multipart `fiscal_document`; the order id
        when the sale has no pack). PDF ≤ 1 MB; a second file of the same type answers 409."""
        response = await self._send(
            "POST",
            f"/packs/{pack_or_order_id}/fiscal_documents",
            files={"fiscal_document": (filename, content, content_type)},
        )
        return _json_dict(response)


# The budget refills within one second's window: MercadoLibre refuses bursts above a few
# requests per second per application (docs/vendors/mercadolibre.md).
BUDGET_WINDOW_SECONDS = 1.0
# MercadoLibre counts every request of the application as it arrives, token renewals included
# (they take nothing from the budget: a renewal never waits behind sales). The budget spends
# this share of the configured rate, keeping the rest for renewals and for requests that left
# in different windows and arrive in one (a 2,000-sale backfill at the whole rate got 2 answers
# 429 out of 4,051 calls; docs/benchmarks.md).
BUDGET_SHARE = 0.9


def meli_app_limiter(runtime: Runtime) -> RateLimiter:
    """The application's budget (`CONEXAPI_MELI_REQUESTS_PER_SECOND`), one per process; its state
    is in the database (MariaDB) or in process memory (SQLite, one process). Adaptive: a 429
    halves it, and it grows back by 1 % of the nominal rate per second."""
    limiter = runtime.meli_limiter
    if limiter is None:
        url = runtime.settings.database_url
        rps = runtime.settings.mercadolibre.requests_per_second * BUDGET_SHARE
        limiter = RateLimiter(
            runtime.sessions,
            rps,
            window_seconds=BUDGET_WINDOW_SECONDS,
            capacity=max(1.0, rps / 5),
            memory_scope=url if is_sqlite(url) else None,
            clock=runtime.clock,
            vendor=VENDOR,
            adaptive=True,
        )
        runtime.meli_limiter = limiter
    return limiter


def meli_budget_key(runtime: Runtime) -> str:
    return f"mercadolibre:app:{runtime.settings.mercadolibre.client_id or 'default'}"[:191]


def meli_client(
    runtime: Runtime, connection_id: int, *, defer_when_busy: bool = False
) -> MercadoLibreClient:
    """A client for one seller connection, on the runtime's shared httpx client and within the
    application's budget. `defer_when_busy` (the sync engine): wait at most
    `CONEXAPI_RATE_MAX_WAIT_SECONDS` for a token, else raise `BudgetWaitError`."""
    section = runtime.settings.mercadolibre
    return MercadoLibreClient(
        runtime.meli_http,
        MeliAuth(MeliTokenManager(runtime), connection_id),
        limiter=meli_app_limiter(runtime),
        budget_key=meli_budget_key(runtime),
        max_wait=section.max_wait_seconds if defer_when_busy else None,
        retries=section.call_retries,
        retry_base_seconds=section.call_retry_base_seconds,
        clock=runtime.clock,
    )
