"""Invoices already issued wrong: every issued invoice whose audit (`sync.corrections`) found a
line taxed unlike its product or a discount deducted twice, with the difference, and where its
correction stands. Invoices not yet audited under today's rules are counted apart."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from conexapi.reports.profit import colombia_day, to_decimal
from conexapi.reports.repository import SaleWithDocs
from conexapi.sales.states import DocumentKind, DocumentStatus
from conexapi.sync.breakdowns import AUDIT_VERSION

REASONS = {
    "impuesto": "Impuesto distinto al del producto",
    "descuento_doble": "Descuento descontado dos veces",
    "valor": "Valor distinto al de la venta",
    "lineas": "Líneas distintas a las de la venta",
}


@dataclass
class ReviewRow:
    sale_id: int
    external_id: str
    day: str
    invoice_number: str | None
    invoice_total: Decimal | None
    differences: list[dict[str, Any]]
    total_difference: Decimal
    iva_difference: Decimal
    correction: str  # "", "pendiente", "anulada", "corregida"
    corrected_by: str | None = None
    error: str | None = None


@dataclass
class FiscalReview:
    rows: list[ReviewRow] = field(default_factory=list)
    audited: int = 0
    pending_audit: int = 0


def _current_invoice(row: SaleWithDocs) -> tuple[Any, Any]:
    invoices = sorted(
        (
            d
            for d in row.documents
            if d.kind == DocumentKind.INVOICE.value and d.status == DocumentStatus.ISSUED.value
        ),
        key=lambda d: d.seq,
    )
    if not invoices:
        return None, None
    return invoices[-1], (invoices[-2] if len(invoices) > 1 else None)


def fiscal_review(rows: Iterable[SaleWithDocs]) -> FiscalReview:
    review = FiscalReview()
    for row in rows:
        current, previous = _current_invoice(row)
        if current is None:
            continue
        if previous is not None and (previous.breakdown.get("correccion") or {}).get("estado"):
            target = previous  # a corrected sale is listed by the invoice it corrected
        else:
            target = current
        audit = target.breakdown.get("auditoria") or {}
        if audit.get("version") != AUDIT_VERSION:
            review.pending_audit += 1
            continue
        review.audited += 1
        correction = target.breakdown.get("correccion") or {}
        if not audit.get("diferencias") and not correction:
            continue
        review.rows.append(
            ReviewRow(
                sale_id=row.sale.id,
                external_id=row.sale.external_id,
                day=colombia_day(row.sale.sale_date or row.sale.created_at).isoformat(),
                invoice_number=target.number,
                invoice_total=target.total,
                differences=[
                    {**d, "motivo_texto": REASONS.get(str(d.get("motivo")), d.get("motivo"))}
                    for d in audit.get("diferencias") or []
                ],
                total_difference=to_decimal(audit.get("diferencia_total")),
                iva_difference=to_decimal(audit.get("diferencia_iva")),
                correction=str(correction.get("estado") or ""),
                corrected_by=(
                    current.number if target is previous else correction.get("nueva_factura")
                ),
                error=audit.get("error"),
            )
        )
    return review


def review_json(review: FiscalReview) -> dict[str, Any]:
    return {
        "summary": {
            "audited": review.audited,
            "pending_audit": review.pending_audit,
            "with_differences": len(review.rows),
        },
        "invoices": [
            {
                "sale_id": r.sale_id,
                "external_id": r.external_id,
                "date": r.day,
                "invoice_number": r.invoice_number,
                "invoice_total": None if r.invoice_total is None else str(r.invoice_total),
                "differences": r.differences,
                "total_difference": str(r.total_difference),
                "iva_difference": str(r.iva_difference),
                "correction": r.correction or None,
                "corrected_by": r.corrected_by,
                "error": r.error,
            }
            for r in review.rows
        ],
    }
