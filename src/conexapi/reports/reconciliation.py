"""Three-way reconciliation: MercadoLibre (what was paid or cancelled) ↔ ConexAPI (the sale and
its documents) ↔ Siigo/DIAN (the invoice and its stamp). Every gap is listed with its reason."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from conexapi.messages.numbers import cop
from conexapi.reports.profit import colombia_day, to_decimal
from conexapi.reports.repository import SaleWithDocs
from conexapi.sales.states import DocumentKind, DocumentStatus, SaleState
from conexapi.sync.models import Document

TOTAL_TOLERANCE = Decimal("1")  # pesos: Siigo rounds to the peso, ML totals can carry cents
IN_PROGRESS = {SaleState.PENDING.value, SaleState.WAITING.value, SaleState.RETRYING.value}

GAP_MESSAGES = {
    "paid_not_invoiced": "Pagada en MercadoLibre y sin factura",
    "needs_attention": "Requiere atención",
    "dead": "Reintentos agotados",
    "dian_rejected": "Factura rechazada por la DIAN",
    "dian_pending": "Factura sin aceptación de la DIAN",
    "cancelled_without_credit_note": "Cancelada en MercadoLibre tras facturar, sin nota crédito",
    "total_mismatch": "El total de la factura no coincide con lo pagado",
}
# Why an invoice may differ from what the buyer paid, each recorded on the invoice when it was
# built (`diferencias`): explained in the detail, never a gap.
DIFFERENCE_REASONS = {
    "cupon_mercadolibre": "cupón pagado por MercadoLibre, facturado como parte del precio",
    "redondeo": "redondeo de Siigo",
}


@dataclass
class ReconciliationRow:
    sale_id: int
    external_id: str
    day: str
    state: str
    ml_status: str
    ml_total: Decimal | None
    invoice_number: str | None
    invoice_total: Decimal | None
    dian_status: str | None
    credit_note_number: str | None
    gaps: list[str] = field(default_factory=list)
    detail: str = ""
    explained: bool = False  # the invoice differs from what was paid, for a reason in `detail`

    @property
    def gap_messages(self) -> list[str]:
        return [GAP_MESSAGES.get(g, g) for g in self.gaps]


@dataclass
class Reconciliation:
    rows: list[ReconciliationRow] = field(default_factory=list)
    gap_counts: dict[str, int] = field(default_factory=dict)
    ml_paid: int = 0
    invoiced: int = 0
    dian_accepted: int = 0

    @property
    def gaps(self) -> list[ReconciliationRow]:
        return [r for r in self.rows if r.gaps]

    @property
    def explained(self) -> list[ReconciliationRow]:
        """Invoices that differ from what the buyer paid for a known reason (not a gap)."""
        return [r for r in self.rows if r.explained and not r.gaps]


def _issued(docs: list[Document], kind: DocumentKind) -> list[Document]:
    return [d for d in docs if d.kind == kind.value and d.status == DocumentStatus.ISSUED.value]


def _ml_status(statuses: list[str]) -> str:
    unique = sorted(set(statuses))
    return ", ".join(unique) if unique else "desconocido"


def _explained(invoice: Document, facts: dict[str, Any]) -> tuple[Decimal, list[str]]:
    """The part of the invoice's difference with what the buyer paid that has a reason, and
    those reasons in words (es-CO amounts). Invoices built before the reasons were recorded
    still carry the MercadoLibre-funded coupons in the sale's facts: those explain too."""
    total = Decimal("0")
    words = []
    recorded = invoice.breakdown.get("diferencias") or []
    for diff in recorded:
        value = to_decimal(diff.get("valor"))
        total += value
        reason = DIFFERENCE_REASONS.get(str(diff.get("motivo")), str(diff.get("motivo")))
        words.append(f"{reason} ({cop(value)})")
    if not recorded:
        coupon = sum(
            (to_decimal(line.get("meli_coupon")) for line in facts.get("lines") or []),
            Decimal("0"),
        )
        if coupon:
            total += coupon
            words.append(f"{DIFFERENCE_REASONS['cupon_mercadolibre']} ({cop(coupon)})")
    return total, words


