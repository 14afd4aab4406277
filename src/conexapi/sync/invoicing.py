"""The ERP half of processing a sale: customer, products, invoice, DIAN status, credit notes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.connections.known_products import forget_products, inactive_codes, refused_codes
from conexapi.core.errors import PermanentError
from conexapi.db import utcnow
from conexapi.erps.siigo.client import SiigoClient, siigo_client
from conexapi.erps.siigo.documents.invoice import (
    BuildError,
    UnmappedProducts,
    build_credit_note,
    build_invoice,
    idempotency_key,
    line_key,
)
from conexapi.erps.siigo.mapping import CustomerPlan, build_customer, consumer_fallback_customer
from conexapi.integrations.mappings import resolve_product_codes
from conexapi.marketplaces.mercadolibre.client import MercadoLibreClient
from conexapi.messages import text
from conexapi.runtime import Runtime
from conexapi.sales.clock import colombia_today
from conexapi.sales.facts import SaleFacts
from conexapi.sales.snapshot import to_json
from conexapi.sales.states import DocumentKind, DocumentStatus, SaleState
from conexapi.sales.step import EventKind, Step
from conexapi.sync.customers import ensure_customer
from conexapi.sync.issuing import apply_result, create_or_adopt, stamp_pending
from conexapi.sync.models import Document, Sale


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
        self._owned = owned
        self._update_owned = update_owned
        self._siigo: SiigoClient | None = None

    @property
    def siigo(self) -> SiigoClient:
        if self._siigo is None:
            self._siigo = siigo_client(self.runtime, self.ctx.siigo_connection_id)
        return self._siigo

    async def invoice_document(self) -> Document | None:
        async with self.runtime.sessions() as session:
            return await invoice_of(session, self.ctx.sale_id)

    async def _documents(self, kind: DocumentKind) -> list[Document]:
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
            try:
                doc = await self._plan_invoice(facts, existing)
            except UnmappedProducts as exc:
                return _products_step([(sku, sku) for sku in exc.skus], facts)
            except BuildError as exc:
                return _build_failed(exc, data={"details": to_json(exc.details)})
            if isinstance(doc, Step):
                return doc
        else:
            doc = existing  # in flight: replay exactly what was sent, with the same key
        return await self._send(doc, DocumentKind.INVOICE)

    async def _plan_invoice(self, facts: SaleFacts, existing: Document | None) -> Document | Step:
        settings = self.ctx.settings
        plan: CustomerPlan | None
        try:
            if facts.buyer is not None:
                plan = build_customer(facts.buyer, settings)
            else:
                plan = consumer_fallback_customer(settings)
        except ValueError as exc:
            message = (
                f"Los datos fiscales del comprador no son válidos para Siigo: {exc}. Corrígelos "
                "en Siigo o activa el consumidor final."
            )
            return Step(
                state=SaleState.NEEDS_ATTENTION,
                next_at=None,
                message=message,
                kind=EventKind.NEEDS_ATTENTION,
                code="invalid_buyer_identification",
                error=message,
            )
        if plan is None:
            message = (
                "El comprador no dio datos de facturación y no hay consumidor final configurado. "
                "Configura el consumidor final en la integración y reintenta."
            )
            return Step(
                state=SaleState.NEEDS_ATTENTION,
                next_at=None,
                message=message,
                kind=EventKind.NEEDS_ATTENTION,
                code="missing_fiscal_data",
                error=message,
            )
        keys = [line_key(line) for line in facts.lines]
        async with self.runtime.sessions() as session:
            codes = await resolve_product_codes(session, self.ctx.integration_id, keys)
        key = idempotency_key(self.ctx.integration_id, self.ctx.external_id, "FV", 1)
        invoice = build_invoice(
            facts,
            settings,
            product_codes=codes,
            today=colombia_today(),
            idempotency_key=key,
            customer_identification=plan.identification,
            branch_office=int(plan.body.get("branch_office", 0)),
        )
        missing = await self._unknown_products(
            codes, [str(i["code"]) for i in invoice.body["items"]]
        )
        if missing:
            return _products_step(missing, facts)
        await ensure_customer(
            self.runtime, self.siigo, connection_id=self.ctx.siigo_connection_id, plan=plan
        )
        async with self.runtime.sessions() as session:
            # One conditional UPDATE checks the lease, locks the sale and writes its profit and
            # the facts fetched for this attempt (see Context.pending).
            await self._update_owned(
                session,
                self.ctx.sale_id,
                profit=_profit(facts, invoice.tax_total),
                **self.ctx.pending,
            )
            doc = await session.get(Document, existing.id) if existing else None
            if doc is None:
                doc = Document(
                    tenant_id=self.ctx.tenant_id,
                    sale_id=self.ctx.sale_id,
                    kind=DocumentKind.INVOICE.value,
                    seq=1,
                    idempotency_key=key,
                )
                session.add(doc)
            doc.status = DocumentStatus.IN_FLIGHT.value
            doc.body = invoice.json_body()
            doc.breakdown = {
                **invoice.summary(),
                "advertencias": plan.warnings + invoice.warnings,
                "order_ids": list(invoice.order_ids),
            }
            doc.total = invoice.total
            doc.deviation = invoice.deviation
            # Committed before the ERP call: whatever happens next, the key is known.
            await session.commit()
            self.ctx.pending = {}
            return doc

    async def _send(self, doc: Document, kind: DocumentKind) -> Step:
        try:
            result = await create_or_adopt(self.siigo, doc)
        except PermanentError as exc:
            # Siigo refused it and has no such document: nothing was created. A product it
            # refused (deleted or deactivated since it was checked) is checked again next time.
            await self._set_doc(doc.id, status=DocumentStatus.FAILED.value)
            await forget_products(
                self.runtime,
                self.ctx.siigo_connection_id,
                refused_codes(exc.body, doc.body.get("items") or []),
            )
            raise
        doc = await self._record(doc.id, result)
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
            next_at = self._poll_time() if stamp_pending(doc) else None
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

    async def _record(self, doc_id: int, result: dict[str, Any]) -> Document:
        async with self.runtime.sessions() as session:
            doc = await session.get(Document, doc_id)
            assert doc is not None
            apply_result(doc, result)
            doc.status = DocumentStatus.ISSUED.value
            if stamp_pending(doc):
                doc.next_poll_at = self._poll_time()
            await session.commit()
            return doc

    async def _set_doc(self, doc_id: int, **values: Any) -> None:
        async with self.runtime.sessions() as session:
            doc = await session.get(Document, doc_id)
            if doc is not None:
                for name, value in values.items():
                    setattr(doc, name, value)
                await session.commit()

    def _poll_time(self) -> datetime:
        return utcnow() + timedelta(
            seconds=self.runtime.settings.worker.stamp_poll_interval_seconds
        )

    async def _unknown_products(
        self, codes: dict[str, str], used: list[str]
    ) -> list[tuple[str, str]]:
        """Codes that do not exist or are inactive in Siigo, as (sku, code).

        Positives are remembered by every process for a while (`connections.known_products`).
        """
        by_code = {code: sku for sku, code in codes.items()}
        # The shipping product is not in `codes`: it was checked when the settings were saved.
        inactive = await inactive_codes(
            self.runtime,
            self.siigo,
            self.ctx.siigo_connection_id,
            [code for code in used if code in by_code],
        )
        return [(by_code[code], code) for code in inactive]

    # -- after the invoice: DIAN status, cancellations and refunds --------------------------------

    async def after_invoice(self, facts: SaleFacts, doc: Document) -> Step:
        # Pending, or rejected and maybe fixed and resent from Siigo Nube since: ask again.
        if doc.erp_id and (stamp_pending(doc) or doc.stamp_status == "Rejected"):
            result = await self.siigo.get_invoice(doc.erp_id)
            doc = await self._record(doc.id, result)
        if doc.stamp_status == "Rejected":
            return await self._rejected(doc)
        await self._upload_to_marketplace(doc)
        # Orders of a pack cancelled before invoicing were never on the invoice: not credited.
        invoiced_orders = set(doc.breakdown.get("order_ids") or facts.order_ids)
        refunded = sum(
            (r.amount for r in facts.refunds if r.order_id in invoiced_orders), Decimal("0")
        )
        credits = await self._documents(DocumentKind.CREDIT_NOTE)
        in_flight = [c for c in credits if c.status == DocumentStatus.IN_FLIGHT.value]
        if in_flight:
            return await self._send(in_flight[0], DocumentKind.CREDIT_NOTE)
        issued = [c for c in credits if c.status == DocumentStatus.ISSUED.value]
        credited = sum((c.total or Decimal("0") for c in issued), Decimal("0"))
        invoice_total = doc.total or Decimal("0")
        if issued and credited >= invoice_total:
            return Step(
                state=SaleState.CREDITED,
                next_at=None,
                message="Venta anulada con nota crédito.",
                kind=EventKind.CHECKED,
            )
        if refunded <= 0 or self._already_credited(issued, refunded):
            if stamp_pending(doc):
                return Step(
                    state=SaleState.INVOICED,
                    next_at=self._poll_time(),
                    message="Esperando la respuesta de la DIAN.",
                    kind=EventKind.CHECKED,
                )
            return Step(
                state=SaleState.INVOICED,
                next_at=None,
                message="Factura al día.",
                kind=EventKind.CHECKED,
                reset_attempts=True,
            )
        if not self.ctx.settings.credit_notes_auto:
            message = (
                f"MercadoLibre devolvió {refunded} al comprador; las notas crédito automáticas "
                "están desactivadas: emítela en Siigo o actívalas y reintenta."
            )
            return Step(
                state=SaleState.NEEDS_ATTENTION,
                next_at=None,
                message=message,
                kind=EventKind.NEEDS_ATTENTION,
                code="credit_note_manual",
                error=message,
            )
        if doc.body.get("stamp", {}).get("send") and doc.stamp_status != "Accepted":
            return Step(
                state=SaleState.INVOICED,
                next_at=self._poll_time(),
                message=text("sync.credit_note_waits_dian"),
                kind=EventKind.WAITING_DIAN,
            )
        statuses = dict(zip(facts.order_ids, facts.statuses, strict=False))
        full = not issued and all(
            statuses.get(o) in ("cancelled", "pending_cancel") for o in invoiced_orders
        )
        seq = len(credits) + 1
        key = idempotency_key(self.ctx.integration_id, self.ctx.external_id, "NC", seq)
        try:
            plan = build_credit_note(
                doc.body,
                refund_amount=None if full else min(refunded - credited, invoice_total),
                full=full,
                settings=self.ctx.settings,
                invoice_erp_id=str(doc.erp_id),
                today=colombia_today(),
                idempotency_key=key,
                external_ref=self.ctx.external_id,
            )
        except BuildError as exc:
            return _build_failed(exc)
        async with self.runtime.sessions() as session:
            sale = await self._owned(session, self.ctx.sale_id)
            note = Document(
                tenant_id=sale.tenant_id,
                sale_id=sale.id,
                kind=DocumentKind.CREDIT_NOTE.value,
                seq=seq,
                idempotency_key=key,
                status=DocumentStatus.IN_FLIGHT.value,
                refund_ref=f"refunded:{refunded}",
                body=plan.json_body(),
                breakdown={
                    "lineas": plan.breakdown,
                    "razon": plan.reason,
                    "total": str(plan.total),
                    "solicitado": str(plan.requested),
                },
                total=plan.total,
                deviation=plan.deviation,
            )
            session.add(note)
            await session.commit()
        return await self._send(note, DocumentKind.CREDIT_NOTE)

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
        await self._set_doc(doc.id, breakdown={**doc.breakdown, "pdf_en_mercadolibre": True})

    @staticmethod
    def _already_credited(issued: list[Document], refunded: Decimal) -> bool:
        return any(c.refund_ref == f"refunded:{refunded}" for c in issued)

    async def _rejected(self, doc: Document) -> Step:
        errors = await self.siigo.get_invoice_stamp_errors(str(doc.erp_id))
        await self._set_doc(doc.id, stamp_errors=errors)
        reasons = "; ".join(errors) or "sin detalle"
        message = (
            f"La DIAN rechazó la factura {doc.number}: {reasons}. Corrige los datos en Siigo Nube, "
            "reenvíala a la DIAN y pulsa Reintentar para actualizar el estado."
        )
        return Step(
            state=SaleState.NEEDS_ATTENTION,
            next_at=None,
            message=message,
            kind=EventKind.DIAN_REJECTED,
            code="dian_rejected",
            error=message,
            data={"errors": errors},
        )


def _build_failed(exc: BuildError, data: dict[str, Any] | None = None) -> Step:
    """A document we cannot build from the sale as it stands: the user has to fix something."""
    return Step(
        state=SaleState.NEEDS_ATTENTION,
        next_at=None,
        message=exc.message,
        kind=EventKind.NEEDS_ATTENTION,
        code=exc.code,
        error=exc.message,
        data=data,
    )


def _products_step(missing: list[tuple[str, str]], facts: SaleFacts) -> Step:
    """Waiting for products: each (SKU or item:variation, the code tried) Siigo has no active
    product for. The data names them with the item's title, for the proposals."""
    names = ", ".join(f"{sku} (código {code})" if sku != code else sku for sku, code in missing)
    message = text("sync.unmapped_products", names=names)
    titles = {line_key(ln): ln.title for ln in facts.lines}
    skus = [sku for sku, _ in missing]
    return Step(
        state=SaleState.NEEDS_ATTENTION,
        next_at=None,
        message=message,
        kind=EventKind.NEEDS_ATTENTION,
        code="unmapped_products",
        error=message,
        data={"skus": skus, "titles": {sku: titles.get(sku, "") for sku in skus}},
    )


def _profit(facts: SaleFacts, iva: Decimal) -> dict[str, str]:
    """What the sale earned: paid by the buyer, minus IVA, fees and shipping paid by the seller."""
    refunded = sum((r.amount for r in facts.refunds), Decimal("0"))
    net = facts.total_paid - iva - facts.marketplace_fee - facts.shipping_paid_by_seller - refunded
    return {
        "total": str(facts.total_paid),
        "iva": str(iva),
        "comision": str(facts.marketplace_fee),
        "envio_vendedor": str(facts.shipping_paid_by_seller),
        "devuelto": str(refunded),
        "neto": str(net),
    }


async def invoice_of(session: AsyncSession, sale_id: int) -> Document | None:
    """The sale's invoice row (there is at most one)."""
    return (
        await session.execute(
            select(Document).where(
                Document.sale_id == sale_id, Document.kind == DocumentKind.INVOICE.value
            )
        )
    ).scalar_one_or_none()
