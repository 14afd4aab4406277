"""The invoicing settings of one integration (one ML account linked to one Siigo company).

Stored as JSON on the integration row; validated here. Ids refer to the Siigo catalogs and are
checked against them when set through the API (`integrations.service`).

Fiscal choices and their sources are explained in `docs/fiscal.md`.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Settings that existed once and were removed, with why (a request that still sends one is
# refused with this text; a stored row that still holds one is cleaned when read).
REMOVED_SETTINGS: dict[str, str] = {
    "iva_rate": (
        "iva_rate was removed: the IVA percentage now comes from Siigo's tax catalog "
        "(GET /v1/taxes) for the tax of each product, so a tax id and a rate can never "
        "contradict each other. Set iva_tax_id (the IVA for products without a tax in Siigo) "
        "instead."
    ),
}


class InvoiceTrigger(StrEnum):
    PAID = "paid"
    DELIVERED = "delivered"


class ShippingTax(StrEnum):
    """Which tax the shipping line the buyer paid carries (docs/fiscal.md, "Envío")."""

    PRINCIPAL_GOOD = "principal_good"  # the tax of the cart's principal good (E.T. art. 447)
    FIXED = "fixed"  # `shipping_tax_id`, whatever the cart holds


class MeliCouponInvoicing(StrEnum):
    """Where the MercadoLibre-funded share of a coupon goes (docs/fiscal.md, "Descuentos")."""

    AS_PRICE = "as_price"  # invoiced to the buyer as part of the price: ML pays it for them
    AS_DISCOUNT = "as_discount"  # the invoice says what the buyer paid; ML's share is not on it


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
    # The IVA of a product that has no tax in Siigo (a product classified Exempt or Excluded
    # never takes it). The percentage is read from Siigo's tax catalog, never typed here.
    iva_tax_id: int | None = None
    cost_center_id: int | None = None
    shipping_product_code: str | None = None
    shipping_tax: ShippingTax = ShippingTax.PRINCIPAL_GOOD
    shipping_tax_id: int | None = None  # with `shipping_tax: fixed`; None = no tax (excluded)
    meli_coupon_invoicing: MeliCouponInvoicing = MeliCouponInvoicing.AS_PRICE
    # DIAN concept of a credit note for money given back without goods coming back:
    # 3 "Rebaja o descuento parcial o total" or 4 "Ajuste de precio" (Resolución 042 de 2020).
    money_refund_reason: Literal[3, 4] = 3
    # How long a sale waits for MercadoLibre data that is still being processed (billing info
    # PROCESSING, shipping cost unknown) before the fallback (consumidor final) or a person.
    data_wait_hours: int = Field(default=24, ge=0, le=720)
    invoice_trigger: InvoiceTrigger = InvoiceTrigger.PAID
    stamp: bool = True
    send_email: bool = False
    prices_include_iva: bool = True
    consumer_fallback: ConsumerFallback | None = Field(default_factory=ConsumerFallback)
    # The seller's own billing address, for buyers without an e-mail (None: no contact e-mail).
    fallback_email: str | None = Field(default=None, max_length=100)
    credit_notes_auto: bool = True
    upload_invoice_to_marketplace: bool = False
    # Let a person create, from a SKU Siigo has no product for, that product in Siigo (a safe
    # code, the item's title, the tax they pick). Off: products are created in Siigo by hand.
    create_missing_products: bool = False

    @model_validator(mode="before")
    @classmethod
    def _refuse_removed(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            for name, why in REMOVED_SETTINGS.items():
                if name in data:
                    raise ValueError(why)
        return data

    @model_validator(mode="after")
    def _clean_email(self) -> InvoicingSettings:
        if self.fallback_email is not None:
            email = self.fallback_email.strip()
            if email and ("@" not in email or " " in email):
                raise ValueError("fallback_email must be an e-mail address")
            self.fallback_email = email or None
        return self

    @classmethod
    def from_stored(cls, data: Mapping[str, Any] | None) -> InvoicingSettings:
        """Settings as stored on an integration row; removed settings are dropped, not refused
        (the migration that removed them cleans the rows, this covers a row written since by an
        older process)."""
        kept = {k: v for k, v in (data or {}).items() if k not in REMOVED_SETTINGS}
        return cls.model_validate(kept)

    def missing(self) -> list[str]:
        """Names of the settings without which no invoice can be built."""
        required = ("fv_document_id", "seller_id", "payment_type_id", "iva_tax_id")
        return [name for name in required if getattr(self, name) is None]

    def missing_for_credit_notes(self) -> list[str]:
        required = ("nc_document_id", "nc_payment_type_id")
        return [name for name in required if getattr(self, name) is None]
