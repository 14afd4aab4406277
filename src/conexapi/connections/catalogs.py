"""Siigo catalogs of one company, cached in `erp_catalog` rows: read once, refreshed on demand.

Document types, taxes, payment types, users (sellers), cost centers and account groups change
rarely, and Siigo's per-company limit (10/min on a test company) cannot afford reading them per
sale. `load_catalogs` answers from the database and calls Siigo only when a kind is missing, older
than `max_age`, or `refresh=True`. The products catalog is large, so it is loaded separately
(`load_products`) and only where a whole-catalog view is needed (mapping checks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.repository import CatalogStore
from conexapi.db import retry_on_lock_conflict, utcnow
from conexapi.erps.siigo.client import SiigoClient
from conexapi.erps.siigo.documents.taxes import TaxRate, tax_rates
from conexapi.runtime import Runtime

NON_ELECTRONIC = "NoElectronic"


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DocumentType(_Row):
    id: int
    # A string ("1") in the portal and blueprint, a number in some answers: kept as text.
    code: str | None = None
    name: str = ""
    type: str = ""
    active: bool = True
    electronic_type: str | None = None
    automatic_number: bool = True
    cost_center: bool = False
    cost_center_mandatory: bool = False
    seller_by_item: bool = False
    decimals: bool = True
    discount_type: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _portal_shape(cls, data: Any) -> Any:
        """The developer portal shows NC types with a GUID `id` and the numeric document id in
        `number` (docs/vendors/siigo.md §16); `document.id` on a credit note is that number."""
        if isinstance(data, dict):
            data = dict(data)
            if not _is_int(data.get("id")) and _is_int(data.get("number")):
                data["id"] = data["number"]
            if isinstance(data.get("code"), int | float) and not isinstance(data["code"], bool):
                data["code"] = str(int(data["code"]))
        return data

    @property
    def electronic(self) -> bool:
        return bool(self.electronic_type) and self.electronic_type != NON_ELECTRONIC

    @property
    def electronic_unknown(self) -> bool:
        """Siigo's NC types carry no `electronic_type` at all (docs/vendors/siigo.md §16): whether
        they are electronic follows from the company's invoices, not from the row."""
        return not self.electronic_type


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and value.strip().isdigit()


class Tax(_Row):
    id: int
    name: str = ""
    type: str = ""
    percentage: Decimal = Decimal(0)
    active: bool = True


class PaymentType(_Row):
    id: int
    name: str = ""
    type: str | None = None
    active: bool = True
    due_date: bool = False


class SiigoUser(_Row):
    id: int
    username: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    active: bool = True

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username


class CostCenter(_Row):
    id: int
    code: str | int | None = None
    name: str = ""
    active: bool = True


class AccountGroup(_Row):
    id: int
    name: str = ""
    active: bool = True


class Product(_Row):
    id: str
    code: str
    name: str = ""
    type: str = "Product"
    active: bool = True
    tax_classification: str = "Taxed"
    taxes: list[dict[str, Any]] = []
    reference: str | None = None
    additional_fields: dict[str, Any] | None = None

    @property
    def barcode(self) -> str | None:
        value = (self.additional_fields or {}).get("barcode")
        return str(value) if value not in (None, "") else None


KINDS = (
    "document_types_fv",
    "document_types_nc",
    "taxes",
    "payment_types_fv",
    "payment_types_nc",
    "users",
    "cost_centers",
    "account_groups",
)
PRODUCTS = "products"


async def _fetch(client: SiigoClient, kind: str) -> list[dict[str, Any]]:
    if kind == "document_types_fv":
        return await client.list_document_types("FV")
    if kind == "document_types_nc":
        return await client.list_document_types("NC")
    if kind == "taxes":
        return await client.list_taxes()
    if kind == "payment_types_fv":
        return await client.list_payment_types("FV")
    if kind == "payment_types_nc":
        return await client.list_payment_types("NC")
    if kind == "users":
        return await client.list_users()
    if kind == "cost_centers":
        return await client.list_cost_centers()
    if kind == "account_groups":
        return await client.list_account_groups()
    if kind == PRODUCTS:
        return await client.find_products()
    raise ValueError(f"unknown catalog kind {kind}")


