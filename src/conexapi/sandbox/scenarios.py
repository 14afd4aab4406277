"""Seeded generator of realistic Colombian MercadoLibre sales, each with its expected outcome.

Every generated sale records its `kind` and the `expectation` a sync engine should reach once
all its follow-up events (`follow_ups`, applied by :meth:`ScenarioEngine.advance`) happened:
"invoice", "skip", "credit_full", "credit_partial", "attention_unknown_sku",
"attention_missing_billing".
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from conexapi.sandbox import fiscal_scenarios as fiscal
from conexapi.sandbox import scenario_data as data
from conexapi.sandbox.config import MercadoLibreQuirks
from conexapi.sandbox.ml_models import BillingInfo, Buyer, Item, Order, Pack, Shipment
from conexapi.sandbox.ml_state import MercadoLibreState, new_payment
from conexapi.sandbox.siigo_rules import nit_check_digit

KINDS: dict[str, str] = {
    "single": "invoice",
    "pack": "invoice",
    "variation": "invoice",
    "shipping_buyer": "invoice",
    "coupon": "invoice",
    "company_buyer": "invoice",
    "foreign_buyer": "invoice",
    "unreachable_price": "invoice",
    "pending_then_paid": "invoice",
    "buyer_id_only": "invoice",
    "missing_billing": "attention_missing_billing",
    "unknown_sku": "attention_unknown_sku",
    "sku_with_spaces": "attention_unknown_sku",
    "long_sku": "attention_unknown_sku",
    "cancelled_unpaid": "skip",
    "fraud": "skip",
    "paid_then_cancelled": "credit_full",
    "partial_refund": "credit_partial",
    **fiscal.FISCAL_KINDS,
}
DEFAULT_MIX: dict[str, float] = {
    "single": 40,
    "pack": 6,
    "variation": 8,
    "shipping_buyer": 8,
    "coupon": 5,
    "company_buyer": 6,
    "foreign_buyer": 3,
    "unreachable_price": 4,
    "pending_then_paid": 4,
    "buyer_id_only": 4,
    "missing_billing": 3,
    "unknown_sku": 3,
    "sku_with_spaces": 1,
    "long_sku": 1,
    "cancelled_unpaid": 2,
    "fraud": 2,
    "paid_then_cancelled": 3,
    "partial_refund": 3,
    **fiscal.FISCAL_MIX,
}


@dataclass
class GeneratedSale:
    kind: str
    expectation: str
    seller_id: int
    order_ids: list[int]
    pack_id: int | None
    details: dict[str, Any]
    follow_ups: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)

    @property
    def external_id(self) -> int:
        return self.pack_id if self.pack_id is not None else self.order_ids[0]

    def render(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "expectation": self.expectation,
            "seller_id": self.seller_id,
            "order_ids": self.order_ids,
            "pack_id": self.pack_id,
            "external_id": self.external_id,
            "pending_follow_ups": [
                {"action": a, "order_id": o, **kw} for a, o, kw in self.follow_ups
            ],
            "details": self.details,
        }


class ScenarioEngine:
    def __init__(
        self, ml: MercadoLibreState, quirks: Callable[[], MercadoLibreQuirks] | None = None
    ) -> None:
        self.ml = ml
        self.sales: list[GeneratedSale] = []
        self._quirks = quirks or MercadoLibreQuirks

    def generate(
        self,
        rng: random.Random,
        seller_id: int,
        count: int,
        mix: dict[str, float] | None = None,
        kinds: list[str] | None = None,
    ) -> list[GeneratedSale]:
        weights = {k: v for k, v in (mix or DEFAULT_MIX).items() if k in KINDS and v > 0}
        names = list(weights)
        chosen = kinds or rng.choices(names, weights=[weights[n] for n in names], k=count)
        out = [self._build(rng, seller_id, kind) for kind in chosen]
        self.sales.extend(out)
        return out

    def advance(self) -> int:
        """Apply every pending follow-up (later payments, cancellations, refunds)."""
        applied = 0
        for sale in self.sales:
            for action, order_id, kwargs in sale.follow_ups:
                self.apply(action, order_id, kwargs)
                applied += 1
            sale.follow_ups = []
        return applied

    def apply(self, action: str, order_id: int, kwargs: dict[str, Any]) -> None:
        if action == "pay":
            self.ml.pay(order_id)
        elif action == "cancel":
            self.ml.cancel(order_id)
        elif action == "refund":
            qty = kwargs.get("quantity")
            amount = kwargs.get("amount")
            self.ml.refund(
                order_id,
                Decimal(str(amount)) if amount is not None else None,
                int(qty) if qty is not None else None,
            )
        elif action == "fraud":
            self.ml.mark_fraud(order_id)
        elif action == "refund_covered":
            self.ml.refund_covered(order_id)

    # ------------------------------------------------------------------ builders
    def _buyer(self, rng: random.Random, kind: str) -> Buyer:
        buyer_id = 1_500_000_000 + rng.randrange(800_000_000)
        first = rng.choice(data.FIRST_NAMES)
        last = rng.choice(data.LAST_NAMES)
        nickname = (first.split()[0][:4] + last.split()[0][:4]).upper() + str(rng.randrange(999))
        nickname = nickname.translate(str.maketrans("ÁÉÍÓÚÑ", "AEIOUN"))
        billing_id = str(rng.randrange(10**17, 10**18))
        # Orders since 2024 carry only the buyer's id (docs/vendors/mercadolibre.md §15): on demand,
        # or for a share of buyers (quirk `buyer_id_only_rate`).
        rate = self._quirks().buyer_id_only_rate
        id_only = kind == "buyer_id_only" or (rate > 0 and rng.random() < rate)
        if kind == "missing_billing":
            return Buyer(buyer_id, nickname, first, last, None, billing_id, id_only)
        city, state_name, state_code, zip_code = rng.choice(data.CITIES)
        company = kind in ("company_buyer", "nit_with_dv")
        id_type = "NIT" if company else "CE" if kind == "foreign_buyer" else "CC"
        if id_type == "NIT":
            base = str(rng.choice((800, 900, 901)) * 1_000_000 + rng.randrange(1_000_000))
            number = f"{base}-{nit_check_digit(base)}"
            if kind == "nit_with_dv":
                number = fiscal.nit_without_separator(base, nit_check_digit(base))
            name, bill_last = rng.choice(data.COMPANY_NAMES), None
        elif id_type == "CE":
            number = str(rng.randrange(100_000, 9_999_999))
            name, bill_last = first, last
        else:
            number = str(
                rng.choice(
                    (
                        rng.randrange(10_000_000, 99_999_999),
                        rng.randrange(1_000_000_000, 1_199_999_999),
                    )
                )
            )
            name, bill_last = first, last
        billing = BillingInfo(
            id=billing_id,
            cust_id=buyer_id,
            id_type=id_type,
            id_number=number,
            name=name,
            last_name=bill_last,
            street_name=rng.choice(data.STREETS),
            street_number=f"#{rng.randrange(1, 120)}-{rng.randrange(1, 99)}",
            city_name=city,
            state_name=state_name,
            state_code=state_code,
            zip_code=zip_code,
            neighborhood=rng.choice(data.NEIGHBORHOODS),
            comment=rng.choice(data.COMMENTS),
            processing_reads=fiscal.PROCESSING_READS if kind == "billing_processing" else 0,
        )
        return Buyer(buyer_id, nickname, first, last, billing, billing_id, id_only)

    def _item(self, seller_id: int, product: data.CatalogProduct) -> Item:
        digest = zlib.crc32(f"{seller_id}:{product.sku}".encode())
        item_id = f"MCO{digest % 10**9 + 10**9}"
        existing = self.ml.items.get(item_id)
        if existing is not None:
            return existing
        variations = [
            {
                "id": 180_000_000_000 + i,
                "attribute_combinations": [
                    {"id": "SIZE", "name": "Talla", "value_id": str(52000 + i), "value_name": s}
                ],
                "attributes": [{"id": "SELLER_SKU", "value_name": f"{product.sku}-{s}"}],
                "seller_custom_field": None,
                "price": product.price,
                "available_quantity": 10,
            }
            for i, s in enumerate(product.sizes)
        ]
        item = Item(
            item_id,
            seller_id,
            product.title,
            product.category_id,
            product.gross,
            product.sku,
            variations,
        )
        self.ml.items[item_id] = item
        return item

    def _product_for(self, rng: random.Random, kind: str) -> data.CatalogProduct:
        if kind == "variation":
            return data.VARIATION_PRODUCT
        if kind == "unreachable_price":
            return rng.choice(data.UNREACHABLE_PRODUCTS)
        if kind == "unknown_sku":
            return data.UNKNOWN_SKU_PRODUCT
        if kind == "sku_with_spaces":
            return data.SPACES_SKU_PRODUCT
        if kind == "long_sku":
            return data.LONG_SKU_PRODUCT
        return rng.choice(data.PRODUCTS)

    def _build(self, rng: random.Random, seller_id: int, kind: str) -> GeneratedSale:
        ml = self.ml
        now = ml.clock.now()
        buyer = self._buyer(rng, kind)
        n_orders = fiscal.order_count(rng, kind) or (rng.choice((2, 2, 3)) if kind == "pack" else 1)
        pack_id = ml.new_id(2_000_006_000_000_000) if n_orders > 1 else None
        chosen = fiscal.products(rng, kind, n_orders)
        buyer_pays_shipping = kind in ("shipping_buyer", "mixed_tax") or (
            kind not in ("unreachable_price",) and rng.random() < 0.15
        )
        ship_cost = Decimal(rng.choice((7900, 9900, 12500))) if buyer_pays_shipping else Decimal(0)
        shipment_id = ml.new_id(44_000_000_000)
        orders: list[Order] = []
        lines: list[dict[str, Any]] = []
        invoice_total = Decimal(0)
        for idx in range(n_orders):
            product = chosen[idx] if chosen else self._product_for(rng, kind)
            item = self._item(seller_id, product)
            variation = rng.choice(item.variations) if item.variations else None
            sku = variation["attributes"][0]["value_name"] if variation else product.sku
            quantity = fiscal.quantity(kind, idx) or (
                1 if kind == "unreachable_price" else rng.choice((1, 1, 1, 2, 2, 3, 4, 5))
            )
            unit = product.gross
            if kind == "partial_return_pack" and idx == 1:
                unit = orders[0].unit_price * orders[0].quantity  # B is worth what A's units are
            total = unit * quantity
            full_unit = (unit * Decimal("1.15")).quantize(Decimal(100))
            offer = fiscal.discounts(rng, kind, idx, item.id, quantity, unit, full_unit)
            coupon = offer.seller_coupon + offer.meli_coupon
            fee = (unit * Decimal("0.13")).quantize(Decimal(1))
            # In a pack the order-level shipping_cost is null; the buyer's shipping rides on the
            # first order's payment, beside its transaction amount (`total_paid_amount` adds
            # them, docs/vendors/mercadolibre.md §15).
            order_ship = ship_cost if idx == 0 else Decimal(0)
            order_id = ml.new_id(2_000_010_000_000_000)
            payment = new_payment(
                ml.new_id(91_000_000_000),
                buyer,
                product.title,
                total - coupon,
                order_ship,
                coupon,
                fee * quantity - offer.fee_cut,
                now,
            )
            order = Order(
                id=order_id,
                seller_id=seller_id,
                buyer=buyer,
                item=item,
                variation=variation,
                sku=sku,
                quantity=quantity,
                unit_price=unit,
                full_unit_price=full_unit,
                sale_fee=fee,
                date_created=now,
                last_updated=now,
                payment=payment,
                pack_id=pack_id,
                shipping_id=shipment_id,
                shipping_cost=None if pack_id else ship_cost,
                coupon_amount=coupon,
                discounted=bool(offer.details),
            )
            orders.append(order)
            # What the invoice says (MercadoLibre-funded coupons stay in the price by default).
            invoice_total += total - offer.seller_coupon + order_ship
            lines.append(
                {
                    "order_id": order_id,
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": int(unit),
                    "coupon": int(coupon),
                    "discounted": bool(offer.details),
                    "seller_coupon": int(offer.seller_coupon),
                    "meli_coupon": int(offer.meli_coupon),
                }
            )
            if offer.details:
                ml.discounts[order_id] = {"details": offer.details}
        receiver_city = buyer.billing.city_name if buyer.billing else "Bogotá D.C."
        receiver_state = buyer.billing.state_name if buyer.billing else "Bogotá D.C."
        seller_cost = Decimal(0) if buyer_pays_shipping else Decimal(rng.choice((6950, 7450, 8900)))
        ml.shipments[shipment_id] = Shipment(
            id=shipment_id,
            seller_id=seller_id,
            buyer_id=buyer.id,
            order_ids=[o.id for o in orders],
            receiver_cost=ship_cost,
            sender_cost=seller_cost,
            gross_amount=ship_cost + seller_cost * 2 if not buyer_pays_shipping else ship_cost,
            city_name=receiver_city,
            state_name=receiver_state,
            date_created=now,
            last_updated=now,
        )
        if pack_id is not None:
            ml.packs[pack_id] = Pack(
                pack_id, seller_id, buyer.id, [o.id for o in orders], shipment_id, now, now
            )
        for order in orders:
            ml.add_order(order)
        sale = GeneratedSale(
            kind=kind,
            expectation=KINDS[kind],
            seller_id=seller_id,
            order_ids=[o.id for o in orders],
            pack_id=pack_id,
            details={
                "lines": lines,
                "buyer": {
                    "id": buyer.id,
                    "id_type": buyer.billing.id_type if buyer.billing else None,
                    "identification": buyer.billing.id_number if buyer.billing else None,
                },
                "shipping_paid_by": "buyer" if buyer_pays_shipping else "seller",
                "receiver_shipping_cost": int(ship_cost),
                "ml_total": int(sum((o.payment.total_paid for o in orders), Decimal(0))),
                "invoice_total": int(invoice_total),
                **self._fiscal_details(kind, buyer, orders),
            },
        )
        self._lifecycle(rng, sale, orders)
        return sale

    @staticmethod
    def _fiscal_details(kind: str, buyer: Buyer, orders: list[Order]) -> dict[str, Any]:
        """What the scorecard checks for the fiscal kinds, besides the expectation."""
        out: dict[str, Any] = {}
        if kind == "nit_with_dv" and buyer.billing is not None:
            out["customer_identification"] = buyer.billing.id_number[:-1]
        if kind == "billing_processing" and buyer.billing is not None:
            out["customer_identification"] = buyer.billing.id_number
        if kind == "partial_return_pack":
            out["returned"] = {"code": orders[0].sku, "quantity": orders[0].quantity}
        if kind == "money_refund":
            out["credit_reason"] = 3
        return out

    def _lifecycle(self, rng: random.Random, sale: GeneratedSale, orders: list[Order]) -> None:
        kind, ml = sale.kind, self.ml
        if kind == "cancelled_unpaid":
            ml.cancel(orders[0].id)
            return
        if kind == "pending_then_paid":
            sale.follow_ups.append(("pay", orders[0].id, {}))
            return
        for i, order in enumerate(orders):
            # Orders of one pack may become paid at different times: the last one later.
            if kind == "pack" and i == len(orders) - 1 and rng.random() < 0.5:
                sale.follow_ups.append(("pay", order.id, {}))
            else:
                ml.pay(order.id)
        if kind == "fraud":
            ml.mark_fraud(orders[0].id)
        elif kind == "paid_then_cancelled":
            sale.follow_ups.append(("cancel", orders[0].id, {}))
        elif kind in fiscal.FISCAL_KINDS:
            sale.follow_ups += fiscal.follow_ups(kind, [o.id for o in orders])
        elif kind == "partial_refund":
            order = orders[0]
            if order.quantity > 1:
                sale.follow_ups.append(("refund", order.id, {"quantity": 1}))
            else:
                half = (order.payment.transaction_amount / 2).quantize(Decimal(1))
                sale.follow_ups.append(("refund", order.id, {"amount": int(half)}))
