"""CSV for spreadsheets: UTF-8 with a BOM (so Excel in Spanish opens accents right), comma
separators, decimal point, one header row. Cells that a spreadsheet would run as a formula are
prefixed with an apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from fastapi.responses import Response

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe(cell: str) -> str:
    # Negative numbers stay numbers; anything else that starts like a formula is neutralised.
    if cell.startswith(_FORMULA_START) and not _is_number(cell):
        return "'" + cell
    return cell


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def to_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_safe(c) for c in row])
    return BOM + buffer.getvalue()


def csv_response(filename: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Response:
    return Response(
        content=to_csv(header, rows).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
