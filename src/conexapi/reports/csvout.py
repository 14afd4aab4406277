"""CSV for spreadsheets: UTF-8 with a BOM (so Excel in Spanish opens accents right), comma
separators, decimal point, one header row. Cells that a spreadsheet would run as a formula are
prefixed with an apostrophe."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence

from fastapi.responses import Response, StreamingResponse

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


async def _stream(
    header: Sequence[str], batches: AsyncIterator[list[list[str]]]
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    yield (BOM + buffer.getvalue()).encode("utf-8")
    async for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            writer.writerow([_safe(c) for c in row])
        yield buffer.getvalue().encode("utf-8")


def csv_stream_response(
    filename: str, header: Sequence[str], batches: AsyncIterator[list[list[str]]]
) -> StreamingResponse:
    """The same CSV as `csv_response`, written while the rows are read (a batch at a time):
    a year of a big seller's sales never sits in memory."""
    return StreamingResponse(
        _stream(header, batches),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
