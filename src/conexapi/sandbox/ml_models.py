"""MercadoLibre in-memory records and their JSON rendering (docs/vendors/mercadolibre.md §3-§7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from conexapi.sandbox.clock import ml_time, money
from conexapi.sandbox.constants import SITE_ID

# Functional permissions of the application as this seller's grant sees them (§1.1). Really
# they belong to the application; per seller, one sandbox can show both cases at once.
PERMISSIONS = ("orders", "billing")


@dataclass
class Seller:
    id: int
    nickname: str
    first_name: str = "Tienda"
    last_name: str = "Sandbox"
    email: str = "ventas@tienda-sandbox.co"
    permissions: set[str] = field(default_factory=lambda: set(PERMISSIONS))

    def render(self, private: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "nickname": self.nickname,
            "site_id": SITE_ID,
            "country_id": "CO",
            "user_type": "normal",
            "tags": ["normal", "test_user"],
            "permalink": f"http://perfil.mercadolibre.com.co/{self.nickname}",
            "seller_reputation": {"level_id": "5_green", "power_seller_status": None},
            "status": {"site_status": "active"},
        }
        if private:
            data.update(first_name=self.first_name, last_name=self.last_name, email=self.email)
        return data


@dataclass
class BillingInfo:
    id: str
    cust_id: int
    id_type: str  # CC | CE | NIT
    id_number: str
    name: str
    last_name: str | None
    street_name: str
    street_number: str
    city_name: str
    state_name: str
    state_code: str
    zip_code: str
    neighborhood: str | None
    comment: str | None
    # While > 0 the fiscal document is still PROCESSING: each read answers it with the fields
    # null (MercadoLibre's billing-info FAQ) and counts down.
    processing_reads: int = 0

    def processing_block(self) -> dict[str, Any]:
        return {
            "name": None,
            "last_name": None,
            "identification": {"type": None, "number": None},
            "address": {
                "street_name": None,
                "street_number": None,
                "city_name": None,
                "state": {"name": None, "code": None},
                "zip_code": None,
                "country_id": "CO",
            },
            "attributes": {"is_normalized": False, "cust_type": None},
        }

    def read_v2(self, seller_id: int) -> dict[str, Any]:
        """One read of the current endpoint (counts down a PROCESSING document)."""
        if self.processing_reads > 0:
            self.processing_reads -= 1
            return {
                "site_id": SITE_ID,
                "buyer": {"cust_id": self.cust_id, "billing_info": self.processing_block()},
                "seller": {"cust_id": seller_id},
            }
        return self.render_v2(seller_id)

    def billing_block(self) -> dict[str, Any]:
        block: dict[str, Any] = {"name": self.name}
        if self.last_name is not None:  # NIT buyers (companies) come without last_name
            block["last_name"] = self.last_name
        block["identification"] = {"type": self.id_type, "number": self.id_number}
        block["address"] = {
            "street_name": self.street_name,
            "street_number": self.street_number,
            "city_name": self.city_name,
            "comment": self.comment,
            "neighborhood": self.neighborhood,
            "state": {"name": self.state_name, "code": self.state_code},
            "zip_code": self.zip_code,
            "country_id": "CO",
        }
        block["attributes"] = {
            "is_normalized": True,
            "cust_type": "BU" if self.id_type == "NIT" else "CO",
        }
        return block

    def render_v2(self, seller_id: int) -> dict[str, Any]:
        return {
            "site_id": SITE_ID,
            "buyer": {"cust_id": self.cust_id, "billing_info": self.billing_block()},
            "seller": {"cust_id": seller_id},
        }

    def render_legacy(self) -> dict[str, Any]:
        additional = [
            {"type": "DOC_TYPE", "value": self.id_type},
            {"type": "DOC_NUMBER", "value": self.id_number},
            {"type": "FIRST_NAME", "value": self.name},
            {"type": "STREET_NAME", "value": self.street_name},
            {"type": "STREET_NUMBER", "value": self.street_number},
            {"type": "CITY_NAME", "value": self.city_name},
            {"type": "STATE_NAME", "value": self.state_name},
            {"type": "ZIP_CODE", "value": self.zip_code},
        ]
        if self.last_name is not None:
            additional.insert(3, {"type": "LAST_NAME", "value": self.last_name})
        return {
            "billing_info": {
                "doc_type": self.id_type,
                "doc_number": self.id_number,
                "additional_info": additional,
            }
        }


@dataclass
class Buyer:
    id: int
    nickname: str
    first_name: str
    last_name: str | None
    billing: BillingInfo | None
    # ML always hands out a billing_info id; for buyers without fiscal data it answers 404.
    billing_info_id: str = ""
    # Orders since 2024 carry only `buyer.id`: no nickname, no names (docs/vendors/mercadolibre.md
    # §15).
    id_only: bool = False

    def render(self) -> dict[str, Any]:
        ref = {"billing_info": {"id": self.billing_info_id or None}}
        if self.id_only:
            return {"id": self.id, **ref}
        return {
            "id": self.id,
            "nickname": self.nickname,
            "first_name": self.first_name,
            "last_name": self.last_name,
            **ref,
        }


@dataclass
class Item:
    id: str
    seller_id: int
    title: str
    category_id: str
    price: Decimal
    sku: str
    variations: list[dict[str, Any]] = field(default_factory=list)

    def render(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "site_id": SITE_ID,
            "title": self.title,
            "seller_id": self.seller_id,
            "category_id": self.category_id,
            "price": money(self.price),
            "currency_id": "COP",
            "available_quantity": 50,
            "sold_quantity": 10,
            "listing_type_id": "gold_special",
            "status": "active",
            "condition": "new",
            "seller_custom_field": None,
            "user_product_id": self.id.replace("MCO", "MCOU"),
            "attributes": [
                {
                    "id": "SELLER_SKU",
                    "name": "SKU",
                    "value_id": None,
                    "value_name": self.sku,
                    "values": [{"id": None, "name": self.sku}],
                }
            ],
            "variations": self.variations,
            "shipping": {"mode": "me2", "logistic_type": "cross_docking", "free_shipping": False},
        }


@dataclass
class Payment:
    id: int
    payer_id: int
    reason: str
    transaction_amount: Decimal
    shipping_cost: Decimal
    coupon_amount: Decimal
    marketplace_fee: Decimal
    date_created: datetime
    status: str = "pending"
    status_detail: str = "pending_waiting_payment"
    refunded: Decimal = Decimal(0)
    date_approved: datetime | None = None
    date_last_modified: datetime | None = None
    payment_type: str = "credit_card"
    payment_method_id: str = "visa"

    @property
    def total_paid(self) -> Decimal:
        """Mercado Pago's `total_paid_amount`: the transaction plus the shipping the buyer paid
        on this payment (docs/vendors/mercadolibre.md §6.1, §15), not equal to
        `transaction_amount`."""
        return self.transaction_amount + self.shipping_cost


@dataclass
class Order:
    id: int
    seller_id: int
    buyer: Buyer
    item: Item
    variation: dict[str, Any] | None
    sku: str
    quantity: int
    unit_price: Decimal
    full_unit_price: Decimal
    sale_fee: Decimal
    date_created: datetime
    last_updated: datetime
    payment: Payment
    pack_id: int | None = None
    shipping_id: int | None = None
    shipping_cost: Decimal | None = None  # buyer-paid, null for pack orders (ML quirk)
    coupon_amount: Decimal = Decimal(0)
    status: str = "payment_required"
    date_closed: datetime | None = None
    fraud: bool = False
    cancel_detail: dict[str, Any] | None = None
    discounted: bool = False  # `/orders/{id}/discounts` has something for it

    @property
    def total_amount(self) -> Decimal:
        return self.unit_price * self.quantity

    def tags(self) -> list[str]:
        tags: list[str] = []
        if self.pack_id is not None:
            tags.append("pack_order")
        if self.coupon_amount > 0 or self.discounted:
            tags.append("order_has_discount")
        tags.append("paid" if self.payment.status in ("approved", "refunded") else "not_paid")
        if self.fraud:
            tags.append("fraud_risk_detected")
        tags.append("not_delivered")
        return tags

    def render(self) -> dict[str, Any]:
        pay = self.payment
        paid_amount = pay.total_paid if pay.status != "pending" else Decimal(0)
        line_item: dict[str, Any] = {
            "id": self.item.id,
            "title": self.item.title,
            "category_id": self.item.category_id,
            "variation_id": self.variation["id"] if self.variation else None,
            "seller_custom_field": None,
            "seller_sku": self.sku,
            "variation_attributes": (
                self.variation["attribute_combinations"] if self.variation else []
            ),
            "warranty": "Garantía del vendedor: 30 días",
            "condition": "new",
            "global_price": None,
            "net_weight": None,
            "user_product_id": self.item.id.replace("MCO", "MCOU"),
            "release_date": None,
        }
        return {
            "id": self.id,
            "date_created": ml_time(self.date_created),
            "date_closed": ml_time(self.date_closed),
            "last_updated": ml_time(self.last_updated),
            "expiration_date": ml_time(self.date_closed or self.date_created),
            "status": self.status,
            "status_detail": None,
            "pack_id": self.pack_id,
            "fulfilled": None,
            "buying_mode": "buy_equals_pay",
            "shipping_cost": money(self.shipping_cost),
            "mediations": [],
            "total_amount": money(self.total_amount),
            "paid_amount": money(paid_amount),
            "currency_id": "COP",
            "order_items": [
                {
                    "item": line_item,
                    "quantity": self.quantity,
                    "requested_quantity": {"measure": "unit", "value": self.quantity},
                    "picked_quantity": None,
                    "unit_price": money(self.unit_price),
                    "full_unit_price": money(self.full_unit_price),
                    "currency_id": "COP",
                    "manufacturing_days": None,
                    "sale_fee": money(self.sale_fee),
                    "listing_type_id": "gold_special",
                    "base_exchange_rate": None,
                    "base_currency_id": None,
                    "element_id": 1,
                    "stock": [{"store_id": None, "network_node_id": None}],
                }
            ],
            "payments": [self._render_payment()],
            "shipping": {"id": self.shipping_id},
            "tags": self.tags(),
            "feedback": {"seller": None, "buyer": None},
            "context": {"channel": "marketplace", "site": SITE_ID, "flows": []},
            "seller": {"id": self.seller_id},
            "buyer": self.buyer.render(),
            "taxes": {"amount": None, "currency_id": None, "id": None},
            "cancel_detail": self.cancel_detail,
            "manufacturing_ending_date": None,
            "order_request": {"change": None, "return": None},
        }

    def _render_payment(self) -> dict[str, Any]:
        pay = self.payment
        return {
            "id": pay.id,
            "order_id": self.id,
            "payer_id": pay.payer_id,
            "collector": {"id": self.seller_id},
            "card_id": None,
            "reason": pay.reason,
            "site_id": SITE_ID,
            "payment_method_id": pay.payment_method_id,
            "currency_id": "COP",
            "installments": 1,
            "issuer_id": "1",
            "atm_transfer_reference": {"transaction_id": None, "company_id": None},
            "operation_type": "regular_payment",
            "payment_type": pay.payment_type,
            "available_actions": ["refund"] if pay.status == "approved" else [],
            "status": pay.status,
            "status_code": None,
            "status_detail": pay.status_detail,
            "transaction_amount": money(pay.transaction_amount),
            "transaction_amount_refunded": money(pay.refunded),
            "taxes_amount": 0,
            "shipping_cost": money(pay.shipping_cost),
            "coupon_amount": money(pay.coupon_amount),
            "overpaid_amount": 0,
            "total_paid_amount": money(pay.total_paid),
            "installment_amount": None,
            "deferred_period": None,
            "date_approved": ml_time(pay.date_approved),
            "date_created": ml_time(pay.date_created),
            "date_last_modified": ml_time(pay.date_last_modified or pay.date_created),
            "marketplace_fee": money(pay.marketplace_fee),
            "reference_id": None,
            "authorization_code": None,
        }


@dataclass
class Pack:
    id: int
    seller_id: int
    buyer_id: int
    order_ids: list[int]
    shipment_id: int | None
    date_created: datetime
    last_updated: datetime


@dataclass
class Shipment:
    id: int
    seller_id: int
    buyer_id: int
    order_ids: list[int]
    receiver_cost: Decimal
    sender_cost: Decimal
    gross_amount: Decimal
    city_name: str
    state_name: str
    date_created: datetime
    last_updated: datetime
    status: str = "pending"
    logistic_type: str = "cross_docking"


@dataclass
class Claim:
    id: int
    order_id: int
    seller_id: int
    buyer_id: int
    item_id: str
    variation_id: int | None
    total_quantity: int
    return_quantity: int
    date_created: datetime
    last_updated: datetime
    status: str = "closed"
    # MercadoLibre paid the buyer with its own money (its buyer protection): the seller keeps it.
    covered: bool = False
    # A return of goods goes with the claim (`related_entities: ["return"]`); without one the
    # claim ended in money only.
    has_return: bool = True
