"""Canonical, vendor-neutral facts about one sale: the seam between marketplaces and ERPs.

`marketplaces.mercadolibre.mapping` builds these from MercadoLibre JSON; the invoice builder
(`erps.siigo.documents.invoice`) turns them into a Siigo document plan. Pure data, no I/O.
All money is `Decimal` in COP, as MercadoLibre reports it (prices include IVA).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal("0")


class BillingStatus(StrEnum):
    """What MercadoLibre's billing info said about the buyer's fiscal data
    (docs/vendors/mercadolibre.md §5.3)."""

    COMPLETE = "complete"  # identification present
    PROCESSING = "processing"  # the fiscal document is still PROCESSING: fields come null
    MISSING = "missing"  # the buyer gave none (or MercadoLibre has none)


@dataclass(frozen=True)
class Buyer:
    """The buyer's fiscal identity, from MercadoLibre billing info (or the order as a fallback)."""

    id_type: str  # MercadoLibre's type: "CC", "CE", "NIT", "PASSPORT"...
    identification: str
    first_name: str
    last_name: str = ""
    is_company: bool = False
    company_name: str = ""
    street: str = ""
    city_name: str = ""
    state_name: str = ""
    state_code: str = ""  # MercadoLibre's ISO-like "CO-DC"
    zip_code: str = ""
    email: str | None = None
    # DIAN fiscal responsibilities billing info gave ("O-13", "O-15", "O-23", "O-47", "R-99-PN").
    fiscal_responsibilities: tuple[str, ...] = ()
    vat_responsible: bool = False


@dataclass(frozen=True)
class SaleLine:
    """One order item: `unit_price` is what the buyer paid per unit, IVA included.

    A price promotion (campaign, deal, volume, seller campaign) is already in `unit_price`
    (`full_unit_price` is the list price before it). Coupons are not: they come from
    `/orders/{id}/discounts`, split by who funds them (docs/fiscal.md, "Descuentos").
    """

    order_id: str
    item_id: str
    title: str
    quantity: Decimal
    unit_price: Decimal
    sku: str | None = None
    variation_id: str | None = None
    full_unit_price: Decimal | None = None
    seller_coupon: Decimal = ZERO  # coupons funded by the seller, whole line
    meli_coupon: Decimal = ZERO  # coupons funded by MercadoLibre, whole line
    # MercadoLibre's share of a price promotion (already out of `unit_price`) and the part of it
    # MercadoLibre pays back as a lower sale fee (`funding_mode: sale_fee`).
    meli_rebate: Decimal = ZERO
    meli_rebate_in_fee: Decimal = ZERO
    sale_fee: Decimal = ZERO  # MercadoLibre commission for the whole line

    @property
    def gross(self) -> Decimal:
        """What the line costs at the price the buyer saw, before coupons (IVA included)."""
        return self.unit_price * self.quantity

    @property
    def promotion(self) -> Decimal:
        """The price promotion already applied (list price minus unit price, whole line)."""
        if self.full_unit_price is None or self.full_unit_price <= self.unit_price:
            return ZERO
        return (self.full_unit_price - self.unit_price) * self.quantity


@dataclass(frozen=True)
class Refund:
    """Money MercadoLibre gave back to the buyer on an order, as seen on its payments."""

    order_id: str
    amount: Decimal
    full: bool  # the whole order was cancelled/refunded


@dataclass(frozen=True)
class ReturnedItem:
    """Units of one item that came back to the seller (a claim's return, `return_quantity`)."""

    item_id: str
    variation_id: str | None
    quantity: Decimal


@dataclass(frozen=True)
class OrderClaim:
    """A MercadoLibre claim on an order, as far as credit notes care
    (docs/vendors/mercadolibre.md §7)."""

    claim_id: str
    order_id: str
    # MercadoLibre applied its coverage (`resolution.applied_coverage`): it paid the buyer with
    # its own money and the seller keeps the sale's money, so nothing is credited.
    covered: bool = False
    returned: tuple[ReturnedItem, ...] = ()
    closed: bool = True
    # A return exists whose money has not gone back to the buyer yet: what it returns is not
    # known as returned, so no credit for this order's money is decided meanwhile.
    return_pending: bool = False


@dataclass(frozen=True)
class SaleFacts:
    """Everything known about one sale (a pack, or an order without pack) at fetch time."""

    external_id: str  # pack id when the order has one, else the order id
    order_ids: tuple[str, ...]
    pack_id: str | None
    seller_id: str
    statuses: tuple[str, ...]  # MercadoLibre status of each order, in `order_ids` order
    tags: frozenset[str]
    lines: tuple[SaleLine, ...]
    buyer: Buyer | None
    buyer_nickname: str = ""
    buyer_display_name: str = ""
    shipping_paid_by_buyer: Decimal = Decimal("0")
    shipping_paid_by_seller: Decimal = Decimal("0")
    total_paid: Decimal = Decimal("0")  # what the buyer paid, products and shipping
    marketplace_fee: Decimal = Decimal("0")
    refunds: tuple[Refund, ...] = ()
    sale_date: datetime | None = None
    delivered: bool = False
    pack_complete: bool = True  # every order the pack lists was fetched
    extra: dict[str, str] = field(default_factory=dict)
    billing_status: BillingStatus = BillingStatus.COMPLETE
    # False when the buyer may have paid shipping but neither the shipment's costs nor the
    # orders/payments say how much (the sale waits rather than drop a line the buyer paid).
    shipping_known: bool = True
    # Which version of each order these facts describe: order id → MercadoLibre's `last_updated`
    # as fetched. The sweep compares it with what `orders/search` reports to skip re-checks.
    order_versions: dict[str, str] = field(default_factory=dict)
    # False when the shipment's costs were not read yet: the invoice did not need them (the
    # payments say what the buyer paid for shipping), and the seller's share
    # (`shipping_paid_by_seller`, for profit only) is read after the invoice.
    shipping_seller_known: bool = True
