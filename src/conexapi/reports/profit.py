"""Profit per sale, per day (Colombia date) and per platform, in exact `Decimal` pesos.

A sale counts once its invoice was built: that is when the invoicer records `sale.profit`
(total paid by the buyer, what MercadoLibre paid for the buyer, IVA, MercadoLibre fee, shipping
paid by the seller, refunds, net), written again after every credit note
(`sales.profit.sale_profit`). A fully credited sale is counted as annulled, not as a sale.
Sales that never reach an invoice (skipped, waiting) earn nothing to report yet.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from conexapi.reports.repository import SaleWithDocs
from conexapi.sales.clock import COLOMBIA
from conexapi.sales.states import SaleState

ZERO = Decimal("0")
COUNTED_STATES = {SaleState.INVOICED.value, SaleState.CREDITED.value}


def to_decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else ZERO
    except InvalidOperation:
        return ZERO


@dataclass
class Amounts:
    total: Decimal = ZERO
    aporte_ml: Decimal = ZERO
    comision: Decimal = ZERO
    envio_vendedor: Decimal = ZERO
    iva: Decimal = ZERO
    devuelto: Decimal = ZERO
    neto: Decimal = ZERO
    ventas: int = 0
    anuladas: int = 0

    def add(self, other: Amounts) -> None:
        self.total += other.total
        self.aporte_ml += other.aporte_ml
        self.anuladas += other.anuladas
        self.comision += other.comision
        self.envio_vendedor += other.envio_vendedor
        self.iva += other.iva
        self.devuelto += other.devuelto
        self.neto += other.neto
        self.ventas += other.ventas

    @property
    def margin(self) -> Decimal:
        """Net over total, in percent with one decimal (0 when nothing was sold)."""
        if not self.total:
            return ZERO
        return (self.neto * 100 / self.total).quantize(Decimal("0.1"))

    def as_dict(self) -> dict[str, str | int]:
        return {
            "ventas": self.ventas,
            "anuladas": self.anuladas,
            "total": str(self.total),
            "aporte_mercadolibre": str(self.aporte_ml),
            "comision": str(self.comision),
            "envio_vendedor": str(self.envio_vendedor),
            "iva": str(self.iva),
            "devuelto": str(self.devuelto),
            "neto": str(self.neto),
        }


@dataclass
class SaleProfit:
    sale_id: int
    external_id: str
    day: date
    marketplace: str
    buyer: str
    state: str
    invoice_number: str | None
    amounts: Amounts
    annulled: bool = False


@dataclass
class ProfitReport:
    sales: list[SaleProfit] = field(default_factory=list)
    by_day: dict[date, Amounts] = field(default_factory=dict)
    by_platform: dict[str, Amounts] = field(default_factory=dict)
    totals: Amounts = field(default_factory=Amounts)


def colombia_day(moment: datetime) -> date:
    return moment.astimezone(COLOMBIA).date()


def sale_profit(row: SaleWithDocs) -> SaleProfit | None:
    sale = row.sale
    if sale.state not in COUNTED_STATES or not sale.profit:
        return None
    p = sale.profit
    annulled = sale.state == SaleState.CREDITED.value
    amounts = Amounts(
        total=to_decimal(p.get("total")),
        aporte_ml=to_decimal(p.get("aporte_mercadolibre")),
        comision=to_decimal(p.get("comision")),
        envio_vendedor=to_decimal(p.get("envio_vendedor")),
        iva=to_decimal(p.get("iva")),
        devuelto=to_decimal(p.get("devuelto")),
        neto=to_decimal(p.get("neto")),
        ventas=0 if annulled else 1,
        anuladas=1 if annulled else 0,
    )
    invoices = [d for d in row.documents if d.kind == "invoice" and d.number]
    invoice = max(invoices, key=lambda d: d.seq) if invoices else None
    return SaleProfit(
        sale_id=sale.id,
        external_id=sale.external_id,
        day=colombia_day(sale.sale_date or sale.created_at),
        marketplace=row.marketplace,
        buyer=sale.buyer_name,
        state=sale.state,
        invoice_number=invoice.number if invoice else None,
        amounts=amounts,
        annulled=annulled,
    )


def profit_report(rows: Iterable[SaleWithDocs]) -> ProfitReport:
    report = ProfitReport()
    for row in rows:
        item = sale_profit(row)
        if item is None:
            continue
        report.sales.append(item)
        report.by_day.setdefault(item.day, Amounts()).add(item.amounts)
        report.by_platform.setdefault(item.marketplace, Amounts()).add(item.amounts)
        report.totals.add(item.amounts)
    report.by_day = dict(sorted(report.by_day.items()))
    return report


PROFIT_CSV_HEADER = [
    "venta_id",
    "referencia_ml",
    "fecha",
    "plataforma",
    "comprador",
    "estado",
    "factura",
    "total",
    "comision_ml",
    "envio_vendedor",
    "iva",
    "devuelto",
    "neto",
]


def profit_csv_rows(report: ProfitReport) -> list[list[str]]:
    return [
        [
            str(s.sale_id),
            s.external_id,
            s.day.isoformat(),
            s.marketplace,
            s.buyer,
            s.state,
            s.invoice_number or "",
            str(s.amounts.total),
            str(s.amounts.comision),
            str(s.amounts.envio_vendedor),
            str(s.amounts.iva),
            str(s.amounts.devuelto),
            str(s.amounts.neto),
        ]
        for s in report.sales
    ]
