"""API schemas for integrations and product mappings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from conexapi.db import DbId
from conexapi.sales.settings import InvoicingSettings


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mercadolibre_connection_id: DbId
    siigo_connection_id: DbId
    settings: InvoicingSettings | None = Field(
        default=None, description="Settings given here are kept; the others are proposed."
    )
    create_shipping_product: bool = Field(
        default=False,
        description="Create the ENVIOML service product in Siigo when none exists.",
    )
    preview: bool = Field(
        default=False,
        description="Start in Vista previa: invoices are built and shown, none is sent to Siigo.",
    )


class IntegrationPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: dict[str, Any] | None = Field(
        default=None, description="Only the settings to change; null clears an optional one."
    )
    active: bool | None = None


class Proposal(BaseModel):
    value: Any
    reason: str
    # The same reason in the seller's words (Spanish, "usted"), for the dashboard.
    text: str = ""


class IntegrationRead(BaseModel):
    id: int
    mercadolibre_connection_id: int
    siigo_connection_id: int
    active: bool
    preview: bool = Field(description="Vista previa: invoices are built, none is sent")
    settings: InvoicingSettings
    proposals: dict[str, Proposal]
    missing: list[str]
    created_at: datetime
    updated_at: datetime


class GoLive(BaseModel):
    """Leave Vista previa: previewed sales dated `invoice_from` or later are invoiced now, the
    earlier ones are skipped (`before_go_live`)."""

    model_config = ConfigDict(extra="forbid")
    invoice_from: date


class GoLiveResult(BaseModel):
    invoiced: int = Field(description="Previewed sales due now, to be invoiced")
    skipped: int = Field(description="Previewed sales before invoice_from: never invoiced")


class ProductMappingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    sku: str
    erp_code: str
    updated_at: datetime


class ProductMappingPage(BaseModel):
    items: list[ProductMappingRead]
    total: int
    page: int
    page_size: int


class ProductMappingPut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    erp_code: str = Field(min_length=1, max_length=30)


class RejectedMapping(BaseModel):
    sku: str
    erp_code: str
    code: str  # invalid_sku, invalid_erp_code, erp_code_not_found, erp_code_inactive
    message: str


class MappingItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    erp_code: str = Field(min_length=1, max_length=60)


class BulkMappingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mappings: list[MappingItem] = Field(min_length=1, max_length=1000)


class BulkMappingReport(BaseModel):
    saved: dict[str, str] = Field(description="SKU → Siigo code saved")
    rejected: list[RejectedMapping]
    sales_retried: int = Field(description="Sales that waited for these SKUs, due again now")


class RejectedLine(BaseModel):
    line: int
    sku: str | None
    reason: str


class ImportReport(BaseModel):
    accepted: int
    rejected: list[RejectedLine]
    sales_retried: int = 0


class MappingCheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skus: list[str] = Field(default_factory=list, max_length=1000)
    refresh: bool = False


class MappingCheckItem(BaseModel):
    sku: str
    erp_code: str
    source: str  # "mapping" or "identity"
    status: str  # "ok", "not_found", "inactive", "invalid_code"
    product_name: str | None = None
    message: str


class MappingCheckReport(BaseModel):
    ok: int
    problems: int
    items: list[MappingCheckItem]


class ProductProposalRead(BaseModel):
    code: str
    name: str
    match: str = Field(description="exact_code, clean_code, reference, barcode or similar_name")
    score: float = Field(description="0..1, how sure the match is")


class UnmappedSkuRead(BaseModel):
    sku: str
    title: str
    sales: int = Field(description="Sales waiting for this SKU")
    since: datetime
    current_code: str | None = Field(description="Its mapping, when the mapped code fails")
    usable_as_code: bool = Field(description="Siigo would take the SKU itself as a code")
    suggested_code: str = Field(description="A code Siigo accepts, for creating the product")
    proposals: list[ProductProposalRead]


class UnmappedSkuPage(BaseModel):
    items: list[UnmappedSkuRead]
    create_products: bool = Field(
        description="The integration lets ConexAPI create missing products in Siigo"
    )


class CreateProductRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: str = Field(min_length=1, max_length=120)
    tax_id: int = Field(
        ge=1, le=2**31 - 1, description="The Siigo tax of the product (from /v1/taxes)"
    )
    code: str | None = Field(default=None, max_length=30, description="Default: a safe code")
    name: str | None = Field(default=None, max_length=100, description="Default: the item title")


class CreateProductReport(BaseModel):
    sku: str
    erp_code: str
    product_name: str
    sales_retried: int
