"""Siigo Nube REST client (one instance per company connection; the httpx client is shared).

Every request goes through the company's rate limiter (100 req/min per company, shared with any
other app the merchant uses) and `core.http.send` (one error mapping). Methods are named after the
Siigo operation and return parsed JSON. Reads and document POSTs carrying their `Idempotency-Key`
get a couple of quick retries on a 5xx or timeout (`core.retry`); anything else is the sync
layer's to decide. A 429 empties the shared bucket so every worker backs off. With `max_wait`
(the sync engine's clients), a company whose bucket has no token that soon raises
`BudgetWaitError` at once instead of sleeping: the sale is deferred, the slot takes other work.
Only the first request of a client (one sale attempt) is refused that way; once admitted, the
sale's next requests wait their turn (at most K sales of one integration are in flight). The sync
engine takes that first token before the sale's MercadoLibre calls (`reserve_first_request`).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx

from conexapi.connections.rate_limit import RequestBudget
from conexapi.core.clock import SYSTEM_CLOCK, Clock
from conexapi.core.errors import PermanentError
from conexapi.core.http import parse_siigo_error, send, siigo_errors
from conexapi.core.retry import with_retries
from conexapi.erps.siigo.auth import SiigoAuth, SiigoTokenCache
from conexapi.erps.siigo.rate_limit import RateLimiter, build_limiter, siigo_bucket_key
from conexapi.runtime import Runtime

VENDOR = "siigo"
DOCUMENT_TIMEOUT = httpx.Timeout(180.0, connect=5.0)  # Siigo: wait at least 120 s
PAGE_SIZE = 100


class SiigoClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        auth: httpx.Auth,
        *,
        limiter: RateLimiter | None = None,
        company_key: str,
        max_wait: float | None = None,
        retries: int = 0,
        retry_base_seconds: float = 0.25,
        clock: Clock | None = None,
    ) -> None:
        self.http = http
        self.auth = auth
        self.company_key = company_key
        self.retries = retries
        self.retry_base_seconds = retry_base_seconds
        self.clock = clock or SYSTEM_CLOCK
        # The company's budget: `max_wait` holds until the sale is admitted (its first token).
        self.budget = RequestBudget(
            limiter, siigo_bucket_key(company_key), max_wait=max_wait, clock=self.clock
        )

    @property
    def limiter(self) -> RateLimiter | None:
        return self.budget.limiter

    @property
    def bucket(self) -> str:
        return self.budget.key

    async def reserve_first_request(self) -> None:
        """Sets the token of the sale's first Siigo request aside now, before any other vendor
        call. Raises `BudgetWaitError` (nothing set aside) when the company's bucket has none
        within `max_wait`: a sale its company cannot serve now spends no MercadoLibre call.
        Otherwise the sale is admitted and no other sale can take that token while this one
        reads MercadoLibre, so a sale is never deferred after spending its MercadoLibre calls;
        the token is taken when the request is sent (the company's window counts it then).
        `release_unused` frees it if no request used it."""
        await self.budget.hold_first()

    async def release_unused(self) -> None:
        """Frees the token `reserve_first_request` set aside if no request used it (the sale
        needed no Siigo call, or was deferred on MercadoLibre's budget)."""
        await self.budget.release_unused()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = kwargs.get("headers") or {}
        if method == "GET" or "Idempotency-Key" in headers:
            return await with_retries(
                lambda: self._request_once(method, path, **kwargs),
                retries=self.retries,
                base_seconds=self.retry_base_seconds,
                clock=self.clock,
                vendor=VENDOR,
            )
        return await self._request_once(method, path, **kwargs)

    async def _request_once(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async with self.budget.request():  # the held token if the sale has one, else a new one
            return await send(
                self.http,
                method,
                path,
                vendor=VENDOR,
                parse_error=parse_siigo_error,
                auth=self.auth,
                **kwargs,
            )

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return (await self._request(method, path, **kwargs)).json()

    async def _dict(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        data = await self._json(method, path, **kwargs)
        if not isinstance(data, dict):
            raise PermanentError("Siigo answered an unexpected body", vendor=VENDOR)
        return data

    async def _list(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Catalog endpoints answer plain arrays; tolerate the other shapes Siigo publishes."""
        return _rows(await self._json("GET", path, params=params))

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        """Every result of a paginated endpoint, page by page until `total_results` is covered.

        An endpoint that answers a bare array instead (`/v1/users` in the older blueprint,
        docs/vendors/siigo.md §8, §16) has everything in that one answer."""
        page = 1
        while True:
            data = await self._json(
                "GET", path, params={**params, "page": page, "page_size": PAGE_SIZE}
            )
            if not isinstance(data, dict) or "results" not in data:
                for row in _rows(data):
                    yield row
                return
            results = [row for row in data.get("results") or [] if isinstance(row, dict)]
            for row in results:
                yield row
            pagination = data.get("pagination") or {}
            total = int(pagination.get("total_results") or 0)
            size = int(pagination.get("page_size") or PAGE_SIZE)
            if not results or page * size >= total:
                return
            page += 1

    # ------------------------------------------------------------------ catalogs
    async def list_document_types(self, type: str) -> list[dict[str, Any]]:
        """`GET /v1/document-types?type=FV|NC|...` (type is required in practice)."""
        return await self._list("/v1/document-types", {"type": type})

    async def list_taxes(self) -> list[dict[str, Any]]:
        """`GET /v1/taxes`."""
        return await self._list("/v1/taxes")

    async def list_payment_types(self, document_type: str) -> list[dict[str, Any]]:
        """`GET /v1/payment-types?document_type=FV|NC|RC` (required)."""
        return await self._list("/v1/payment-types", {"document_type": document_type})

    async def list_users(self) -> list[dict[str, Any]]:
        """`GET /v1/users`: every page (paginated in the portal, a bare array in the blueprint)."""
        return [row async for row in self._pages("/v1/users", {})]

    async def list_cost_centers(self) -> list[dict[str, Any]]:
        """`GET /v1/cost-centers`."""
        return await self._list("/v1/cost-centers")

    async def list_account_groups(self) -> list[dict[str, Any]]:
        """`GET /v1/account-groups`."""
        return await self._list("/v1/account-groups")

    # ------------------------------------------------------------------ products
    async def find_products(self, code: str | None = None) -> list[dict[str, Any]]:
        """`GET /v1/products[?code=]`: every page (newest first)."""
        params: dict[str, Any] = {"code": code} if code else {}
        return [row async for row in self._pages("/v1/products", params)]

    async def get_product_by_code(self, code: str) -> dict[str, Any] | None:
        """`GET /v1/products?code=` (exact code) → the product or None."""
        data = await self._dict(
            "GET", "/v1/products", params={"code": code, "page": 1, "page_size": PAGE_SIZE}
        )
        for row in data.get("results") or []:
            if isinstance(row, dict) and row.get("code") == code:
                return row
        return None

    async def create_product(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/products` (code ≤30, no spaces or quotes; `already_exists` if taken)."""
        return await self._dict("POST", "/v1/products", json=body)

    # ------------------------------------------------------------------ customers
    async def find_customer(
        self, identification: str, branch_office: int = 0
    ) -> dict[str, Any] | None:
        """`GET /v1/customers?identification=&branch_office=`; the type filter is unreliable,
        so the match is checked here."""
        data = await self._dict(
            "GET",
            "/v1/customers",
            params={"identification": identification, "branch_office": branch_office},
        )
        for row in data.get("results") or []:
            if (
                isinstance(row, dict)
                and str(row.get("identification")) == identification
                and int(row.get("branch_office") or 0) == branch_office
            ):
                return row
        return None

    async def create_customer(self, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /v1/customers`."""
        return await self._dict("POST", "/v1/customers", json=body)

    # ------------------------------------------------------------------ invoices
    async def create_invoice(self, body: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        """`POST /v1/invoices` with `Idempotency-Key` (alphanumeric, ≤30): a replay with the same
        key returns the original invoice. Long timeout: Siigo may take up to 120 s. A 5xx does
        not mean "not created": reconcile before minting a new key."""
        return await self._dict(
            "POST",
            "/v1/invoices",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            timeout=DOCUMENT_TIMEOUT,
        )

    async def get_invoice(self, invoice_id: str) -> dict[str, Any]:
        """`GET /v1/invoices/{id}` (includes `stamp`)."""
        return await self._dict("GET", f"/v1/invoices/{invoice_id}")

    async def list_invoices(self, **filters: Any) -> dict[str, Any]:
        """`GET /v1/invoices` one page: filters `document_id, customer_identification, name,
        created_start/end, date_start/end, updated_start/end, page, page_size`."""
        return await self._dict("GET", "/v1/invoices", params=filters)

    def iter_invoices(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        """Every invoice matching the filters, across pages (list items carry no `stamp`)."""
        filters.pop("page", None)
        filters.pop("page_size", None)
        return self._pages("/v1/invoices", filters)

    async def get_invoice_stamp_errors(self, invoice_id: str) -> list[str]:
        """`GET /v1/invoices/{id}/stamp/errors` → the DIAN rejection messages (either casing)."""
        data = await self._dict("GET", f"/v1/invoices/{invoice_id}/stamp/errors")
        messages: list[str] = []
        for err in siigo_errors(data):
            messages.append(f"{err.code}: {err.message}" if err.code else err.message)
        raw = data.get("errors", data.get("Errors"))
        if isinstance(raw, list):
            messages += [str(e) for e in raw if not isinstance(e, dict)]
        return messages

    async def get_invoice_pdf(self, invoice_id: str) -> bytes:
        """`GET /v1/invoices/{id}/pdf` → `{base64}` decoded."""
        data = await self._dict("GET", f"/v1/invoices/{invoice_id}/pdf")
        return base64.b64decode(str(data.get("base64") or ""))

    # ------------------------------------------------------------------ credit notes
    async def create_credit_note(
        self, body: dict[str, Any], idempotency_key: str
    ) -> dict[str, Any]:
        """`POST /v1/credit-notes` with `Idempotency-Key`. A credit note is permanent."""
        return await self._dict(
            "POST",
            "/v1/credit-notes",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            timeout=DOCUMENT_TIMEOUT,
        )

    async def get_credit_note(self, credit_note_id: str) -> dict[str, Any]:
        """`GET /v1/credit-notes/{id}`."""
        return await self._dict("GET", f"/v1/credit-notes/{credit_note_id}")

    async def list_credit_notes(self, **filters: Any) -> dict[str, Any]:
        """`GET /v1/credit-notes` one page (filters `name, created_*, date_*, updated_*`)."""
        return await self._dict("GET", "/v1/credit-notes", params=filters)

    def iter_credit_notes(self, **filters: Any) -> AsyncIterator[dict[str, Any]]:
        filters.pop("page", None)
        filters.pop("page_size", None)
        return self._pages("/v1/credit-notes", filters)


def _rows(data: Any) -> list[dict[str, Any]]:
    """The rows of a catalog answer: a bare array (the blueprint), a paginated envelope
    (`results`), or one object standing for a one-row catalog (the developer portal shows
    `GET /v1/document-types?type=NC` answering a single object, docs/vendors/siigo.md §16)."""
    if isinstance(data, dict):
        if "results" in data:
            data = data.get("results")
        elif "id" in data:
            data = [data]
    return [row for row in data if isinstance(row, dict)] if isinstance(data, list) else []


def siigo_limiter(runtime: Runtime) -> RateLimiter:
    """The process's limiter (its state is in the database; the object is just the policy)."""
    if runtime.siigo_limiter is None:
        runtime.siigo_limiter = build_limiter(runtime)
    return runtime.siigo_limiter


def siigo_client(
    runtime: Runtime,
    connection_id: int,
    *,
    company_key: str | None = None,
    defer_when_busy: bool = False,
) -> SiigoClient:
    """A client for one Siigo company connection. The rate bucket is per connection (one Siigo
    API user = one company; the same user cannot be connected twice). `defer_when_busy` (the
    sync engine): wait at most `CONEXAPI_RATE_MAX_WAIT_SECONDS` for a token, else raise
    `BudgetWaitError`; otherwise (a person's page, setup) wait as long as needed."""
    section = runtime.settings.siigo
    auth = SiigoAuth(SiigoTokenCache(runtime), connection_id, section.partner_id)
    return SiigoClient(
        runtime.siigo_http,
        auth,
        limiter=siigo_limiter(runtime),
        company_key=company_key or f"connection-{connection_id}",
        max_wait=section.max_wait_seconds if defer_when_busy else None,
        retries=section.call_retries,
        retry_base_seconds=section.call_retry_base_seconds,
        clock=runtime.clock,
    )
