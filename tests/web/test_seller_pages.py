"""The seller's dashboard (issue 16): offline API docs, today's summary, phone layout markup,
Excel exports, search, progress, errors in place, one Spanish voice."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from conexapi.core.errors import PermanentError, TransientError
from conexapi.db import transaction
from conexapi.messages.numbers import cop, dmy, integer
from conexapi.operations.service import minutes_for
from conexapi.runtime import Runtime
from conexapi.sync.models import Document, Sale
from conexapi.sync.policy import RetryPolicy, classify
from conexapi.web.excel import XLSX
from conexapi.web.format import csv_reason
from conexapi.web.jinja import HERE
from tests.conftest import SignedIn
from tests.web.conftest import seed_sales, web_login

TEMPLATES = HERE / "templates"


async def test_api_docs_load_their_assets_from_the_package(client: httpx.AsyncClient) -> None:
    for path, asset in (
        ("/docs", "/app/static/apidocs/swagger-ui-bundle.js"),
        ("/redoc", "/app/static/apidocs/redoc.standalone.js"),
    ):
        page = await client.get(path)
        assert page.status_code == 200
        assert asset in page.text
        assert "cdn" not in page.text.lower()
        assert "fonts.googleapis" not in page.text
        served = await client.get(asset)
        assert served.status_code == 200
        assert len(served.content) > 100_000
    css = await client.get("/app/static/apidocs/swagger-ui.css")
    assert css.status_code == 200
    policy = (await client.get("/docs")).headers["content-security-policy"]
    assert "https:" not in policy  # nothing loaded from another host


# -- helpers ----------------------------------------------------------------------------------

TAGS = re.compile(r"<(script|style|code|details|title)\b.*?</\1>|<[^>]+>", re.S | re.I)
# Words a seller must never meet: English states, vendor and CSV errors, raw HTTP codes.
ENGLISH = re.compile(
    r"\b(the|and|not found|empty sku|invoiced|pending|needs_attention|failed|retrying|"
    r"Accepted|Rejected|did not answer|ReadTimeout|HTTP \d{3}|warning|unmapped_products|"
    r"paid|cancelled|Invoice|Retry|Download|Submit|Loading)\b"
)
# "tú" forms: the product addresses the seller as "usted".
TU = re.compile(r"\b(tú|tienes|puedes|debes|configura|revisa|ingresa|conecta|intenta)\b", re.I)


def visible_text(html: str) -> str:
    """What a reader sees: no markup, scripts, code or the "Detalles" toggles."""
    return re.sub(r"\s+", " ", TAGS.sub(" ", html))


async def _add_sale(runtime: Runtime, tenant_id: int, integration_id: int, **fields: Any) -> int:
    async with transaction(runtime.sessions) as session:
        sale = Sale(tenant_id=tenant_id, integration_id=integration_id, **fields)
        session.add(sale)
        await session.flush()
        return int(sale.id)


def _facts(**extra: Any) -> dict[str, Any]:
    return {
        "statuses": ["paid"],
        "total_paid": "50000",
        "buyer_nickname": "COMPRADORX2026",
        "buyer": {"id_type": "CC", "identification": "1020304050", "first_name": "Marta"},
        "lines": [{"sku": "FUNDA-IPH-15", "title": "Funda", "meli_coupon": "0"}],
        **extra,
    }


# -- search (item 11) ------------------------------------------------------------------------


async def test_search_finds_nickname_cedula_with_dots_and_sku(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    sid = await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="2000099",
        order_ids=["2000099"],
        state="invoiced",
        total=Decimal("50000"),
        buyer_name="Marta Ruiz",
        sale_date=datetime.now(UTC),
        facts=_facts(),
    )
    await web_login(client, owner.email)
    for q in ("compradorx2026", "1.020.304.050", "1020304050", "FUNDA-IPH", "Marta", "FV-1-77"):
        page = await client.get("/app/sales", params={"q": q})
        assert page.status_code == 200
        found = set(map(int, re.findall(r'data-sale-id="(\d+)"', page.text)))
        expected = ids["invoiced"] if q == "FV-1-77" else sid
        assert found == {expected}, (q, found)
    nothing = await client.get("/app/sales", params={"q": "NO-EXISTE-XYZ"})
    assert 'data-sale-id="' not in nothing.text


# -- progress (item 3) -----------------------------------------------------------------------


async def test_a_retried_sale_says_its_place_and_the_backlog_banner_counts(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    now = datetime.now(UTC)
    for n in range(3):
        await _add_sale(
            runtime,
            owner.tenant_id,
            ids["integration"],
            external_id=f"31{n:05d}",
            order_ids=[f"31{n:05d}"],
            state="pending",
            total=Decimal("1000"),
            sale_date=now,
            next_attempt_at=now - timedelta(minutes=5),
        )
    csrf = await web_login(client, owner.email)
    retried = await client.post(f"/app/sales/{ids['dead']}/retry", data={"csrf_token": csrf})
    assert retried.status_code == 303
    status = await client.get(
        "/app/sales/status.json", params={"ids": f"{ids['dead']},{ids['invoiced']}"}
    )
    assert status.status_code == 200
    body = status.json()
    # Three pending sales were due before it: it is fourth.
    assert body["sales"][str(ids["dead"])]["queue"] == "En cola · puesto 4 · ~1 min"
    assert body["sales"][str(ids["invoiced"])]["queue"] == ""
    assert body["sales"][str(ids["invoiced"])]["label"] == "Facturada"
    assert body["backlog"] == 4
    assert body["banner"] == "Facturando 4 ventas · ~1 min (límite de Siigo: 100 por minuto)"
    page = await client.get("/app/sales")
    assert "Facturando 4 ventas" in page.text
    assert 'data-progress-url="/app/sales/status.json"' in page.text


async def test_backlog_minutes_follow_siigo_limit() -> None:
    assert minutes_for(0, 100) == 0
    assert minutes_for(1, 100) == 1
    assert minutes_for(954, 100) == 20  # 1.908 requests at 100 per minute
    assert minutes_for(1_230, 100) == 25


# -- today (item 10) -------------------------------------------------------------------------


async def test_resumen_opens_on_today_with_what_needs_the_seller(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="1999999",
        order_ids=["1999999"],
        state="invoiced",
        total=Decimal("70000"),
        sale_date=datetime.now(UTC) - timedelta(days=10),
        facts=_facts(),
    )
    await web_login(client, owner.email)
    today = await client.get("/app")
    assert "Resumen · Hoy" in today.text
    text = visible_text(today.text)
    assert "Lo que necesita de usted" in text
    assert "1 venta requiere atención" in text
    assert re.search(r'data-today="sales"><span class="n">3<', today.text)
    assert re.search(r'data-today="net"><span class="n">\$ 83\.927,60<', today.text)
    month = await client.get("/app", params={"periodo": "30"})
    assert re.search(r'data-today="sales"><span class="n">4<', month.text)
    assert "Últimos 30 días" in month.text


# -- exports (item 9) ------------------------------------------------------------------------


async def test_profit_export_is_a_real_xlsx_with_spanish_columns_and_states(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    await seed_sales(runtime, owner.tenant_id)
    await web_login(client, owner.email)
    response = await client.get("/app/reports/profit.xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(XLSX)
    book = zipfile.ZipFile(io.BytesIO(response.content))
    strings = workbook_text(book)
    for word in ("Venta (MercadoLibre)", "Fecha", "Comisión de MercadoLibre", "Neto", "Facturada"):
        assert word in strings
    assert "invoiced" not in strings
    sheet = book.read("xl/worksheets/sheet1.xml").decode()
    assert re.search(r"<c r=\"M2\"[^>]*><v>83927\.6\d*</v>", sheet)  # a number, not text
    styles = book.read("xl/styles.xml").decode()
    assert 'formatCode="dd/mm/yyyy"' in styles
    recon = await client.get("/app/reports/reconciliation.xlsx")
    assert recon.status_code == 200
    assert "Estado en ConexAPI" in workbook_text(zipfile.ZipFile(io.BytesIO(recon.content)))


def workbook_text(book: zipfile.ZipFile) -> str:
    """Every text of a workbook: in its shared strings, or inline in its sheets (how a workbook
    written row by row, in constant memory, keeps them)."""
    return "".join(
        book.read(name).decode()
        for name in book.namelist()
        if name == "xl/sharedStrings.xml" or name.startswith("xl/worksheets/")
    )


# -- errors in place (item 8) and one Spanish voice (item 4) ---------------------------------


async def test_reversed_date_range_is_said_on_the_reports_page_with_the_menu(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    await web_login(client, owner.email)
    page = await client.get(
        "/app/reports", params={"date_from": "2026-11-20", "date_to": "2026-11-01"}
    )
    assert page.status_code == 422
    assert 'id="menu"' in page.text
    assert "«Desde» es posterior a «Hasta»" in page.text
    assert 'aria-invalid="true"' in page.text
    reversed_ = await client.get(
        "/app/sales", params={"date_from": "2026-11-20", "date_to": "2026-11-01"}
    )
    assert reversed_.status_code == 422
    assert 'id="menu"' in reversed_.text
    assert "«Desde» es posterior a «Hasta»" in reversed_.text
    assert 'value="2026-11-20"' in reversed_.text  # what the seller typed stays, to correct it
    bad = await client.get("/app/sales", params={"date_from": "ayer"})
    assert bad.status_code == 422
    assert 'id="menu"' in bad.text
    assert "Fecha no válida" in bad.text
    wrong_state = await client.get("/app/sales", params={"state": "bogus"})
    assert wrong_state.status_code == 422
    assert 'id="menu"' in wrong_state.text  # the error page keeps the menu
    assert "<summary>Detalles</summary>" in wrong_state.text
    assert "invalid_state" not in visible_text(wrong_state.text)


async def test_no_page_speaks_english_or_tu(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    await web_login(client, owner.email)
    pages = [
        "/app",
        "/app?periodo=7",
        "/app/sales",
        "/app/sales?state=needs_attention",
        f"/app/sales/{ids['invoiced']}",
        f"/app/sales/{ids['attention']}",
        f"/app/sales/{ids['dead']}",
        "/app/reports",
        "/app/reports/fiscal-review",
        "/app/connections",
        "/app/integration",
        "/app/alerts",
        "/app/users",
        "/app/products",
        "/app/sales?date_from=nope",
    ]
    for path in pages:
        page = await client.get(path)
        assert page.status_code in (200, 422), path
        seen = visible_text(page.text)
        assert not ENGLISH.findall(seen), (path, ENGLISH.findall(seen))
        assert not TU.findall(seen), (path, TU.findall(seen))
    # The templates themselves: no "tú" form anywhere, even in a branch not rendered here.
    for template in TEMPLATES.glob("*.html"):
        assert not TU.findall(visible_text(template.read_text())), template.name


def test_counts_money_and_dates_are_written_es_co() -> None:
    assert integer(1230) == "1.230"
    assert integer(954) == "954"
    assert cop(Decimal("188037.27")) == "$ 188.037,27"
    assert dmy(date(2026, 11, 5)) == "05/11/2026"
    assert dmy("2026-11-30") == "30/11/2026"
    assert csv_reason("empty sku") == "el SKU está vacío"
    assert csv_reason("duplicate sku in file (first on line 3)") == (
        "SKU repetido en el archivo (aparece antes en la línea 3)"
    )


# -- profit follows the documents (item 1) ---------------------------------------------------


async def test_fully_credited_sale_shows_annulled_and_partial_refund_the_amount(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    stale_profit = {
        "total": "188037.27",
        "iva": "0",
        "comision": "0",
        "envio_vendedor": "0",
        "devuelto": "0",
        "neto": "188037.27",
    }
    annulled = await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="2000500",
        order_ids=["2000500"],
        state="credited",
        total=Decimal("188037.27"),
        sale_date=datetime.now(UTC),
        facts=_facts(statuses=["cancelled"]),
        profit=stale_profit,
    )
    partial = await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="2000501",
        order_ids=["2000501"],
        state="invoiced",
        total=Decimal("100000"),
        sale_date=datetime.now(UTC),
        facts=_facts(statuses=["partially_refunded"]),
        profit={**stale_profit, "total": "100000", "neto": "100000"},
    )
    async with transaction(runtime.sessions) as session:
        for sale_id, seq, kind, total in (
            (annulled, 1, "invoice", "188037.27"),
            (annulled, 1, "credit_note", "188037.27"),
            (partial, 1, "invoice", "100000"),
            (partial, 1, "credit_note", "30000"),
        ):
            session.add(
                Document(
                    tenant_id=owner.tenant_id,
                    sale_id=sale_id,
                    kind=kind,
                    seq=seq,
                    idempotency_key=f"K{sale_id}{kind[:2]}",
                    status="issued",
                    number=f"{'FV' if kind == 'invoice' else 'NC'}-{sale_id}",
                    total=Decimal(total),
                )
            )
    await web_login(client, owner.email)
    page = visible_text((await client.get(f"/app/sales/{annulled}")).text)
    assert "Venta anulada" in page
    assert "Neto Anulada" in page
    assert "Neto $ 188.037,27" not in page
    refund = visible_text((await client.get(f"/app/sales/{partial}")).text)
    assert "Devolución parcial: $ 30.000 devueltos" in refund
    assert "Devuelto al comprador (notas crédito) −$ 30.000" in refund


async def test_reconciliation_explains_a_mercadolibre_coupon_in_words(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    sid = await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="2000700",
        order_ids=["2000700"],
        state="invoiced",
        total=Decimal("45000"),
        sale_date=datetime.now(UTC),
        facts=_facts(
            total_paid="45000",
            lines=[{"sku": "A", "title": "A", "meli_coupon": "5000"}],
        ),
    )
    async with transaction(runtime.sessions) as session:
        session.add(
            Document(
                tenant_id=owner.tenant_id,
                sale_id=sid,
                kind="invoice",
                seq=1,
                idempotency_key=f"K{sid}cp",
                status="issued",
                number="FV-1-900",
                total=Decimal("50000.40"),
                stamp_status="Accepted",
            )
        )
    await web_login(client, owner.email)
    page = visible_text((await client.get("/app/reports")).text)
    assert "Diferencias explicadas" in page
    assert (
        "cupón pagado por MercadoLibre, facturado como parte del precio ($ 5.000); "
        "redondeo de Siigo ($ 0,40)" in page
    )
    assert re.search(r"\d{2}/\d{2}/\d{4}", page)


async def test_a_vendor_timeout_reads_in_spanish_with_the_code_behind_detalles(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    outcome = classify(
        TransientError("mercadolibre did not answer in time (ReadTimeout)", vendor="mercadolibre"),
        attempt=1,
        policy=RetryPolicy(base_seconds=10, cap_seconds=300),
    )
    rejected = classify(
        PermanentError("Invalid item", vendor="mercadolibre", status_code=422),
        attempt=1,
        policy=RetryPolicy(base_seconds=10, cap_seconds=300),
    )
    sid = await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="2000800",
        order_ids=["2000800"],
        state="retrying",
        total=Decimal("1000"),
        sale_date=datetime.now(UTC),
        error_code=outcome.code,
        error_message=outcome.message,
        facts=_facts(),
    )
    other = await _add_sale(
        runtime,
        owner.tenant_id,
        ids["integration"],
        external_id="2000801",
        order_ids=["2000801"],
        state="needs_attention",
        total=Decimal("1000"),
        sale_date=datetime.now(UTC),
        error_code=rejected.code,
        error_message=rejected.message,
        facts=_facts(),
    )
    await web_login(client, owner.email)
    for sale_id in (sid, other):
        html = (await client.get(f"/app/sales/{sale_id}")).text
        seen = visible_text(html)
        assert not ENGLISH.findall(seen), ENGLISH.findall(seen)
        assert "Detalles" in html
    timeout_page = (await client.get(f"/app/sales/{sid}")).text
    assert "MercadoLibre no respondió a tiempo" in timeout_page
    assert "ReadTimeout" in timeout_page  # kept, behind the toggle
    listing = visible_text((await client.get("/app/sales")).text)
    assert "MercadoLibre no respondió a tiempo" in listing
    assert "ReadTimeout" not in listing


async def test_csv_import_redirects_and_says_what_went_wrong_in_spanish(
    client: httpx.AsyncClient, runtime: Runtime, owner: SignedIn
) -> None:
    ids = await seed_sales(runtime, owner.tenant_id)
    csrf = await web_login(client, owner.email)
    url = f"/app/integration/{ids['integration']}/mappings/import"
    wrong = await client.post(
        url,
        data={"csrf_token": csrf},
        files={"file": ("mapeo.csv", b"codigo;producto\nA;B\n", "text/csv")},
    )
    assert wrong.status_code == 303  # post/redirect/get: a reload sends nothing again
    assert wrong.headers["location"].startswith(f"/app/integration?id={ids['integration']}")
    page = await client.get(wrong.headers["location"])
    assert page.status_code == 200
    assert 'id="menu"' in page.text
    assert "La primera línea del archivo debe ser el encabezado sku,erp_code" in page.text
    assert "The first line" not in page.text
    empty = await client.post(
        url,
        data={"csrf_token": csrf},
        files={"file": ("mapeo.csv", b"sku,erp_code\n,ABC\n", "text/csv")},
    )
    assert empty.status_code == 303
    after = await client.get(empty.headers["location"])
    assert "línea 2 (SKU —): el SKU está vacío" in after.text
    assert "empty sku" not in after.text