def _parse(model: type[_Row], rows: list[Any]) -> list[Any]:
    out = []
    for row in rows:
        if isinstance(row, dict) and row.get("id") is not None:
            try:
                out.append(model.model_validate(row))
            except ValueError:
                continue  # one odd row must not hide the whole catalog
    return out


@dataclass(frozen=True)
class Catalogs:
    """Typed, read-only view of one company's catalogs."""

    connection_id: int
    fetched_at: datetime
    document_types_fv: list[DocumentType]
    document_types_nc: list[DocumentType]
    taxes: list[Tax]
    payment_types_fv: list[PaymentType]
    payment_types_nc: list[PaymentType]
    users: list[SiigoUser]
    cost_centers: list[CostCenter]
    account_groups: list[AccountGroup]
    products: dict[str, Product] | None = field(default=None)

    @classmethod
    def from_rows(
        cls, connection_id: int, rows: dict[str, list[Any]], fetched_at: datetime
    ) -> Catalogs:
        return cls(
            connection_id=connection_id,
            fetched_at=fetched_at,
            document_types_fv=_parse(DocumentType, rows.get("document_types_fv", [])),
            document_types_nc=_parse(DocumentType, rows.get("document_types_nc", [])),
            taxes=_parse(Tax, rows.get("taxes", [])),
            payment_types_fv=_parse(PaymentType, rows.get("payment_types_fv", [])),
            payment_types_nc=_parse(PaymentType, rows.get("payment_types_nc", [])),
            users=_parse(SiigoUser, rows.get("users", [])),
            cost_centers=_parse(CostCenter, rows.get("cost_centers", [])),
            account_groups=_parse(AccountGroup, rows.get("account_groups", [])),
        )

    def document_type(self, kind: str, document_id: int) -> DocumentType | None:
        rows = self.document_types_fv if kind == "FV" else self.document_types_nc
        return next((d for d in rows if d.id == document_id), None)

    def tax(self, tax_id: int) -> Tax | None:
        return next((t for t in self.taxes if t.id == tax_id), None)

    def payment_type(self, kind: str, payment_id: int) -> PaymentType | None:
        rows = self.payment_types_fv if kind == "FV" else self.payment_types_nc
        return next((p for p in rows if p.id == payment_id), None)

    def user(self, user_id: int) -> SiigoUser | None:
        return next((u for u in self.users if u.id == user_id), None)

    def cost_center(self, cost_center_id: int) -> CostCenter | None:
        return next((c for c in self.cost_centers if c.id == cost_center_id), None)

    @property
    def invoices_electronically(self) -> bool:
        """The company has an active electronic sales invoice type (its NC types are then
        electronic too, whether or not their rows say so)."""
        return any(d.active and d.electronic for d in self.document_types_fv)

    def credit_note_is_electronic(self, doc: DocumentType) -> bool:
        """An NC type is electronic when it says so, or, saying nothing (the usual case,
        docs/vendors/siigo.md §16), when the company invoices electronically."""
        if doc.electronic_unknown:
            return self.invoices_electronically
        return doc.electronic

    def active_account_groups(self) -> list[AccountGroup]:
        return [g for g in self.account_groups if g.active]

    def product(self, code: str) -> Product | None:
        """From the products catalog, when it was loaded (`load_products`)."""
        return self.products.get(code) if self.products is not None else None


async def load_catalogs(
    session: AsyncSession,
    client: SiigoClient,
    connection_id: int,
    *,
    refresh: bool = False,
    max_age: timedelta = timedelta(hours=12),
) -> Catalogs:
    """The cached catalogs; Siigo is asked only for kinds missing, stale or when `refresh`."""
    store = CatalogStore(session, connection_id)
    cached = await store.all()
    now = utcnow()
    rows: dict[str, list[Any]] = {}
    fetched_now: list[str] = []
    oldest = now
    for kind in KINDS:
        row = cached.get(kind)
        fetched = row.fetched_at.replace(tzinfo=None) if row is not None else None
        if row is not None and fetched is not None and not refresh and now - fetched <= max_age:
            rows[kind] = list(row.data)
            oldest = min(oldest, fetched)
            continue
        rows[kind] = await _fetch(client, kind)
        fetched_now.append(kind)
    # Every Siigo call first, then the writes: no write lock is held across HTTP calls.
    for kind in fetched_now:
        await store.save(kind, rows[kind], now)
    await session.flush()
    return Catalogs.from_rows(connection_id, rows, oldest)


