"""Is an issued invoice right under today's rules? Compares it, line by line, with the invoice
ConexAPI would build now for the same sale (pure).

Two kinds of error matter to an accountant: a line taxed differently from its product (the old
single-rate invoices), and a line billed for less than the buyer paid because a promotion
already in the price was deducted again. Each finding carries the difference in money; the
seller decides whether to correct (`sync.corrections`), never ConexAPI alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from conexapi.erps.siigo.documents.arithmetic import CENT, ZERO, money_text, round2
from conexapi.erps.siigo.documents.credit_note import InvoiceItem
from conexapi.erps.siigo.documents.invoice import InvoicePlan

__all__ = ["audit_invoice"]


def _label(ids: Sequence[int], rate: Decimal) -> str:
    if not ids:
        return "sin impuesto"
    return f"IVA {format(rate.normalize(), 'f')} % ({', '.join(str(i) for i in ids)})"


def audit_invoice(issued: Sequence[InvoiceItem], rebuilt: InvoicePlan) -> dict[str, Any]:
    """The differences between the issued invoice and the one built today, with their value.

    `issued` are the issued invoice's lines (with their rates); lines are compared in order
    (both follow the sale's lines, shipping last). The result is stored on the invoice as its
    audit: `diferencias` (empty when right), and the total and IVA it is off by.
    """
    findings: list[dict[str, str]] = []
    correct: Sequence[Mapping[str, Any]] = rebuilt.breakdown
    issued_total = sum((it.total for it in issued), ZERO)
    issued_iva = sum((it.total - _base(it) for it in issued), ZERO)
    if len(issued) != len(correct):
        findings.append(
            {
                "motivo": "lineas",
                "detalle": f"La factura tiene {len(issued)} líneas; hoy tendría {len(correct)}.",
                "diferencia": money_text(rebuilt.total - issued_total),
            }
        )
    for it, row in zip(issued, correct, strict=False):
        want_ids = [int(t) for t in row.get("impuestos") or []]
        want_total = Decimal(str(row["total"]))
        want_tax = Decimal(str(row["iva"]))
        have_tax = it.total - _base(it)
        if list(it.tax_ids) != want_ids or abs(have_tax - want_tax) > CENT:
            findings.append(
                {
                    "motivo": "impuesto",
                    "linea": str(it.index + 1),
                    "codigo": it.code,
                    "facturado": _label(it.tax_ids, it.rate),
                    "correcto": str(row.get("impuesto") or _label(want_ids, Decimal(0))),
                    "diferencia": money_text(want_tax - have_tax),
                }
            )
        if abs(want_total - it.total) > CENT:
            # Billed for less than the buyer paid: a promotion already in the price was taken
            # off again; for more: some other value differs.
            findings.append(
                {
                    "motivo": "descuento_doble" if want_total > it.total else "valor",
                    "linea": str(it.index + 1),
                    "codigo": it.code,
                    "facturado": money_text(it.total),
                    "correcto": money_text(want_total),
                    "diferencia": money_text(want_total - it.total),
                }
            )
    return {
        "diferencias": findings,
        "diferencia_total": money_text(rebuilt.total - issued_total),
        "diferencia_iva": money_text(rebuilt.tax_total - issued_iva),
    }


def _base(item: InvoiceItem) -> Decimal:
    return round2(item.quantity * item.price)
