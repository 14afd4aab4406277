"""After the invoice: credit notes for what came back, refunds MercadoLibre covered, and the sale
credited in full.

What to credit next is decided by `sales.credits` from the invoice's lines (with the order each
one bills), the credit notes already issued, MercadoLibre's refunds and, only when a credit is
about to be issued, the order's claims (`/post-purchase/v1/claims/search`, then the returns of
claims that have one). One credit note per attempt; the sale is due again at once for the next.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from conexapi.erps.siigo.documents.credit_note import (
    InvoiceItem,
    build_credit_note,
    credited_rows,
    invoice_items,
)
from conexapi.erps.siigo.documents.invoice import BuildError, idempotency_key
from conexapi.marketplaces.mercadolibre.mapping import parse_order_claims
from conexapi.messages import text
from conexapi.messages.numbers import cop
from conexapi.sales.clock import colombia_today
from conexapi.sales.credits import Concept, CreditOutlook, next_credit
from conexapi.sales.facts import OrderClaim, SaleFacts
from conexapi.sales.profit import sale_profit
from conexapi.sales.states import DocumentKind, DocumentStatus, SaleState
from conexapi.sales.step import EventKind, Step
from conexapi.sync.breakdowns import issued_credit
from conexapi.sync.models import Document

if TYPE_CHECKING:
    from conexapi.sync.invoicing import Invoicer

ZERO = Decimal("0")


async def credit_step(inv: Invoicer, facts: SaleFacts, doc: Document) -> Step | None:
    """The step the sale's credit notes call for, or None when there is nothing to credit."""
    notes = await inv.documents(DocumentKind.CREDIT_NOTE)
    in_flight = [c for c in notes if c.status == DocumentStatus.IN_FLIGHT.value]
    if in_flight:
        return await _sent(inv, facts, doc, in_flight[0])
    mine = [
        c
        for c in notes
        if c.status == DocumentStatus.ISSUED.value and c.body.get("invoice") == doc.erp_id
    ]
    items = await invoice_lines(inv, facts, doc)
    lines = [it.invoiced() for it in items]
    issued = [issued_credit(c, lines) for c in mine]
    invoiced_orders = set(doc.breakdown.get("order_ids") or facts.order_ids)
    refunds = [r for r in facts.refunds if r.order_id in invoiced_orders and r.amount > 0]
    statuses = {
        oid: st
        for oid, st in zip(facts.order_ids, facts.statuses, strict=False)
        if oid in invoiced_orders
    }
    concept = Concept(inv.ctx.settings.money_refund_reason)
    # Claims already known covered (recorded on the invoice) are not asked for again.
    claims: dict[str, tuple[OrderClaim, ...]] = {}
    for known in doc.breakdown.get("reembolsos_cubiertos") or []:
        order_id = str(known.get("order_id"))
        claims[order_id] = (OrderClaim(str(known.get("claim_id")), order_id, covered=True),)
    outlook = next_credit(
        lines, issued, refunds, statuses=statuses, claims=claims, money_concept=concept
    )
    if outlook.next is not None and waits_dian(doc):
        return _wait_dian(inv)
    if outlook.next is not None and inv.ml is not None:
        # A credit is due: what came back and whether MercadoLibre covered it is in the claims.
        claims.update(await _claims(inv, [r.order_id for r in refunds if r.order_id not in claims]))
        outlook = next_credit(
            lines, issued, refunds, statuses=statuses, claims=claims, money_concept=concept
        )
    if outlook.fully_credited:
        return Step(
            state=SaleState.CREDITED,
            next_at=None,
            message=text("sync.credited"),
            kind=EventKind.CHECKED,
        )
    covered = await _record_covered(inv, facts, doc, outlook)
    if outlook.next is None:
        return covered
    if not inv.ctx.settings.credit_notes_auto:
        message = text("sync.credit_note_manual", amount=cop(outlook.next.requested))
        return Step.attention("credit_note_manual", message)
    return await issue_request(inv, facts, doc, items, outlook, seq=len(notes) + 1)


def waits_dian(doc: Document) -> bool:
    """A credit note needs the invoice accepted by the DIAN first (docs/vendors/siigo.md §10.1)."""
    return bool(doc.body.get("stamp", {}).get("send")) and doc.stamp_status != "Accepted"


def _wait_dian(inv: Invoicer) -> Step:
    return Step(
        state=SaleState.INVOICED,
        next_at=inv.poll_time(),
        message=text("sync.credit_note_waits_dian"),
        kind=EventKind.WAITING_DIAN,
    )


