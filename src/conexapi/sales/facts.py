"""Canonical, vendor-neutral facts about one sale: the seam between marketplaces and ERPs.

`marketplaces.mercadolibre.mapping` builds these from MercadoLibre JSON; the invoice builder
(`sync.invoice_builder`) turns them into a Siigo document plan. Pure data, no I/O.
All money is `Decimal` in COP, as MercadoLibre reports it (prices include IVA).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


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


@dataclass(frozen=True)
class SaleLine:
    """One order item: `unit_price` is what the buyer paid per unit, IVA included."""

    order_id: str
    item_id: str
    title: str
    quantity: Decimal
    unit_price: Decimal
    sku: str | None = None
    variation_id: str | None = None
    seller_discount: Decimal = Decimal("0")  # seller-financed discount on the whole line
    sale_fee: Decimal = Decimal("0")  # MercadoLibre commission for the whole line


@dataclass(frozen=True)
class Refund:
    """Money MercadoLibre gave back to the buyer on an order, as seen on its payments."""

    order_id: str
    amount: Decimal
    full: bool  # the whole order was cancelled/refunded


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
    # Which version of each order these facts describe: order id → MercadoLibre's `last_updated`
    # as fetched. The sweep compares it with what `orders/search` reports to skip re-checks.
    order_versions: dict[str, str] = field(default_factory=dict)