async def load_products(
    session: AsyncSession,
    client: SiigoClient,
    connection_id: int,
    *,
    refresh: bool = False,
    max_age: timedelta = timedelta(hours=1),
) -> dict[str, Product]:
    """Every product of the company by code (cached like the other catalogs, shorter max age)."""
    products, _ = await load_products_at(
        session, client, connection_id, refresh=refresh, max_age=max_age
    )
    return products


async def load_products_at(
    session: AsyncSession,
    client: SiigoClient,
    connection_id: int,
    *,
    refresh: bool = False,
    max_age: timedelta = timedelta(hours=1),
) -> tuple[dict[str, Product], datetime]:
    """`load_products`, and when Siigo was read (naive UTC)."""
    store = CatalogStore(session, connection_id)
    row = (await store.all()).get(PRODUCTS)
    now = utcnow()
    fetched = row.fetched_at.replace(tzinfo=None) if row is not None else None
    if fetched is not None and row is not None and not refresh and now - fetched <= max_age:
        data = list(row.data)
    else:
        data = await _fetch(client, PRODUCTS)
        await store.save(PRODUCTS, data, now)
        fetched = now
    products: list[Product] = _parse(Product, data)
    return {p.code: p for p in products}, fetched


async def remember_product(
    session: AsyncSession, connection_id: int, product: dict[str, Any]
) -> None:
    """Adds a product we just created or found to the cached products catalog, if present."""
    store = CatalogStore(session, connection_id)
    row = (await store.all()).get(PRODUCTS)
    if row is None:
        return
    data = [
        p for p in row.data if not (isinstance(p, dict) and p.get("code") == product.get("code"))
    ]
    data.append(product)
    await store.save(PRODUCTS, data, row.fetched_at.replace(tzinfo=None))


# --- the tax catalog, for every invoice ------------------------------------------------------

TAXES = "taxes"


async def load_tax_rates(
    runtime: Runtime,
    client: SiigoClient,
    connection_id: int,
    *,
    refresh: bool = False,
    max_age: timedelta = timedelta(hours=12),
) -> dict[int, TaxRate]:
    """The company's tax catalog (`GET /v1/taxes`) by id, for building documents.

    Every invoice needs it (each line's percentage comes from it), so it is kept in the process
    for `CONEXAPI_TAX_CATALOG_MEMORY_SECONDS` (at most `CONEXAPI_CACHE_CONNECTIONS` companies), then
    read from the cached `erp_catalog` row, and only then, or when `refresh` (a product names a
    tax the cached catalog lacks), asked from Siigo.
    """
    memory = runtime.tax_catalogs
    if memory is None:
        settings = runtime.settings
        memory = runtime.tax_catalogs = TTLCache(
            maxsize=settings.cache_connections, ttl=settings.tax_catalog_memory_seconds
        )
    cached = memory.get(connection_id)
    if cached is not None and not refresh:
        return cached
    now = utcnow()
    rows: list[Any] | None = None
    if not refresh:
        async with runtime.sessions() as session:
            row = await CatalogStore(session, connection_id).get(TAXES)
            if row is not None and now - row.fetched_at.replace(tzinfo=None) <= max_age:
                rows = list(row.data)
    if rows is None:
        rows = await client.list_taxes()
        fetched = rows

        async def save() -> None:
            async with runtime.sessions() as session:
                await CatalogStore(session, connection_id).save(TAXES, fetched, now)
                await session.commit()

        await retry_on_lock_conflict(save)
    rates = tax_rates(rows)
    memory[connection_id] = rates
    return rates
