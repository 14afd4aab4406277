"""Invoices already issued wrong: the audit that finds them, and the correction a person asks for.

The audit rebuilds the sale's invoice under today's rules (each line's product tax, discounts as
MercadoLibre means them) and records, on the issued invoice, every line that differs and by how
much (`erps.siigo.documents.audit`). New invoices are born audited; older ones are audited the
next time the worker looks at them (a report can ask for that, `reports.fiscal_review`).

Correcting is never automatic: a person asks for it (`operations.service.request_correction`,
which marks the invoice "pendiente"). Then, exactly once, ConexAPI issues a credit note that
annuls the wrong invoice (DIAN concept 2, its own idempotency key) and, once that exists, the
corrected invoice (the sale's next invoice number, key `…FV<seq>`). Each document row is
committed with its key before Siigo is called, like every other document.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from conexapi.db import utcnow
from conexapi.erps.siigo.documents.audit import audit_invoice
from conexapi.erps.siigo.mapping import CustomerPlan
from conexapi.messages import text
from conexapi.sales.credits import Concept, CreditOutlook, CreditRequest
from conexapi.sales.facts import SaleFacts
from conexapi.sales.states import DocumentKind, DocumentStatus, SaleState
from conexapi.sales.step import EventKind, Step
from conexapi.sync.breakdowns import AUDIT_VERSION, invoice_breakdown
from conexapi.sync.crediting import invoice_lines, issue_request, waits_dian
from conexapi.sync.models import Document

if TYPE_CHECKING:
    from conexapi.sync.invoicing import Invoicer

PENDING, ANNULLED, DONE = "pendiente", "anulada", "corregida"


def _as_sold(facts: SaleFacts, doc: Document) -> SaleFacts:
    """The sale as it was invoiced: the orders on the invoice count as paid (a later
    cancellation is a credit note's business, not the audit's)."""
    invoiced = set(doc.breakdown.get("order_ids") or facts.order_ids)
    statuses = tuple(
        "paid" if oid in invoiced else status
        for oid, status in zip(facts.order_ids, facts.statuses, strict=False)
    )
    return dataclasses.replace(facts, statuses=statuses)


def _customer(doc: Document) -> CustomerPlan:
    customer = doc.body.get("customer") or {}
    return CustomerPlan(
        body={
            "identification": str(customer.get("identification") or ""),
            "branch_office": int(customer.get("branch_office") or 0),
        }
    )


async def audit(inv: Invoicer, facts: SaleFacts, doc: Document) -> None:
    """Audits an invoice issued under older rules, once per rules version (stored on it)."""
    current = doc.breakdown.get("auditoria") or {}
    if current.get("version") == AUDIT_VERSION:
        return
    built = await inv.plan_document(
        _as_sold(facts, doc), seq=doc.seq, customer=_customer(doc), fresh=True
    )
    result: dict[str, Any] = {"version": AUDIT_VERSION, "fecha": utcnow().isoformat()}
    if isinstance(built, Step):
        # The sale cannot be rebuilt now (an unmapped SKU, a tax ConexAPI cannot reproduce):
        # said on the audit, the sale itself is untouched.
        result.update(diferencias=[], error=built.message)
    else:
        plan, _ = built
        result.update(audit_invoice(await invoice_lines(inv, facts, doc), plan))
    await inv.merge_breakdown(doc.id, auditoria=result)


async def correction_step(inv: Invoicer, facts: SaleFacts, doc: Document) -> Step | None:
    """The next step of a correction a person asked for, or None when there is none."""
    if not doc.breakdown.get("corrige") and not doc.breakdown.get("correccion"):
        return None  # the common case, without a query
    invoices = await inv.documents(DocumentKind.INVOICE)
    previous = [d for d in invoices if d.seq < doc.seq]
    if previous and doc.breakdown.get("corrige"):
        old = previous[-1]
        state = old.breakdown.get("correccion") or {}
        if state.get("estado") == ANNULLED:
            await inv.merge_breakdown(
                old.id, correccion={**state, "estado": DONE, "nueva_factura": doc.number}
            )
            return Step(
                state=SaleState.INVOICED,
                next_at=inv.poll_time() if doc.stamp_status not in ("Accepted",) else None,
                message=text("sync.corrected", old=old.number, new=doc.number),
                kind=EventKind.CORRECTED,
                data={"anulada": old.number, "nueva": doc.number},
            )
    state = doc.breakdown.get("correccion") or {}
    if state.get("estado") not in (PENDING, ANNULLED):
        return None
    if waits_dian(doc):
        return Step(
            state=SaleState.INVOICED,
            next_at=inv.poll_time(),
            message=text("sync.correction_waits_dian"),
            kind=EventKind.WAITING_DIAN,
        )
    if state.get("estado") == PENDING:
        return await _annul(inv, facts, doc, state)
    return await _reissue(inv, facts, doc)


async def _annul(inv: Invoicer, facts: SaleFacts, doc: Document, state: dict[str, Any]) -> Step:
    ref = f"correction:{doc.seq}"
    notes = await inv.documents(DocumentKind.CREDIT_NOTE)
    sending = [
        n for n in notes if n.refund_ref == ref and n.status == DocumentStatus.IN_FLIGHT.value
    ]
    if sending:  # replay it with its key: never a second annulment
        return _then_next(await inv.send(sending[0], DocumentKind.CREDIT_NOTE))
    done = [n for n in notes if n.refund_ref == ref and n.status == DocumentStatus.ISSUED.value]
    if done:
        await inv.merge_breakdown(
            doc.id, correccion={**state, "estado": ANNULLED, "nota_credito": done[0].number}
        )
        return Step(
            state=SaleState.INVOICED,
            next_at=utcnow(),
            message=text("sync.correction_annulled", invoice=doc.number, note=done[0].number),
            kind=EventKind.CHECKED,
        )
    items = await invoice_lines(inv, facts, doc)
    lines = tuple((it.index, it.quantity, it.total) for it in items)
    total = sum((it.total for it in items), Decimal(0))
    outlook = CreditOutlook(CreditRequest(ref, Concept.ANNULMENT, None, lines, total), False)
    # The corrected invoice comes next.
    return _then_next(await issue_request(inv, facts, doc, items, outlook, seq=len(notes) + 1))


async def _reissue(inv: Invoicer, facts: SaleFacts, doc: Document) -> Step:
    seq = doc.seq + 1
    built = await inv.plan_document(
        _as_sold(facts, doc), seq=seq, customer=_customer(doc), fresh=True
    )
    if isinstance(built, Step):
        return built
    plan, _ = built
    breakdown = invoice_breakdown(plan, [], doc.breakdown.get("cliente") or {})
    breakdown["corrige"] = doc.number
    new = await inv.add_document(
        kind=DocumentKind.INVOICE.value,
        seq=seq,
        idempotency_key=plan.idempotency_key,
        body=plan.json_body(),
        breakdown=breakdown,
        total=plan.total,
        deviation=plan.deviation,
    )
    return _then_next(await inv.send(new, DocumentKind.INVOICE))  # then the old one is marked


def _then_next(step: Step) -> Step:
    """The correction's next step comes at once, unless this one needs a person."""
    if step.state is SaleState.INVOICED:
        step.next_at = utcnow()
    return step
