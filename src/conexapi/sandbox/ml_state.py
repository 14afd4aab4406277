"""MercadoLibre simulator state: OAuth grants/tokens, orders, packs, shipments, claims, feeds."""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from conexapi.sandbox.clock import Clock
from conexapi.sandbox.constants import DEFAULT_SELLER_ID, DEFAULT_SELLER_NICKNAME
from conexapi.sandbox.ml_models import (
    BillingInfo,
    Buyer,
    Claim,
    Item,
    Order,
    Pack,
    Payment,
    Seller,
    Shipment,
)

INVALID_GRANT = (
    "Error validating grant. Your authorization code or refresh token may be expired "
    "or it was already used"
)


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class AuthCode:
    seller_id: int
    redirect_uri: str
    challenge: str | None
    method: str | None
    used: bool = False


@dataclass
class Grant:
    seller_id: int
    current_refresh: str | None = None
    revoked: bool = False
    access_tokens: set[str] = field(default_factory=set)


@dataclass
class AccessToken:
    seller_id: int
    expires_at: datetime


def pkce_matches(verifier: str, challenge: str, method: str | None) -> bool:
    if (method or "plain").upper() == "S256":
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return secrets.compare_digest(computed, challenge)
    return secrets.compare_digest(verifier, challenge)


class MercadoLibreState:
    def __init__(self, clock: Clock, token_ttl_seconds: int, rng: random.Random) -> None:
        self.clock = clock
        self.token_ttl_seconds = token_ttl_seconds
        self.rng = rng
        self.sellers: dict[int, Seller] = {}
        self.codes: dict[str, AuthCode] = {}
        self.grants: dict[int, Grant] = {}
        self.refresh_index: dict[str, int] = {}  # every refresh token ever issued -> seller
        self.access_tokens: dict[str, AccessToken] = {}
        self.next_consent_seller: int | None = None
        self.first_redirect_uri: str | None = None
        self.orders: dict[int, Order] = {}
        self.orders_by_seller: dict[int, list[int]] = defaultdict(list)
        self.packs: dict[int, Pack] = {}
        self.shipments: dict[int, Shipment] = {}
        self.items: dict[str, Item] = {}
        self.billing: dict[str, tuple[int, BillingInfo]] = {}  # id -> (seller, info)
        self.claims: dict[int, Claim] = {}
        self.discounts: dict[int, dict[str, Any]] = {}
        self.fiscal_documents: dict[int, list[dict[str, Any]]] = defaultdict(list)
        self.missed_feeds: list[dict[str, Any]] = []
        self.calls: Counter[str] = Counter()
        # The application's quota: requests per second over every seller (0 = unlimited).
        self.app_requests_per_second = 0
        self.app_window: deque[float] = deque()
        self.app_rate_limited = 0
        self.token_calls: Counter[str] = Counter()
        # Called with (topic, resource, user_id) on every change; wired to the notifier.
        self.on_change: Callable[[str, str, int], None] = lambda topic, resource, user: None
        self._seq = 0
        self.add_seller(DEFAULT_SELLER_ID, DEFAULT_SELLER_NICKNAME)

    # ------------------------------------------------------------------ ids
    def new_id(self, base: int) -> int:
        self._seq += 1
        return base + self._seq * 7 + self.rng.randrange(7)

    # ------------------------------------------------------------------ sellers / oauth
    def add_seller(self, seller_id: int, nickname: str) -> Seller:
        seller = Seller(id=seller_id, nickname=nickname)
        self.sellers[seller_id] = seller
        return seller

    def redirect_uri(self, registered: str | None) -> str | None:
        """The application's redirect URI: the registered one, else the first one used."""
        return registered or self.first_redirect_uri

    def issue_code(
        self, seller_id: int, redirect_uri: str, challenge: str | None, method: str | None
    ) -> str:
        self.first_redirect_uri = self.first_redirect_uri or redirect_uri
        code = f"TG-{secrets.token_hex(12)}-{seller_id}"
        self.codes[code] = AuthCode(seller_id, redirect_uri, challenge, method)
        return code

    def _issue_tokens(self, grant: Grant) -> dict[str, Any]:
        now = self.clock.now()
        stamp = now.strftime("%m%d%H")
        access = f"APP_USR-5503910054141466-{stamp}-{secrets.token_hex(16)}-{grant.seller_id}"
        refresh = f"TG-{secrets.token_hex(12)}-{grant.seller_id}"
        self.access_tokens[access] = AccessToken(
            grant.seller_id, now + timedelta(seconds=self.token_ttl_seconds)
        )
        grant.access_tokens.add(access)
        grant.current_refresh = refresh
        self.refresh_index[refresh] = grant.seller_id
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": self.token_ttl_seconds,
            "scope": "offline_access read write",
            "user_id": grant.seller_id,
            "refresh_token": refresh,
        }

    def exchange_code(self, code: str, redirect_uri: str, verifier: str | None) -> dict[str, Any]:
        self.token_calls["authorization_code"] += 1
        auth = self.codes.get(code)
        if auth is None or auth.used or auth.redirect_uri != redirect_uri:
            raise OAuthError("invalid_grant", INVALID_GRANT)
        if auth.challenge is not None:
            if not verifier:
                raise OAuthError("invalid_request", "code_verifier is a required parameter")
            if not pkce_matches(verifier, auth.challenge, auth.method):
                raise OAuthError("invalid_grant", INVALID_GRANT)
        auth.used = True
        grant = self.grants.get(auth.seller_id)
        if grant is None or grant.revoked:
            grant = Grant(auth.seller_id)
            self.grants[auth.seller_id] = grant
        return self._issue_tokens(grant)

    def refresh(self, refresh_token: str) -> dict[str, Any]:
        self.token_calls["refresh_token"] += 1
        seller_id = self.refresh_index.get(refresh_token)
        grant = self.grants.get(seller_id) if seller_id is not None else None
        # Rotation: only the most recently issued refresh token of the grant is valid.
        if grant is None or grant.revoked or grant.current_refresh != refresh_token:
            self.token_calls["refresh_token_refused"] += 1
            raise OAuthError("invalid_grant", INVALID_GRANT)
        grant.current_refresh = None
        return self._issue_tokens(grant)

    def authenticate(self, access_token: str) -> int | None:
        token = self.access_tokens.get(access_token)
        if token is None or token.expires_at <= self.clock.now():
            return None
        grant = self.grants.get(token.seller_id)
        if grant is None or grant.revoked:
            return None
        return token.seller_id

    def revoke(self, seller_id: int) -> None:
        grant = self.grants.get(seller_id)
        if grant is not None:
            grant.revoked = True
            for token in grant.access_tokens:
                self.access_tokens.pop(token, None)
            grant.current_refresh = None

    def expire_tokens(self, seller_id: int) -> int:
        past = self.clock.now() - timedelta(seconds=1)
        count = 0
        for token in self.access_tokens.values():
            if token.seller_id == seller_id:
                token.expires_at = past
                count += 1
        return count

    # ------------------------------------------------------------------ orders
    def add_order(self, order: Order) -> None:
        self.orders[order.id] = order
        self.orders_by_seller[order.seller_id].append(order.id)
        if order.buyer.billing is not None:
            self.billing[order.buyer.billing.id] = (order.seller_id, order.buyer.billing)
        self.items.setdefault(order.item.id, order.item)
        self._changed(order)

    def _changed(self, order: Order) -> None:
        order.last_updated = self.clock.now()
        if order.pack_id is not None and order.pack_id in self.packs:
            self.packs[order.pack_id].last_updated = order.last_updated
        self.on_change("orders_v2", f"/orders/{order.id}", order.seller_id)

    def pay(self, order_id: int) -> Order:
        order = self.orders[order_id]
        if order.status in ("paid", "cancelled", "partially_refunded"):
            return order
        now = self.clock.now()
        order.status = "paid"
        order.date_closed = now
        pay = order.payment
        pay.status, pay.status_detail = "approved", "accredited"
        pay.date_approved = pay.date_last_modified = now
        self._changed(order)
        return order

    def cancel(self, order_id: int) -> Order:
        """Cancel: before payment -> plain cancel; after payment -> full refund."""
        order = self.orders[order_id]
        now = self.clock.now()
        pay = order.payment
        was_paid = pay.status == "approved"
        if was_paid:
            pay.status, pay.status_detail = "refunded", "refunded"
            pay.refunded = pay.transaction_amount
        else:
            pay.status, pay.status_detail = "cancelled", "expired"
        pay.date_last_modified = now
        order.status = "cancelled"
        order.cancel_detail = {
            "group": "buyer",
            "code": "1002" if was_paid else "1001",
            "description": "Cancelada por el comprador",
            "requested_by": "buyer",
            "date": now.isoformat(timespec="milliseconds"),
            "application_id": None,
        }
        self._changed(order)
        return order

    def _claim(
        self, order: Order, returned: int, *, has_return: bool, covered: bool = False
    ) -> Claim:
        now = self.clock.now()
        claim = Claim(
            id=self.new_id(5_100_000_000),
            order_id=order.id,
            seller_id=order.seller_id,
            buyer_id=order.buyer.id,
            item_id=order.item.id,
            variation_id=order.variation["id"] if order.variation else None,
            total_quantity=order.quantity,
            return_quantity=returned,
            date_created=now,
            last_updated=now,
            covered=covered,
            has_return=has_return,
        )
        self.claims[claim.id] = claim
        self.on_change("post_purchase", f"/post-purchase/v1/claims/{claim.id}", order.seller_id)
        return claim

    def refund(
        self, order_id: int, amount: Decimal | None = None, quantity: int | None = None
    ) -> Order:
        """Partial refund after a claim: by returned quantity (the claim has a return of those
        units) or by amount alone (the claim ends in money, the buyer keeps the goods)."""
        order = self.orders[order_id]
        pay = order.payment
        if quantity is not None:
            quantity = max(1, min(quantity, order.quantity))
            amount = order.unit_price * quantity
            self._claim(order, quantity, has_return=True)
        elif amount is not None:
            self._claim(order, 0, has_return=False)
        if amount is None:
            amount = pay.total_paid
        # A paid order becomes cancelled when its payment is refunded whole, the shipping the
        # buyer paid included (docs/vendors/mercadolibre.md §3.2); less is a partial refund.
        pay.refunded = min(pay.total_paid, pay.refunded + amount)
        pay.date_last_modified = self.clock.now()
        if pay.refunded >= pay.total_paid:
            return self.cancel(order_id)
        order.status = "partially_refunded"
        self._changed(order)
        return order

    def refund_covered(self, order_id: int) -> Order:
        """A claim MercadoLibre resolves with its buyer protection: it pays the buyer back with
        its own money (`resolution.applied_coverage: true`); the order is cancelled for the
        buyer, the seller keeps the sale's money."""
        order = self.orders[order_id]
        self._claim(order, 0, has_return=False, covered=True)
        return self.cancel(order_id)

    def mark_fraud(self, order_id: int) -> Order:
        order = self.orders[order_id]
        order.fraud = True
        self._changed(order)
        return order

    # ------------------------------------------------------------------ search
    def search(
        self,
        seller_id: int,
        statuses: set[str] | None,
        ranges: dict[str, tuple[datetime | None, datetime | None]],
        sort_desc: bool,
    ) -> list[Order]:
        result: list[Order] = []
        for oid in self.orders_by_seller.get(seller_id, []):
            order = self.orders[oid]
            if statuses and order.status not in statuses:
                continue
            ok = True
            for attr, (lo, hi) in ranges.items():
                value: datetime | None = getattr(order, attr)
                if value is None or (lo and value < lo) or (hi and value > hi):
                    ok = False
                    break
            if ok:
                result.append(order)
        result.sort(key=lambda o: (o.date_created, o.id), reverse=sort_desc)
        return result

    # ------------------------------------------------------------------ missed feeds
    def add_missed(self, message: dict[str, Any]) -> None:
        self.missed_feeds.append(message)

    def allow_app_request(self, now: float | None = None) -> bool:
        """The application's quota: a sliding one-second window over every seller's requests;
        a refused request does not count."""
        if self.app_requests_per_second <= 0:
            return True
        moment = time.monotonic() if now is None else now
        while self.app_window and moment - self.app_window[0] >= 1.0:
            self.app_window.popleft()
        if len(self.app_window) >= self.app_requests_per_second:
            self.app_rate_limited += 1
            return False
        self.app_window.append(moment)
        return True

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "app_rate_limited": self.app_rate_limited,
            "token_calls": dict(self.token_calls),
            "orders": len(self.orders),
            "packs": len(self.packs),
            "sellers": sorted(self.sellers),
            "missed_feeds": len(self.missed_feeds),
        }


def new_payment(
    pid: int,
    buyer: Buyer,
    title: str,
    amount: Decimal,
    shipping: Decimal,
    coupon: Decimal,
    fee: Decimal,
    now: datetime,
) -> Payment:
    return Payment(
        id=pid,
        payer_id=buyer.id,
        reason=title,
        transaction_amount=amount,
        shipping_cost=shipping,
        coupon_amount=coupon,
        marketplace_fee=fee,
        date_created=now,
    )
