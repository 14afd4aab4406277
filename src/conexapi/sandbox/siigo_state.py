"""Siigo simulator state: companies, tokens, rate limits, catalogs, customers, documents."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from conexapi.sandbox import siigo_catalogs as cat
from conexapi.sandbox.clock import Clock, money
from conexapi.sandbox.constants import NC_ELECTRONIC_ID, SIIGO_ACCESS_KEY, SIIGO_USERNAME
from conexapi.sandbox.siigo_errors import SiigoHTTPError
from conexapi.sandbox.siigo_rules import DocumentResult, LineResult


def _siigo_time(dt: datetime) -> str:
    # Siigo metadata timestamps carry 7 fractional digits and an explicit +00:00 offset.
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0+00:00"


@dataclass
class Document:
    """An invoice (FV) or credit note (NC) as stored by Siigo."""

    id: str
    kind: str
    company: str
    doc_type: dict[str, Any]
    number: int
    date: str
    customer: dict[str, Any]
    seller: int | None
    observations: str | None
    lines: list[LineResult]
    payments: list[dict[str, Any]]
    total: Decimal
    created: datetime
    idempotency_key: str | None
    stamp_send: bool
    mail_send: bool
    invoice_id: str | None = None
    invoice_name: str | None = None
    reason: int | None = None
    stamp_status: str | None = None
    stamp_code: str | None = None  # cufe / cude
    stamp_errors: list[dict[str, Any]] = field(default_factory=list)
    polls_left: int = 0

    @property
    def name(self) -> str:
        return f"{self.kind}-{self.doc_type['code']}-{self.number}"

    def render(self, with_stamp: bool = True) -> dict[str, Any]:
        items: list[dict[str, Any]] = []
        for line in self.lines:
            items.append(
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.id}/{len(items)}")),
                    "code": line.code,
                    "quantity": money(line.quantity),
                    "price": money(line.price.quantize(Decimal("0.01"))),
                    "description": line.description,
                    "discount": {"percentage": 0, "value": money(line.discount)},
                    "taxes": [
                        {
                            "id": t["id"],
                            "name": t["name"],
                            "type": t["type"],
                            "percentage": t["percentage"],
                            "value": money(t["value"]),
                            "base_value": money(t["base_value"]),
                        }
                        for t in line.taxes
                    ],
                    "total": money(line.total),
                }
            )
        body: dict[str, Any] = {
            "id": self.id,
            "document": {"id": self.doc_type["id"]},
            "prefix": self.doc_type["prefix"],
            "number": self.number,
            "name": self.name,
            "date": self.date,
        }
        if self.kind == "NC":
            body["invoice"] = {"id": self.invoice_id, "name": self.invoice_name}
            body["reason"] = self.reason
        body.update(
            customer=self.customer,
            seller=self.seller,
            total=float(self.total),
            balance=0,
            observations=self.observations,
            items=items,
            payments=[{**p, "value": float(p["value"])} for p in self.payments],
        )
        if with_stamp and self.stamp_status is not None:
            key = "cufe" if self.kind == "FV" else "cude"
            body["stamp"] = {
                "status": self.stamp_status,
                key: self.stamp_code,
                "observations": "",
                "errors": "; ".join(e["message"] for e in self.stamp_errors),
            }
        body["mail"] = {
            "status": "sent" if self.mail_send and self.stamp_status == "Accepted" else "not_sent",
            "observations": "",
        }
        body["public_url"] = f"https://documentview.siigo.com/document?data={self.id[:22]}"
        body["metadata"] = {"created": _siigo_time(self.created), "last_updated": None}
        body["annulled"] = False
        return body


class Company:
    def __init__(self, username: str, access_key: str, requests_per_minute: int) -> None:
        self.username = username
        self.access_key = access_key
        self.requests_per_minute = requests_per_minute
        self.window: deque[float] = deque()
        self.document_types = cat.default_document_types()
        self.taxes = cat.default_taxes()
        self.payment_types = cat.default_payment_types()
        self.users = cat.default_users()
        self.cost_centers = cat.default_cost_centers()
        self.account_groups = cat.default_account_groups()
        self.customers: dict[str, dict[str, Any]] = {}
        self._customer_index: dict[tuple[str, int], str] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self._product_index: dict[str, str] = {}
        self.invoices: dict[str, Document] = {}
        self.credit_notes: dict[str, Document] = {}
        self.idempotency: dict[tuple[str, str], str] = {}  # (kind, key) -> document id
        self.numbers: Counter[int] = Counter()
        self.reject_next: list[dict[str, Any]] = []  # queued forced rejections
        self.reject_identifications: dict[str, str] = {}
        self.calls: Counter[str] = Counter()
        self.auth_calls = 0
        self.rate_limited = 0

    def is_electronic(self, doc_type: dict[str, Any]) -> bool:
        """A document type is electronic when it says so; an NC type says nothing, and is
        electronic when the company has an active electronic invoice type (DIAN resolution)."""
        kind = doc_type.get("electronic_type")
        if kind is not None:
            return bool(kind != "NoElectronic")
        return any(
            d["type"] == "FV"
            and d["active"]
            and d.get("electronic_type") not in (None, "NoElectronic")
            for d in self.document_types.values()
        )

    # ------------------------------------------------------------------ rate limit
    def allow_request(self) -> bool:
        """Sliding 60 s window per company; a refused request does not count."""
        if self.requests_per_minute <= 0:
            return True
        now = time.monotonic()
        while self.window and now - self.window[0] >= 60:
            self.window.popleft()
        if len(self.window) >= self.requests_per_minute:
            self.rate_limited += 1
            return False
        self.window.append(now)
        return True

    # ------------------------------------------------------------------ customers
    def customer_by_ident(self, ident: str, branch: int = 0) -> dict[str, Any] | None:
        cid = self._customer_index.get((ident, branch))
        return self.customers.get(cid) if cid else None

    def create_customer(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        ident = str(body["identification"])
        branch = int(body.get("branch_office", 0))
        if (ident, branch) in self._customer_index:
            raise SiigoHTTPError.one(
                400, "already_exists", "The customer already exists", ["identification"]
            )
        id_type = body["id_type"]["code"] if isinstance(body["id_type"], dict) else body["id_type"]
        customer = {
            "id": str(uuid.uuid4()),
            "type": body.get("type", "Customer"),
            "person_type": body["person_type"],
            "id_type": {"code": id_type, "name": cat.ID_TYPES[id_type]},
            "identification": ident,
            "check_digit": body.get("check_digit"),
            "name": body["name"],
            "commercial_name": body.get("commercial_name"),
            "branch_office": branch,
            "active": body.get("active", True),
            "vat_responsible": body.get("vat_responsible", False),
            "fiscal_responsibilities": body.get("fiscal_responsibilities")
            or [{"code": "R-99-PN", "name": "No aplica - Otros"}],
            "address": body["address"],
            "phones": body.get("phones", []),
            "contacts": body.get("contacts", []),
            "comments": body.get("comments"),
            "metadata": {"created": _siigo_time(now), "last_updated": None},
        }
        if id_type == "31" and customer["check_digit"] is None:
            from conexapi.sandbox.siigo_rules import nit_check_digit

            customer["check_digit"] = nit_check_digit(ident)
        self.customers[customer["id"]] = customer
        self._customer_index[(ident, branch)] = customer["id"]
        return customer

    def replace_customer(self, cid: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        old = self.customers[cid]
        if str(body.get("identification")) != old["identification"]:
            raise SiigoHTTPError.one(
                400, "non_editable", "The identification cannot be changed", ["identification"]
            )
        del self._customer_index[(old["identification"], old["branch_office"])]
        del self.customers[cid]
        new = self.create_customer(body, now)
        # PUT keeps the id; recreate under the old key.
        del self.customers[new["id"]]
        new["id"] = cid
        new["metadata"] = {"created": old["metadata"]["created"], "last_updated": _siigo_time(now)}
        self.customers[cid] = new
        self._customer_index[(new["identification"], new["branch_office"])] = cid
        return new

    # ------------------------------------------------------------------ products
    def product_by_code(self, code: str) -> dict[str, Any] | None:
        pid = self._product_index.get(code)
        return self.products.get(pid) if pid else None

    def create_product(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        groups = {g["id"]: g for g in self.account_groups}
        group = groups[body["account_group"]]
        product = {
            "id": str(uuid.uuid4()),
            "code": body["code"],
            "name": body["name"],
            "account_group": {"id": group["id"], "name": group["name"]},
            "type": body.get("type", "Product"),
            "stock_control": body.get("stock_control", False),
            "active": body.get("active", True),
            "tax_classification": body.get("tax_classification", "Taxed"),
            "tax_included": body.get("tax_included", False),
            "tax_consumption_value": body.get("tax_consumption_value", 0),
            "taxes": [
                {k: self.taxes[t["id"]][k] for k in ("id", "name", "type", "percentage")}
                for t in body.get("taxes") or []
            ],
            "prices": body.get("prices", []),
            "unit": {"code": body.get("unit", "94"), "name": "Unidad"},
            "unit_label": body.get("unit_label"),
            "reference": body.get("reference"),
            "description": body.get("description"),
            "additional_fields": body.get("additional_fields", {}),
            "available_quantity": 0,
            "warehouses": [],
            "metadata": {"created": _siigo_time(now), "last_updated": None},
        }
        self.products[product["id"]] = product
        self._product_index[product["code"]] = product["id"]
        return product

    def delete_product(self, product_id: str) -> bool:
        product = self.products.pop(product_id, None)
        if product is None:
            return False
        self._product_index.pop(product["code"], None)
        return True

    # ------------------------------------------------------------------ documents
    def create_document(
        self,
        kind: str,
        result: DocumentResult,
        body: dict[str, Any],
        idempotency_key: str | None,
        now: datetime,
        stamp_mode: str,
        delay_polls: int,
        invoice: Document | None = None,
    ) -> Document:
        assert result.doc_type is not None
        self.numbers[result.doc_type["id"]] += 1
        if invoice is not None:
            customer = invoice.customer
        else:
            assert result.customer is not None
            customer = {
                "id": result.customer["id"],
                "identification": result.customer["identification"],
                "branch_office": result.customer["branch_office"],
            }
        stamp = body.get("stamp") if isinstance(body.get("stamp"), dict) else {}
        mail = body.get("mail") if isinstance(body.get("mail"), dict) else {}
        doc = Document(
            id=str(uuid.uuid4()),
            kind=kind,
            company=self.username,
            doc_type=result.doc_type,
            number=self.numbers[result.doc_type["id"]],
            date=str(body["date"]),
            customer=customer,
            seller=body.get("seller"),
            observations=body.get("observations"),
            lines=result.lines,
            payments=result.payments,
            total=result.total,
            created=now,
            idempotency_key=idempotency_key,
            stamp_send=bool(stamp and stamp.get("send")),
            mail_send=bool(mail and mail.get("send")),
            invoice_id=invoice.id if invoice else None,
            invoice_name=invoice.name if invoice else None,
            reason=body.get("reason"),
        )
        electronic = self.is_electronic(result.doc_type)
        if doc.stamp_send and electronic:
            self._stamp(doc, stamp_mode, delay_polls)
        elif electronic:
            doc.stamp_status = None  # absent on Draft responses (faithful)
        store = self.invoices if kind == "FV" else self.credit_notes
        store[doc.id] = doc
        if idempotency_key:
            self.idempotency[(kind, idempotency_key)] = doc.id
        return doc

    def _stamp(self, doc: Document, mode: str, delay_polls: int) -> None:
        rejection = None
        if doc.kind == "FV" and doc.customer["identification"] in self.reject_identifications:
            msg = self.reject_identifications[doc.customer["identification"]]
            rejection = [{"code": "FAK24", "message": msg}]
        elif doc.kind == "FV" and self.reject_next:
            rejection = self.reject_next.pop(0)["errors"]
        doc.stamp_code = hashlib.sha384(doc.id.encode()).hexdigest()
        if rejection is not None:
            doc.stamp_status = "Rejected"
            doc.stamp_errors = rejection
        elif mode == "delay" and delay_polls > 0:
            doc.stamp_status = "Draft"  # in transit to DIAN
            doc.polls_left = delay_polls
        else:
            doc.stamp_status = "Accepted"

    def poll(self, doc: Document) -> None:
        """A GET of an in-transit document advances the simulated DIAN round-trip."""
        if doc.polls_left > 0:
            doc.polls_left -= 1
            if doc.polls_left == 0 and doc.stamp_status == "Draft":
                doc.stamp_status = "Accepted"

    def force_stamp(self, doc: Document, status: str, errors: list[str]) -> None:
        doc.stamp_status = status
        doc.polls_left = 0
        doc.stamp_code = doc.stamp_code or hashlib.sha384(doc.id.encode()).hexdigest()
        doc.stamp_errors = [{"code": "FAK24", "message": m} for m in errors]

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "auth_calls": self.auth_calls,
            "rate_limited": self.rate_limited,
            "invoices": len(self.invoices),
            "credit_notes": len(self.credit_notes),
            "customers": len(self.customers),
            "products": len(self.products),
        }


class SiigoState:
    def __init__(self, clock: Clock, requests_per_minute: int, token_ttl: int) -> None:
        self.clock = clock
        self.requests_per_minute = requests_per_minute
        self.token_ttl = token_ttl
        self.companies: dict[str, Company] = {}
        self.tokens: dict[str, tuple[str, datetime]] = {}  # token -> (username, expires_at)
        self.stamp_mode = "accept"
        self.stamp_delay_polls = 2
        self.add_company(SIIGO_USERNAME, SIIGO_ACCESS_KEY)

    def add_company(
        self, username: str, access_key: str, requests_per_minute: int | None = None
    ) -> Company:
        rpm = self.requests_per_minute if requests_per_minute is None else requests_per_minute
        company = Company(username, access_key, rpm)
        self.companies[username] = company
        return company

    @property
    def default(self) -> Company:
        return self.companies[SIIGO_USERNAME]

    def login(self, username: Any, access_key: Any) -> dict[str, Any]:
        company = self.companies.get(str(username))
        if company is not None:
            company.auth_calls += 1
        if company is None or not secrets.compare_digest(str(access_key), company.access_key):
            raise SiigoHTTPError.one(
                401, "unauthorized", "The username or access_key are invalid or the user is blocked"
            )
        token = "eyJ" + secrets.token_urlsafe(48)
        expires = self.clock.now().timestamp() + self.token_ttl
        self.tokens[token] = (
            company.username,
            datetime.fromtimestamp(expires, self.clock.now().tzinfo),
        )
        return {
            "access_token": token,
            "expires_in": self.token_ttl,
            "token_type": "Bearer",
            "scope": "SiigoAPI",
        }

    def company_for_token(self, token: str) -> Company | None:
        entry = self.tokens.get(token)
        if entry is None or entry[1] <= self.clock.now():
            return None
        return self.companies.get(entry[0])

    def expire_tokens(self, username: str | None = None) -> int:
        victims = [t for t, (u, _) in self.tokens.items() if username is None or u == username]
        for token in victims:
            del self.tokens[token]
        return len(victims)

    def find_document(self, doc_id: str) -> tuple[Company, Document] | None:
        for company in self.companies.values():
            doc = company.invoices.get(doc_id) or company.credit_notes.get(doc_id)
            if doc is not None:
                return company, doc
        return None

    def stats(self) -> dict[str, Any]:
        per = {u: c.stats() for u, c in self.companies.items()}
        calls: Counter[str] = Counter()
        for c in self.companies.values():
            calls.update(c.calls)
        return {
            "calls": dict(calls),
            "auth_calls": sum(c.auth_calls for c in self.companies.values()),
            "rate_limited": sum(c.rate_limited for c in self.companies.values()),
            "companies": per,
        }


__all__ = ["NC_ELECTRONIC_ID", "Company", "Document", "SiigoState"]
