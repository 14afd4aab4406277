"""The ERP half of processing a sale: customer, products and their taxes, invoice, DIAN status;
credit notes live in `crediting`, corrections of wrong invoices in `corrections`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.catalogs import load_tax_rates
from conexapi.connections.known_products import check_products, forget_products, refused_codes
from conexapi.core.errors import PermanentError
from conexapi.db import utcnow
from conexapi.erps.siigo.client import SiigoClient, siigo_client
from conexapi.erps.siigo.documents.invoice import (
    BuildError,
    InvoicePlan,
    MissingSettings,
    UnmappedProducts,
    build_invoice,
    idempotency_key,
    line_key,
)
from conexapi.erps.siigo.documents.taxes import TaxRate
from conexapi.erps.siigo.mapping import CustomerPlan, build_customer, consumer_fallback_customer
from conexapi.integrations.mappings import resolve_product_codes
from conexapi.integrations.proposals import is_valid_code
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sales.clock import colombia_today
from conexapi.sales.facts import Buyer, SaleFacts
from conexapi.sales.profit import sale_profit
from conexapi.sales.settings import ConsumerFallback
from conexapi.sales.snapshot import to_json
from conexapi.sales.states import DocumentKind, DocumentStatus, SaleState
from conexapi.sales.step import EventKind, Step
from conexapi.sync import breaker, corrections, crediting
from conexapi.sync.breakdowns import customer_note, invoice_breakdown
from conexapi.sync.customers import ensure_customer
from conexapi.sync.issuing import apply_result, create_or_adopt, stamp_pending
from conexapi.sync.models import Document, Sale

PREVIEW = "preview"  # the reason of a sale previewed, never sent (`sync.preview`)


class Invoicer:
    def __init__(
        self,
        runtime: Runtime,
        ctx: Any,
        *,
        owned: Callable[[Any, int], Awaitable[Sale]],
        update_owned: Callable[..., Awaitable[None]],
        ml: MercadoLibreClient | None = None,
    ) -> None:
        self.runtime = runtime
        self.ctx = ctx
        self.ml = ml
        self.owned = owned
        self.update_owned = update_owned
        self._siigo: SiigoClient | None = None

    @property
    def siigo_created(self) -> bool:
        return self._siigo is not None

    @property
    def siigo(self) -> SiigoClient:
        if self._siigo is None:
            self._siigo = siigo_client(
                self.runtime, self.ctx.siigo_connection_id, defer_when_busy=True
            )
        return self._siigo

    async def invoice_document(self) -> Document | None:
        async with self.runtime.sessions() as session:
            return await invoice_of(session, self.ctx.sale_id)

    async def documents(self, kind: DocumentKind) -> list[Document]:
        async with self.runtime.sessions() as session:
            return list(
                (
                    await session.execute(
                        select(Document)
                        .where(Document.sale_id == self.ctx.sale_id, Document.kind == kind.value)
                        .order_by(Document.seq)
                    )
                ).scalars()
            )

    # -- invoice ---------------------------------------------------------------------------------

    async def issue(self, facts: SaleFacts, existing: Document | None) -> Step:
        if existing is None or existing.status != DocumentStatus.IN_FLIGHT.value:
            doc = await self._plan_invoice(facts, existing)
            if isinstance(doc, Step):
                return doc
        else:
            doc = existing  # in flight: replay exactly what was sent, with the same key
        step = await self.send(doc, DocumentKind.INVOICE)
        note = doc.breakdown.get("cliente") or {}
        if step.kind is EventKind.INVOICED and note.get("consumidor_final"):
            step.message += " " + str(note.get("motivo") or "")
        return step

    def customer_plan(self, facts: SaleFacts) -> CustomerPlan | Step:
        """Who the invoice goes to: the buyer a person chose for this sale (`sync.manual`), else
        the buyer's fiscal data, else the integration's "consumidor final"."""
        settings = self.ctx.settings
        chosen = (getattr(self.ctx, "manual", None) or {}).get("buyer")
        plan: CustomerPlan | None
        try:
            if chosen and chosen.get("consumer_final"):
                plan = consumer_fallback_customer(
                    settings
                    if settings.consumer_fallback is not None
                    else settings.model_copy(update={"consumer_fallback": ConsumerFallback()})
                )
            elif chosen:
                plan = build_customer(chosen_buyer(chosen, facts.buyer), settings)
            elif facts.buyer is not None:
                plan = build_customer(facts.buyer, settings)
            else:
                plan = consumer_fallback_customer(settings)
        except ValueError as exc:
            return Step.attention(
                "invalid_buyer_identification", text("sync.invalid_buyer", error=exc)
            )
        if plan is None:
            return Step.attention("missing_fiscal_data", text("sync.missing_fiscal_data"))
        return plan

    async def preview(self, facts: SaleFacts) -> Step:
        """Vista previa: builds the invoice exactly as it would be sent and keeps it on the
        sale; calls none of Siigo's write endpoints (no customer, no invoice)."""
        plan = self.customer_plan(facts)
        if isinstance(plan, Step):
            return plan
        built = await self.plan_document(facts, seq=1, customer=plan)
        if isinstance(built, Step):
            return built
        invoice, _ = built
        note = customer_note(facts, plan, self.ctx.settings.data_wait_hours)
        body = invoice.json_body()
        preview = {
            "cliente": to_json(plan.body),
            "factura": to_json(body),
            "desglose": to_json(invoice_breakdown(invoice, plan.warnings, note)),
            "total": str(invoice.total),
            "generada": utcnow().isoformat(),
        }
        async with self.runtime.sessions() as session:
            await self.update_owned(
                session,
                self.ctx.sale_id,
                preview=preview,
                profit=sale_profit(facts, invoice_iva=invoice.tax_total),
                **self.ctx.pending,
            )
            await session.commit()
        self.ctx.pending = {}
        message = text("preview.built", total=str(invoice.total.quantize(Decimal("0.01"))))
        return Step(
            state=SaleState.WAITING,
            next_at=None,
            message=message,
            kind=EventKind.WAITING,
            code=PREVIEW,
            error=message,
        )

    async def _plan_invoice(self, facts: SaleFacts, existing: Document | None) -> Document | Step:
        settings = self.ctx.settings
        plan = self.customer_plan(facts)
        if isinstance(plan, Step):
            return plan
        # A corrected invoice replanned after Siigo refused it keeps its own number (its key).
        seq = existing.seq if existing is not None else 1
        built = await self.plan_document(facts, seq=seq, customer=plan)
        if isinstance(built, Step):
            return built
        invoice, _ = built
        customer = customer_note(facts, plan, settings.data_wait_hours)
        await ensure_customer(
            self.runtime, self.siigo, connection_id=self.ctx.siigo_connection_id, plan=plan
        )
        async with self.runtime.sessions() as session:
            # One conditional UPDATE checks the lease, locks the sale and writes its profit and
            # the facts fetched for this attempt (see Context.pending).
            await self.update_owned(
                session,
                self.ctx.sale_id,
                profit=sale_profit(facts, invoice_iva=invoice.tax_total),
                **self.ctx.pending,
            )
            doc = await session.get(Document, existing.id) if existing else None
            if doc is None:
                doc = Document(
                    tenant_id=self.ctx.tenant_id,
                    sale_id=self.ctx.sale_id,
                    kind=DocumentKind.INVOICE.value,
                    seq=1,
                    idempotency_key=invoice.idempotency_key,
                )
                session.add(doc)
            doc.status = DocumentStatus.IN_FLIGHT.value
            doc.body = invoice.json_body()
            corrects = (existing.breakdown or {}).get("corrige") if existing else None
            doc.breakdown = invoice_breakdown(invoice, plan.warnings, customer)
            if corrects:
                doc.breakdown["corrige"] = corrects
            doc.total = invoice.total
            doc.deviation = invoice.deviation
            # Committed before the ERP call: whatever happens next, the key is known.
            await session.commit()
            self.ctx.pending = {}
            return doc

    async def plan_document(
        self, facts: SaleFacts, *, seq: int, customer: CustomerPlan, fresh: bool = False
    ) -> tuple[InvoicePlan, dict[int, TaxRate]] | Step:
        """The invoice plan of the sale as it stands (its `seq`-th invoice), with each line's
        product taxes checked in Siigo (asked again when `fresh`); a Step when a person must fix
        something first."""
        settings = self.ctx.settings
        missing = settings.missing()
        if facts.shipping_paid_by_buyer > 0 and not settings.shipping_product_code:
            missing.append("shipping_product_code")
        if missing:  # before asking Siigo anything
            return _build_failed(MissingSettings(missing))
        keys = [line_key(line) for line in facts.lines]
        async with self.runtime.sessions() as session:
            codes = await resolve_product_codes(session, self.ctx.integration_id, keys)
        # A code Siigo cannot have (spaces, quotes, > 30 chars) is refused by the builder with
        # its reason, without a lookup.
        used = [c for c in dict.fromkeys(codes[k] for k in keys if k in codes) if is_valid_code(c)]
        check = await check_products(
            self.runtime, self.siigo, self.ctx.siigo_connection_id, used, fresh=fresh
        )
        if check.inactive:
            by_code = {code: sku for sku, code in codes.items()}
            return _products_step([(by_code.get(c, c), c) for c in check.inactive], facts)
        rates = await self.tax_rates([t for p in check.taxes.values() for t in p.tax_ids])
        key = idempotency_key(self.ctx.integration_id, self.ctx.external_id, "FV", seq)
        try:
            invoice = build_invoice(
                facts,
                settings,
                product_codes=codes,
                products=check.taxes,
                rates=rates,
                today=colombia_today(),
                idempotency_key=key,
                customer_identification=customer.identification,
                branch_office=int(customer.body.get("branch_office", 0)),
            )
        except UnmappedProducts as exc:  # SKUs Siigo can't take as codes, and not mapped yet
            return _products_step([(sku, sku) for sku in exc.skus], facts)
        except BuildError as exc:
            return _build_failed(exc, data={"details": to_json(exc.details)})
        return invoice, rates

    async def tax_rates(self, needed: list[int] | None = None) -> dict[int, TaxRate]:
        """The company's tax catalog; read again from Siigo when a product names a tax the
        cached one lacks (a tax created since)."""
        connection = self.ctx.siigo_connection_id
        rates = await load_tax_rates(self.runtime, self.siigo, connection)
        wanted = set(needed or ())
        if self.ctx.settings.iva_tax_id is not None:
            wanted.add(self.ctx.settings.iva_tax_id)
        if wanted - set(rates):
            rates = await load_tax_rates(self.runtime, self.siigo, connection, refresh=True)
        return rates

    async def send(self, doc: Document, kind: DocumentKind) -> Step:
        try:
            result = await breaker.guarded(
                self.runtime, self.ctx.siigo_connection_id, lambda: create_or_adopt(self.siigo, doc)
            )
        except PermanentError as exc:
            # Siigo refused it and has no such document: nothing was created. A product it
            # refused (deleted or deactivated since it was checked) is checked again next time.
            await self.set_doc(doc.id, status=DocumentStatus.FAILED.value)
            await forget_products(
                self.runtime,
                self.ctx.siigo_connection_id,
                refused_codes(exc.body, doc.body.get("items") or []),
            )
            raise
        doc = await self.record(doc.id, result)
        label = "Factura" if kind is DocumentKind.INVOICE else "Nota crédito"
        data = {
            "document_id": doc.id,
            "number": doc.number,
            "erp_id": doc.erp_id,
            "total": str(doc.total),
            "stamp_status": doc.stamp_status,
        }
        if kind is DocumentKind.INVOICE:
            if doc.stamp_status == "Rejected":
                return await self._rejected(doc)
            next_at = self.poll_time() if stamp_pending(doc) else None
            if next_at is None and self.ctx.settings.upload_invoice_to_marketplace:
                next_at = utcnow()  # the PDF goes to MercadoLibre next
            return Step(
                state=SaleState.INVOICED,
                next_at=next_at,
                message=f"{label} {doc.number} emitida en Siigo.",
                kind=EventKind.INVOICED,
                data=data,
                reset_attempts=True,
            )
        return Step(
            state=SaleState.INVOICED,
            next_at=utcnow(),
            message=f"{label} {doc.number} emitida en Siigo.",
            kind=EventKind.CREDIT_NOTE,
            data=data,
            reset_attempts=True,
        )

    async def record(self, doc_id: int, result: dict[str, Any]) -> Document:
        async with self.runtime.sessions() as session:
            doc = await session.get(Document, doc_id)
            assert doc is not None
            apply_result(doc, result)
            doc.status = DocumentStatus.ISSUED.value
            if stamp_pending(doc):
                doc.next_poll_at = self.poll_time()
            await session.commit()
            return doc

    async def set_doc(self, doc_id: int, **values: Any) -> None:
        async with self.runtime.sessions() as session:
            doc = await session.get(Document, doc_id)
            if doc is not None:
                for name, value in values.items():
                    setattr(doc, name, value)
                await session.commit()

    async def add_document(self, **fields: Any) -> Document:
        """A new document row, in flight with its key, committed before Siigo is called
        (whatever happens next, the key is known)."""
        async with self.runtime.sessions() as session:
            sale = await self.owned(session, self.ctx.sale_id)
            doc = Document(
                tenant_id=sale.tenant_id,
                sale_id=sale.id,
                status=DocumentStatus.IN_FLIGHT.value,
                **fields,
            )
            session.add(doc)
            await session.commit()
            return doc

    async def merge_breakdown(self, doc_id: int, **values: Any) -> dict[str, Any]:
        """Sets keys of a document's breakdown, keeping the others as they are now in the
        database (a person may have written one meanwhile: a correction request)."""
        async with self.runtime.sessions() as session:
            doc = await session.get(Document, doc_id, with_for_update=True)
            if doc is None:
                return {}
            doc.breakdown = {**(doc.breakdown or {}), **values}
            merged = dict(doc.breakdown)
            await session.commit()
            return merged

    def poll_time(self) -> datetime:
        return utcnow() + timedelta(
            seconds=self.runtime.settings.worker.stamp_poll_interval_seconds
        )

    # -- after the invoice: DIAN status, cancellations and refunds --------------------------------

    async def after_invoice(self, facts: SaleFacts, doc: Document) -> Step:
        # Pending, or rejected and maybe fixed and resent from Siigo Nube since: ask again.
        if doc.erp_id and (stamp_pending(doc) or doc.stamp_status == "Rejected"):
            result = await self.siigo.get_invoice(doc.erp_id)
            doc = await self.record(doc.id, result)
        if doc.stamp_status == "Rejected":
            return await self._rejected(doc)
        await self._upload_to_marketplace(doc)
        step = await corrections.correction_step(self, facts, doc)
        if step is not None:
            return step
        step = await crediting.credit_step(self, facts, doc)
        if step is not None:
            return step
        if stamp_pending(doc):
            return Step(
                state=SaleState.INVOICED,
                next_at=self.poll_time(),
                message="Esperando la respuesta de la DIAN.",
                kind=EventKind.CHECKED,
            )
        await corrections.audit(self, facts, doc)
        return Step(
            state=SaleState.INVOICED,
            next_at=None,
            message="Factura al día.",
            kind=EventKind.CHECKED,
            reset_attempts=True,
        )

    async def _upload_to_marketplace(self, doc: Document) -> None:
        """Optional: attach the accepted invoice PDF to the MercadoLibre sale, once
        (docs/vendors/mercadolibre.md §8)."""
        if (
            self.ml is None
            or not self.ctx.settings.upload_invoice_to_marketplace
            or doc.stamp_status != "Accepted"
            or doc.breakdown.get("pdf_en_mercadolibre")
        ):
            return
        pdf = await self.siigo.get_invoice_pdf(str(doc.erp_id))
        try:
            await self.ml.upload_fiscal_document(
                self.ctx.external_id, f"{doc.number or doc.erp_id}.pdf", pdf, "application/pdf"
            )
        except PermanentError as exc:
            if exc.status_code != 409:  # 409: a PDF is already there (a previous attempt)
                raise
        await self.merge_breakdown(doc.id, pdf_en_mercadolibre=True)

    async def _rejected(self, doc: Document) -> Step:
        errors = await self.siigo.get_invoice_stamp_errors(str(doc.erp_id))
        await self.set_doc(doc.id, stamp_errors=errors)
        reasons = "; ".join(errors) or "sin detalle"
        message = (
            f"La DIAN rechazó la factura {doc.number}: {reasons}. Corrige los datos en Siigo Nube, "
            "reenvíala a la DIAN y pulsa Reintentar para actualizar el estado."
        )
        return Step.attention(
            "dian_rejected", message, kind=EventKind.DIAN_REJECTED, data={"errors": errors}
        )