async def issue_request(
    inv: Invoicer,
    facts: SaleFacts,
    doc: Document,
    items: list[InvoiceItem],
    outlook: CreditOutlook,
    *,
    seq: int,
) -> Step:
    request = outlook.next
    assert request is not None
    key = idempotency_key(inv.ctx.integration_id, inv.ctx.external_id, "NC", seq)
    try:
        plan = build_credit_note(
            items,
            request,
            settings=inv.ctx.settings,
            invoice_erp_id=str(doc.erp_id),
            today=colombia_today(),
            idempotency_key=key,
            external_ref=inv.ctx.external_id,
        )
    except BuildError as exc:
        return Step.attention(exc.code, exc.message)
    note = await inv.add_document(
        kind=DocumentKind.CREDIT_NOTE.value,
        seq=seq,
        idempotency_key=key,
        refund_ref=request.ref[:120],
        body=plan.json_body(),
        breakdown={
            "lineas": plan.breakdown,
            "razon": plan.reason,
            "concepto": text(f"credit.concept_{plan.reason}"),
            "total": str(plan.total),
            "solicitado": str(plan.requested),
            "iva": str(sum((Decimal(str(row["iva"])) for row in plan.breakdown), ZERO)),
            "acreditado": credited_rows(plan.credited),
            "order_id": request.order_id,
        },
        total=plan.total,
        deviation=plan.deviation,
    )
    return await _sent(inv, facts, doc, note)


async def _sent(inv: Invoicer, facts: SaleFacts, invoice: Document, note: Document) -> Step:
    """Sends (or replays) a credit note, then writes the sale's profit as the documents now
    stand: every credit note changes what the sale earned."""
    step = await inv.send(note, DocumentKind.CREDIT_NOTE)
    await update_profit(inv, facts, invoice)
    return step


async def update_profit(inv: Invoicer, facts: SaleFacts, invoice: Document) -> None:
    notes = await inv.documents(DocumentKind.CREDIT_NOTE)
    credited_iva = sum(
        (
            Decimal(str(n.breakdown.get("iva") or "0"))
            for n in notes
            if n.status == DocumentStatus.ISSUED.value and n.body.get("invoice") == invoice.erp_id
        ),
        ZERO,
    )
    covered = {str(c.get("order_id")) for c in invoice.breakdown.get("reembolsos_cubiertos") or []}
    profit = sale_profit(
        facts,
        invoice_iva=Decimal(str(invoice.breakdown.get("iva") or "0")),
        credited_iva=credited_iva,
        covered_orders=covered,
    )
    async with inv.runtime.sessions() as session:
        await inv.update_owned(session, inv.ctx.sale_id, profit=profit)
        await session.commit()


async def _record_covered(
    inv: Invoicer, facts: SaleFacts, doc: Document, outlook: CreditOutlook
) -> Step | None:
    """Refunds MercadoLibre covered (the seller keeps the money): recorded on the invoice once,
    with a timeline entry saying why no credit note follows, and the profit kept."""
    known = {str(c.get("claim_id")) for c in doc.breakdown.get("reembolsos_cubiertos") or []}
    new = [c for c in outlook.covered if c.claim_id not in known]
    if not new:
        return None
    covered = [
        *(doc.breakdown.get("reembolsos_cubiertos") or []),
        *({"claim_id": c.claim_id, "order_id": c.order_id} for c in new),
    ]
    doc.breakdown = await inv.merge_breakdown(doc.id, reembolsos_cubiertos=covered)
    await update_profit(inv, facts, doc)
    claims = ", ".join(c.claim_id for c in new)
    return Step(
        state=SaleState.INVOICED,
        next_at=None if outlook.next is None else inv.poll_time(),
        message=text("sync.refund_covered", claims=claims),
        kind=EventKind.REFUND_COVERED,
        data={"claims": [c.claim_id for c in new]},
    )


async def _claims(inv: Invoicer, order_ids: list[str]) -> dict[str, tuple[OrderClaim, ...]]:
    assert inv.ml is not None
    found: dict[str, tuple[OrderClaim, ...]] = {}
    for order_id in dict.fromkeys(order_ids):
        claims = await inv.ml.search_order_claims(order_id)
        returns: dict[str, dict[str, Any]] = {}
        for claim in claims:
            related = claim.get("related_entities") or []
            if "return" in related or str(claim.get("type")) in ("return", "returns"):
                body = await inv.ml.get_claim_returns(str(claim.get("id")))
                if body:
                    returns[str(claim.get("id"))] = body
        found[order_id] = parse_order_claims(order_id, claims, returns)
    return found


async def invoice_lines(inv: Invoicer, facts: SaleFacts, doc: Document) -> list[InvoiceItem]:
    """The invoice's lines with their rate and order. An invoice built before lines kept them
    takes its rates from the tax catalog and its orders from the sale's lines, when they match
    one to one (else its lines belong to the whole sale)."""
    rows = list(doc.breakdown.get("lineas") or [])
    needs_rates = any("tasa" not in row for row in rows) or len(rows) < len(
        doc.body.get("items") or []
    )
    rates = await inv.tax_rates() if needs_rates else {}
    invoiced = set(doc.breakdown.get("order_ids") or facts.order_ids)
    product_lines = [ln for ln in facts.lines if ln.order_id in invoiced]
    body_items = doc.body.get("items") or []
    origins: list[tuple[str | None, str | None]] | None = None
    if len(body_items) in (len(product_lines), len(product_lines) + 1):
        origins = [(ln.order_id, f"{ln.item_id}:{ln.variation_id or ''}") for ln in product_lines]
        origins += [(None, None)] * (len(body_items) - len(product_lines))
    return invoice_items(doc.body, rows, rates, origins=origins)
