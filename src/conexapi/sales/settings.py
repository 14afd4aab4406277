"""The invoicing settings of one integration (one ML account linked to one Siigo company).

Stored as JSON on the integration row; validated here. Ids refer to the Siigo catalogs and are
checked against them when set through the API (`integrations.service`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class InvoiceTrigger(StrEnum):
    PAID = "paid"
    DELIVERED = "delivered"


class ConsumerFallback(BaseModel):
    """Who the invoice goes to when the buyer gave no fiscal data ("consumidor final")."""

    model_config = ConfigDict(extra="forbid")

    identification: str = "222222222222"
    id_type: str = "13"
    name: str = "Consumidor final"


class InvoicingSettings(BaseModel):
    """Everything the invoice builder needs besides the sale itself.

    A field left as None is "not set": sales wait in `needs_attention` naming the missing setting.
    """

    model_config = ConfigDict(extra="forbid")

    fv_document_id: int | None = None
    nc_document_id: int | None = None
    seller_id: int | None = None
    payment_type_id: int | None = None
    nc_payment_type_id: int | None = None
    iva_tax_id: int | None = None
    iva_rate: Decimal = Field(default=Decimal("19"), ge=0, le=100)
    cost_center_id: int | None = None
    shipping_product_code: str | None = None
    invoice_trigger: InvoiceTrigger = InvoiceTrigger.PAID
    stamp: bool = True
    send_email: bool = False
    prices_include_iva: bool = True
    consumer_fallback: ConsumerFallback | None = Field(default_factory=ConsumerFallback)
    fallback_email: str = "facturacion@conexapi.dev"
    credit_notes_auto: bool = True
    upload_invoice_to_marketplace: bool = False
    # Let a person create, from a SKU Siigo has no product for, that product in Siigo (a safe
    # code, the item's title, the tax they pick). Off: products are created in Siigo by hand.
    create_missing_products: bool = False

    def missing(self) -> list[str]:
        """Names of the settings without which no invoice can be built."""
        required = ("fv_document_id", "seller_id", "payment_type_id", "iva_tax_id")
        return [name for name in required if getattr(self, name) is None]

    def missing_for_credit_notes(self) -> list[str]:
        required = ("nc_document_id", "nc_payment_type_id", "iva_tax_id")
        return [name for name in required if getattr(self, name) is None]