def _build_failed(exc: BuildError, data: dict[str, Any] | None = None) -> Step:
    """A document we cannot build from the sale as it stands: the user has to fix something."""
    return Step.attention(exc.code, exc.message, data=data)


def _products_step(missing: list[tuple[str, str]], facts: SaleFacts) -> Step:
    """Waiting for products: each (SKU or item:variation, the code tried) Siigo has no active
    product for. The data names them with the item's title, for the proposals."""
    names = ", ".join(f"{sku} (código {code})" if sku != code else sku for sku, code in missing)
    titles = {line_key(ln): ln.title for ln in facts.lines}
    skus = [sku for sku, _ in missing]
    return Step.attention(
        "unmapped_products",
        text("sync.unmapped_products", names=names),
        data={"skus": skus, "titles": {sku: titles.get(sku, "") for sku in skus}},
    )


async def invoice_of(session: AsyncSession, sale_id: int) -> Document | None:
    """The sale's current invoice row: its latest (a corrected invoice replaces the one it
    annuls, `corrections`)."""
    return (
        await session.execute(
            select(Document)
            .where(Document.sale_id == sale_id, Document.kind == DocumentKind.INVOICE.value)
            .order_by(Document.seq.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


def chosen_buyer(chosen: dict[str, Any], buyer: Buyer | None) -> Buyer:
    """The identity a person typed for the sale (`sync.manual.clean_buyer`), with the address
    and e-mail MercadoLibre gave, if any."""
    identification = str(chosen["identification"])
    if chosen.get("id_type") == "NIT" and chosen.get("check_digit"):
        identification = f"{identification}-{chosen['check_digit']}"
    name = str(chosen.get("name") or "")
    first, _, last = name.partition(" ")
    company = bool(chosen.get("is_company"))
    return Buyer(
        id_type=str(chosen["id_type"]),
        identification=identification,
        first_name=name if company else first,
        last_name="" if company else last,
        is_company=company,
        company_name=name if company else "",
        street=buyer.street if buyer else "",
        city_name=buyer.city_name if buyer else "",
        state_name=buyer.state_name if buyer else "",
        state_code=buyer.state_code if buyer else "",
        zip_code=buyer.zip_code if buyer else "",
        email=buyer.email if buyer else None,
    )
