"""The dashboard's exports as real Excel workbooks (`.xlsx`): Spanish column names and states,
amounts as numbers with a peso format and dates as dates shown dd/mm/aaaa, so Excel set to
Colombia reads them right (a comma-separated CSV with decimal points is misread there)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

import xlsxwriter
from fastapi.responses import Response

from conexapi.reports.profit import ProfitReport
from conexapi.reports.reconciliation import Reconciliation
from conexapi.web.format import dian_label, ml_statuses, state_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Kind = Literal["text", "money", "date", "int"]
Cell = str | int | Decimal | date | None


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = "text"
    width: int = 14


def workbook(sheet: str, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(sheet[:31])
    head = book.add_format({"bold": True, "bg_color": "#E8EEFC", "border": 1})
    formats = {
        "money": book.add_format({"num_format": "#,##0.00"}),
        "date": book.add_format({"num_format": "dd/mm/yyyy"}),
        "int": book.add_format({"num_format": "0"}),
    }
    for c, col in enumerate(columns):
        ws.write_string(0, c, col.title, head)
        ws.set_column(c, c, col.width)
    for r, row in enumerate(rows, start=1):
        for c, (col, value) in enumerate(zip(columns, row, strict=True)):
            if value is None or value == "":
                ws.write_blank(r, c, None)
            elif col.kind == "money" and isinstance(value, (Decimal, int)):
                ws.write_number(r, c, float(value), formats["money"])
            elif col.kind == "int" and isinstance(value, int):
                ws.write_number(r, c, value, formats["int"])
            elif col.kind == "date" and isinstance(value, date):
                moment = value if isinstance(value, datetime) else datetime(*value.timetuple()[:3])
                ws.write_datetime(r, c, moment, formats["date"])
            else:
                # Text is always text: a buyer named "=HYPERLINK(...)" is never run as a formula.
                ws.write_string(r, c, str(value))
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(len(rows), 1), len(columns) - 1)
    book.close()
    return buffer.getvalue()


def xlsx_response(filename: str, content: bytes) -> Response:
    return Response(
        content=content,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


PROFIT_COLUMNS = [
    Column("Venta (MercadoLibre)", width=18),
    Column("Fecha", "date", 12),
    Column("Plataforma"),
    Column("Comprador", width=28),
    Column("Estado", width=22),
    Column("Factura"),
    Column("Total vendido", "money"),
    Column("Aporte de MercadoLibre", "money"),
    Column("Comisión de MercadoLibre", "money"),
    Column("Envío pagado por usted", "money"),
    Column("IVA", "money"),
    Column("Devuelto (notas crédito)", "money"),
    Column("Neto", "money"),
]


def profit_rows(report: ProfitReport) -> list[list[Cell]]:
    return [
        [
            s.external_id,
            s.day,
            "MercadoLibre" if s.marketplace == "mercadolibre" else s.marketplace,
            s.buyer,
            "Anulada (nota crédito)" if s.annulled else state_label(s.state),
            s.invoice_number,
            s.amounts.total,
            s.amounts.aporte_ml,
            s.amounts.comision,
            s.amounts.envio_vendedor,
            s.amounts.iva,
            s.amounts.devuelto,
            s.amounts.neto,
        ]
        for s in report.sales
    ]


RECONCILIATION_COLUMNS = [
    Column("Venta (MercadoLibre)", width=18),
    Column("Fecha", "date", 12),
    Column("Estado en MercadoLibre", width=20),
    Column("Pagado en MercadoLibre", "money"),
    Column("Estado en ConexAPI", width=22),
    Column("Factura"),
    Column("Total de la factura", "money"),
    Column("DIAN", width=22),
    Column("Nota crédito"),
    Column("Diferencias", width=40),
    Column("Detalle", width=60),
]


def reconciliation_rows(result: Reconciliation, *, only_gaps: bool) -> list[list[Cell]]:
    rows = result.gaps if only_gaps else result.rows
    return [
        [
            r.external_id,
            date.fromisoformat(r.day),
            ml_statuses(r.ml_status.split(", ")),
            r.ml_total,
            state_label(r.state),
            r.invoice_number,
            r.invoice_total,
            dian_label(r.dian_status) if r.invoice_number else "",
            r.credit_note_number,
            " | ".join(r.gap_messages),
            r.detail,
        ]
        for r in rows
    ]