def reconcile_sale(row: SaleWithDocs) -> ReconciliationRow:
    sale = row.sale
    statuses = [str(s) for s in sale.facts.get("statuses", [])]
    issued = _issued(row.documents, DocumentKind.INVOICE)
    invoice = max(issued, key=lambda d: d.seq) if issued else None
    notes = _issued(row.documents, DocumentKind.CREDIT_NOTE)
    ml_total = to_decimal(sale.facts["total_paid"]) if sale.facts.get("total_paid") else sale.total
    out = ReconciliationRow(
        sale_id=sale.id,
        external_id=sale.external_id,
        day=colombia_day(sale.sale_date or sale.created_at).isoformat(),
        state=sale.state,
        ml_status=_ml_status(statuses),
        ml_total=ml_total,
        invoice_number=invoice.number if invoice else None,
        invoice_total=invoice.total if invoice else None,
        dian_status=invoice.stamp_status if invoice else None,
        credit_note_number=notes[-1].number if notes else None,
    )
    paid = bool(statuses) and all(s == "paid" for s in statuses)
    cancelled = "cancelled" in statuses
    if sale.state == SaleState.NEEDS_ATTENTION.value:
        out.gaps.append("needs_attention")
        out.detail = sale.error_message or ""
    elif sale.state == SaleState.DEAD.value:
        out.gaps.append("dead")
        out.detail = sale.error_message or ""
    if paid and invoice is None and sale.state not in {SaleState.SKIPPED.value}:
        out.gaps.append("paid_not_invoiced")
        if sale.state in IN_PROGRESS:
            out.detail = out.detail or "En proceso: el sincronizador la está facturando."
    if invoice is not None:
        if invoice.stamp_status == "Rejected":
            out.gaps.append("dian_rejected")
            errors = "; ".join(str(e) for e in invoice.stamp_errors)
            out.detail = out.detail or errors
        elif invoice.stamp_status != "Accepted":
            out.gaps.append("dian_pending")
        covered = invoice.breakdown.get("reembolsos_cubiertos") or []
        if cancelled and not notes and not covered:
            out.gaps.append("cancelled_without_credit_note")
        elif covered and not notes:
            out.detail = out.detail or "Reembolso cubierto por MercadoLibre: sin nota crédito."
        if ml_total is not None and invoice.total is not None and not notes:
            explained, reasons = _explained(invoice, sale.facts)
            rest = invoice.total - ml_total - explained
            if abs(rest) > TOTAL_TOLERANCE:
                out.gaps.append("total_mismatch")
                out.detail = out.detail or (
                    f"La factura suma {cop(invoice.total)} y el comprador pagó {cop(ml_total)}"
                    + (f"; se explican {cop(explained)}: {'; '.join(reasons)}" if reasons else "")
                    + "."
                )
            else:
                if rest and not any(r.startswith(DIFFERENCE_REASONS["redondeo"]) for r in reasons):
                    reasons.append(f"{DIFFERENCE_REASONS['redondeo']} ({cop(rest)})")
                if reasons:
                    out.detail = out.detail or f"Diferencia explicada: {'; '.join(reasons)}."
                    out.explained = True
    return out


def reconcile(rows: Iterable[SaleWithDocs]) -> Reconciliation:
    result = Reconciliation()
    for row in rows:
        item = reconcile_sale(row)
        result.rows.append(item)
        if item.ml_status == "paid":
            result.ml_paid += 1
        if item.invoice_number is not None:
            result.invoiced += 1
        if item.dian_status == "Accepted":
            result.dian_accepted += 1
        for gap in item.gaps:
            result.gap_counts[gap] = result.gap_counts.get(gap, 0) + 1
    return result


RECONCILIATION_CSV_HEADER = [
    "venta_id",
    "referencia_ml",
    "fecha",
    "estado_ml",
    "total_ml",
    "estado_conexapi",
    "factura",
    "total_factura",
    "estado_dian",
    "nota_credito",
    "diferencias",
    "detalle",
]


def reconciliation_csv_rows(result: Reconciliation, *, only_gaps: bool = False) -> list[list[str]]:
    rows = result.gaps if only_gaps else result.rows
    return [
        [
            str(r.sale_id),
            r.external_id,
            r.day,
            r.ml_status,
            "" if r.ml_total is None else str(r.ml_total),
            r.state,
            r.invoice_number or "",
            "" if r.invoice_total is None else str(r.invoice_total),
            r.dian_status or "",
            r.credit_note_number or "",
            " | ".join(r.gap_messages),
            r.detail,
        ]
        for r in rows
    ]
