"""The streamed Excel workbook: rows written in order, batch after batch, onto a new sheet (with
its own header) when one is full; text is always text."""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal

from conexapi.web.excel import Cell, Column, stream_workbook

COLUMNS = [Column("Venta"), Column("Fecha", "date"), Column("Total", "money")]


async def _batches() -> AsyncIterator[list[list[Cell]]]:
    yield [["V1", date(2026, 11, 1), Decimal("1000.50")], ["V2", date(2026, 11, 2), None]]
    yield [['=HYPERLINK("x")', date(2026, 11, 3), Decimal("3")]]
    yield [["V4", date(2026, 11, 4), Decimal("4")], ["V5", date(2026, 11, 5), Decimal("5")]]


async def test_rows_stream_onto_a_new_sheet_when_one_is_full() -> None:
    path = await stream_workbook("Conciliación", COLUMNS, _batches(), max_rows=4)
    try:
        book = zipfile.ZipFile(path)
        names = re.findall(r'<sheet name="([^"]+)"', book.read("xl/workbook.xml").decode())
        assert names == ["Conciliación", "Conciliación (2)"]
        first = book.read("xl/worksheets/sheet1.xml").decode()
        second = book.read("xl/worksheets/sheet2.xml").decode()
        for sheet in (first, second):
            assert "<t>Venta</t>" in sheet  # each sheet has its header
        assert "<t>V1</t>" in first
        assert "<t>V2</t>" in first
        assert "HYPERLINK" in first
        assert "<f>" not in first  # a formula-looking name is text, never a formula
        assert "<t>V4</t>" in second
        assert "<t>V5</t>" in second
        assert "V1" not in second
        assert re.search(r'<c r="C2"[^>]*><v>1000\.5</v>', first)  # amounts are numbers
    finally:
        path.unlink()
