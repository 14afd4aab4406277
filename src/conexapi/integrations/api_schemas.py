"""API schemas for integrations and product mappings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from conexapi.sales.settings import InvoicingSettings


class IntegrationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mercadolibre_connection_id: int
    siigo_connection_id: int
    settings: InvoicingSettings | None = Field(
        default=None, description="Settings given here are kept; the others are proposed."
    )
    create_shipping_product: bool = Field(
        default=False,
        description="Create the ENVIOML service product in Siigo when none exists.",
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


class IntegrationRead(BaseModel):
    id: int
    mercadolibre_connection_id: int
    siigo_connection_id: int
    active: bool
    settings: InvoicingSettings
    proposals: dict[str, Proposal]
    missing: list[str]
    created_at: datetime
    updated_at: datetime


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


class RejectedLine(BaseModel):
    line: int
    sku: str | None
    reason: str


class ImportReport(BaseModel):
    accepted: int
    rejected: list[RejectedLine]


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
