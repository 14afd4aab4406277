"""The dashboard's exports as real Excel workbooks (`.xlsx`): Spanish column names and states,
amounts as numbers with a peso format and dates as dates shown dd/mm/aaaa, so Excel set to
Colombia reads them right (a comma-separated CSV with decimal points is misread there)."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import xlsxwriter
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from conexapi.reports.profit import SaleProfit
from conexapi.reports.reconciliation import ReconciliationRow
from conexapi.web.format import dian_label, ml_statuses, state_label

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Kind = Literal["text", "money", "date", "int"]
Cell = str | int | Decimal | date | None


@dataclass(frozen=True)
class Column:
    title: str
    kind: Kind = "text"
    width: int = 14


EXCEL_MAX_ROWS = 1_048_576  # rows in one sheet, its header included


class _Sheets:
    """Writes rows in order to a workbook's sheets: a new sheet ("Conciliación (2)", …) when
    one is full, each with its header, frozen first row and filter."""

    def __init__(
        self,
        book: xlsxwriter.Workbook,
        name: str,
        columns: Sequence[Column],
        max_rows: int = EXCEL_MAX_ROWS,
    ) -> None:
        self.book, self.name, self.columns, self.max_rows = book, name, columns, max_rows
        self.head = book.add_format({"bold": True, "bg_color": "#E8EEFC", "border": 1})
        self.formats = {
            "money": book.add_format({"num_format": "#,##0.00"}),
            "date": book.add_format({"num_format": "dd/mm/yyyy"}),
            "int": book.add_format({"num_format": "0"}),
        }
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        title = self.name if self.sheets == 1 else f"{self.name} ({self.sheets})"
        self.ws = self.book.add_worksheet(title[:31])
        for c, col in enumerate(self.columns):
            self.ws.write_string(0, c, col.title, self.head)
            self.ws.set_column(c, c, col.width)
        self.ws.freeze_panes(1, 0)
        self.row = 0

    def _finish_sheet(self) -> None:
        self.ws.autofilter(0, 0, max(self.row, 1), len(self.columns) - 1)

    def write(self, rows: Sequence[Sequence[Cell]]) -> None:
        for row in rows:
            if self.row + 1 >= self.max_rows:
                self._finish_sheet()
                self._new_sheet()
            self.row += 1
            self._write_row(self.row, row)

    def _write_row(self, r: int, row: Sequence[Cell]) -> None:
        ws, formats = self.ws, self.formats
        for c, (col, value) in enumerate(zip(self.columns, row, strict=True)):
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

    def close(self) -> None:
        self._finish_sheet()
        self.book.close()


async def stream_workbook(
    sheet: str,
    columns: Sequence[Column],
    batches: AsyncIterator[Sequence[Sequence[Cell]]],
    *,
    max_rows: int = EXCEL_MAX_ROWS,
) -> Path:
    """A workbook of every row the batches give, written to a temporary file a batch at a
    time (xlsxwriter's constant-memory mode keeps one row in memory, not the sheet): a year of
    a big seller never sits in memory. The writing runs in a thread, so the server answers
    other requests meanwhile. The caller deletes the file (`xlsx_file_response` does)."""
    fd, name = tempfile.mkstemp(prefix="conexapi-", suffix=".xlsx")
    os.close(fd)
    try:
        book = xlsxwriter.Workbook(name, {"constant_memory": True})
        sheets = _Sheets(book, sheet, columns, max_rows)
        async for rows in batches:
            await asyncio.to_thread(sheets.write, rows)
        await asyncio.to_thread(sheets.close)
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


def xlsx_file_response(filename: str, path: Path) -> FileResponse:
    """Sends a workbook written to a temporary file, and deletes the file once sent."""
    return FileResponse(
        path,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        background=BackgroundTask(path.unlink, missing_ok=True),
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


def profit_cells(sales: Sequence[SaleProfit]) -> list[list[Cell]]:
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
        for s in sales
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


def reconciliation_cells(rows: Sequence[ReconciliationRow]) -> list[list[Cell]]:
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
