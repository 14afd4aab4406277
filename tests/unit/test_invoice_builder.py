from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conexapi.erps.siigo.documents.invoice import (
    BuildError,
    EmptySale,
    InvalidProductCode,
    InvoicePlan,
    MissingSettings,
    UnmappedProducts,
    build_invoice,
    idempotency_key,
    line_key,
    marker,
    net_unit_price,
    siigo_line_total,
)
from conexapi.erps.siigo.documents.taxes import tax_rates
from conexapi.sales.facts import SaleFacts, SaleLine
from conexapi.sales.settings import InvoicingSettings

D = Decimal
RATE = D(19)
# The taxes of the Siigo sandbox company (docs/vendors/siigo.md §8 shape).
RATES = tax_rates(
    [
        {"id": 13156, "name": "IVA 19%", "type": "IVA", "percentage": 19, "active": True},
        {"id": 13157, "name": "IVA 5%", "type": "IVA", "percentage": 5, "active": True},
        {"id": 13158, "name": "IVA 0%", "type": "IVA", "percentage": 0, "active": True},
        {"id": 13159, "name": "IVA Excluido", "type": "IVA", "percentage": 0, "active": True},
        {"id": 13160, "name": "Retefuente 2.5%", "type": "Retefuente", "percentage": 2.5},
    ]
)
SETTINGS = InvoicingSettings(
    fv_document_id=24446,
    nc_document_id=77775,
    seller_id=629,
    payment_type_id=5636,
    nc_payment_type_id=5637,
    iva_tax_id=13156,
    shipping_product_code="ENVIOML",
    send_email=True,
)
TODAY = date(2026, 3, 14)
CODES = {"CAM-ALG-M": "CAMALGM", "MCO2:": "GORRA", "MCO3:77": "TAZA"}


def line(
    sku: str | None = "CAM-ALG-M",
    qty: str = "2",
    price: str = "59900",
    discount: str = "0",
    order_id: str = "2000008123456789",
    item_id: str = "MCO1",
    variation_id: str | None = None,
) -> SaleLine:
    return SaleLine(
        order_id=order_id,
        item_id=item_id,
        title="Camiseta algodón talla M",
        quantity=D(qty),
        unit_price=D(price),
        sku=sku,
        variation_id=variation_id,
        seller_coupon=D(discount),
    )


def facts(*lines: SaleLine, shipping: str = "0", **kw: Any) -> SaleFacts:
    order_ids = tuple(dict.fromkeys(ln.order_id for ln in lines)) or ("2000008123456789",)
    data: dict[str, Any] = {
        "external_id": "2000004567891234",
        "order_ids": order_ids,
        "pack_id": "2000004567891234",
        "seller_id": "779432305",
        "statuses": tuple("paid" for _ in order_ids),
        "tags": frozenset(),
        "lines": lines,
        "buyer": None,
        "shipping_paid_by_buyer": D(shipping),
        "sale_date": datetime(2026, 3, 13, 18, 0),
    }
    data.update(kw)
    return SaleFacts(**data)


def build(f: SaleFacts, s: InvoicingSettings = SETTINGS, **kw: Any) -> InvoicePlan:
    return build_invoice(
        f,
        s,
        product_codes=kw.pop("codes", CODES),
        rates=kw.pop("rates", RATES),
        today=TODAY,
        idempotency_key="CX112000004567891234FV1",
        customer_identification="1020304050",
        **kw,
    )


def independent_total(items: list[dict[str, Any]]) -> Decimal:
    return sum(
        (
            siigo_line_total(D(str(i["quantity"])), D(str(i["price"])), D(0), RATE).total
            for i in items
        ),
        D(0),
    )


# --- Siigo arithmetic ------------------------------------------------------------------------


def test_siigo_line_total_matches_doc_example() -> None:
    assert siigo_line_total(D(2), D("50336.134454"), D(0), RATE) == (
        siigo_line_total(D(2), D("50336.134454"), D(0), RATE)
    )
    totals = siigo_line_total(D(2), D("50336.134454"), D(0), RATE)
    assert (totals.base, totals.tax, totals.total) == (
        D("100672.27"),
        D("19127.73"),
        D("119800.00"),
    )
    ship = siigo_line_total(D(1), D("8319.327731"), D(0), RATE)
    assert (ship.base, ship.tax, ship.total) == (D("8319.33"), D("1580.67"), D("9900.00"))


def test_siigo_line_total_rounds_half_up() -> None:
    assert siigo_line_total(D(1), D("0.005"), D(0), D(0)).base == D("0.01")
    assert siigo_line_total(D(1), D("10.00"), D("0.50"), RATE).base == D("9.50")


@pytest.mark.parametrize(
    ("gross", "qty", "price"),
    [("119800", "2", "50336.134454"), ("9900", "1", "8319.327731"), ("59900", "1", "50336.134454")],
)
def test_net_unit_price_doc_values(gross: str, qty: str, price: str) -> None:
    assert net_unit_price(D(gross), D(qty), RATE) == D(price)


def test_net_unit_price_unreachable_picks_nearest_lower_on_tie() -> None:
    price = net_unit_price(D(1025), D(1), RATE)
    total = siigo_line_total(D(1), price, D(0), RATE).total
    assert total in {D("1025.01"), D("1024.99")}
    assert total == D("1024.99")  # both are 0.01 away: the lower wins
    assert price == price.quantize(D("0.000001"))


@settings(max_examples=300, deadline=None)
@given(gross=st.integers(1, 5_000_000), qty=st.integers(1, 10))
def test_net_unit_price_is_within_a_centavo(gross: int, qty: int) -> None:
    price = net_unit_price(D(gross), D(qty), RATE)
    total = siigo_line_total(D(qty), price, D(0), RATE).total
    assert abs(total - gross) <= D("0.01")
    assert price == price.quantize(D("0.000001"))


# --- invoice -------------------------------------------------------------------------------


def test_doc_example_9_2() -> None:
    plan = build(facts(line(), shipping="9900"))
    body = plan.json_body()
    assert body["items"] == [
        {
            "code": "CAMALGM",
            "description": "Camiseta algodón talla M",
            "quantity": 2,
            "price": 50336.134454,
            "taxes": [{"id": 13156}],
        },
        {
            "code": "ENVIOML",
            "description": "Envío MercadoLibre",
            "quantity": 1,
            "price": 8319.327731,
            "taxes": [{"id": 13156}],
        },
    ]
    assert body["payments"] == [{"id": 5636, "value": 129700}]
    assert body["document"] == {"id": 24446}
    assert body["date"] == "2026-03-14"
    assert body["customer"] == {"identification": "1020304050", "branch_office": 0}
    assert body["seller"] == 629
    assert body["stamp"] == {"send": True}
    assert body["mail"] == {"send": True}
    assert "cost_center" not in body
    assert body["observations"] == (
        "MercadoLibre pack 2000004567891234 orden(es) 2000008123456789 - Venta del 13/03/2026"
        " - Ref ConexAPI: CX112000004567891234FV1"
    )
    assert plan.total == D("129700.00")
    assert plan.deviation == 0
    assert plan.expected_gross == D(129700)
    assert plan.subtotal == D("108991.60")
    assert plan.tax_total == D("20708.40")
    assert plan.breakdown[0]["precio_unitario_con_iva"] == "59900.00"
    assert plan.summary()["total"] == "129700.00"
    json.dumps(body)  # JSON-safe
    assert '"price": 50336.134454' in json.dumps(body)


def test_unreachable_price_records_deviation() -> None:
    plan = build(facts(line(qty="1", price="1025")))
    assert plan.total in {D("1025.01"), D("1024.99")}
    assert plan.deviation == plan.total - D(1025)
    assert abs(plan.deviation) == D("0.01")
    assert plan.body["payments"][0]["value"] == plan.total
    assert plan.warnings


def test_seller_coupon_reduces_line() -> None:
    plan = build(facts(line(qty="1", price="129900", discount="4000")))
    assert plan.total == D("125900.00")
    assert "discount" not in plan.body["items"][0]


def test_fractional_quantity_billed_as_one_unit() -> None:
    plan = build(facts(line(qty="1.333", price="3000")))
    item = plan.body["items"][0]
    assert item["quantity"] == 1
    assert plan.expected_gross == D("3999.000")
    assert abs(plan.deviation) <= D("0.01")


def test_prices_without_iva() -> None:
    s = SETTINGS.model_copy(update={"prices_include_iva": False})
    plan = build(facts(line(qty="2", price="10000")), s)
    assert plan.body["items"][0]["price"] == D("10000.000000")
    assert plan.total == D("23800.00")
    assert plan.deviation == 0


def test_cost_center_and_branch_office() -> None:
    s = SETTINGS.model_copy(update={"cost_center_id": 235, "stamp": False})
    plan = build(facts(line()), s, branch_office=2)
    assert plan.body["cost_center"] == 235
    assert plan.body["customer"]["branch_office"] == 2
    assert plan.body["stamp"] == {"send": False}


def test_line_key_and_mapping_by_item_variation() -> None:
    no_sku = line(sku=None, item_id="MCO3", variation_id="77", qty="1", price="15000")
    assert line_key(no_sku) == "MCO3:77"
    assert line_key(line(sku=None, item_id="MCO2")) == "MCO2:"
    plan = build(facts(no_sku))
    assert plan.body["items"][0]["code"] == "TAZA"


def test_missing_settings() -> None:
    with pytest.raises(MissingSettings) as info:
        build(facts(line()), InvoicingSettings())
    err = info.value
    assert err.code == "missing_settings"
    assert err.names == ["fv_document_id", "seller_id", "payment_type_id", "iva_tax_id"]
    assert "Configuración" in err.message
    assert isinstance(err, BuildError)


def test_shipping_without_shipping_code() -> None:
    s = SETTINGS.model_copy(update={"shipping_product_code": None})
    with pytest.raises(MissingSettings) as info:
        build(facts(line(), shipping="9900"), s)
    assert info.value.names == ["shipping_product_code"]
    build(facts(line()), s)  # no shipping: no code needed


def test_unmapped_products_lists_every_line() -> None:
    with pytest.raises(UnmappedProducts) as info:
        build(
            facts(
                line(sku="CAM-001"),
                line(sku="CAM-001"),
                line(sku=None, item_id="MCO9", variation_id="5"),
                line(),
            )
        )
    assert info.value.skus == ["CAM-001", "MCO9:5"]
    assert info.value.code == "unmapped_products"
    single = UnmappedProducts(["CAM-001"]).message
    assert single == (
        "El SKU CAM-001 no está asociado a un producto de Siigo. Asócielo en Productos o cree el "
        "producto con ese código en Siigo."
    )


def test_invalid_product_code() -> None:
    with pytest.raises(InvalidProductCode):
        build(facts(line()), codes={"CAM-ALG-M": "CAM ALG"})


def test_cancelled_orders_of_pack_are_left_out() -> None:
    a = line(order_id="1")
    b = line(order_id="2", qty="1", price="35000")
    plan = build(facts(a, b, statuses=("paid", "cancelled")))
    assert plan.order_ids == ("1",)
    assert plan.total == D("119800.00")
    with pytest.raises(EmptySale):
        build(facts(b, statuses=("cancelled",)))


def test_text_sanitized_in_description() -> None:
    ln = SaleLine("1", "MCO1", "Gorra 'Urbana' 🧢 " + "x" * 200, D(1), D(35000), sku="CAM-ALG-M")
    item = build(facts(ln)).body["items"][0]
    assert "'" not in item["description"]
    assert "🧢" not in item["description"]
    assert len(item["description"]) == 100


# --- idempotency keys ----------------------------------------------------------------------

KEY = re.compile(r"^[A-Za-z0-9]{1,30}$")


def test_idempotency_key_readable_form() -> None:
    assert idempotency_key(1, "2000008123456789", "FV") == "CX112000008123456789FV1"
    key = idempotency_key(10**9, "2000008123456789", "NC", 99)
    assert KEY.match(key)
    assert key.endswith("2000008123456789NC99")
    assert idempotency_key(7, "2000008123456789", "FV") == idempotency_key(
        7, "2000008123456789", "FV"
    )


def test_idempotency_key_no_collisions_on_boundaries() -> None:
    keys = {
        idempotency_key(1, "23", "FV"),
        idempotency_key(38, "3", "FV"),
        idempotency_key(1, "23", "NC"),
        idempotency_key(1, "23", "FV", 2),
        idempotency_key(12, "3", "FV"),
        idempotency_key(1, "2", "FV", 31),
        idempotency_key(1, "23", "FV", 1),
    }
    assert len(keys) == 6  # the last one repeats the first


def test_idempotency_key_hashes_when_too_long_or_not_numeric() -> None:
    long_key = idempotency_key(10**9, "2" * 25, "FV")
    assert KEY.match(long_key)
    assert long_key.startswith("CXZFV1H")
    assert idempotency_key(5, "ABC-1", "FV") != idempotency_key(5, "ABC-2", "FV")
    with pytest.raises(ValueError, match="kind"):
        idempotency_key(1, "1", "F-V")


@given(
    integration=st.integers(0, 10**12),
    external=st.one_of(st.integers(1, 10**20).map(str), st.text(min_size=1, max_size=40)),
    kind=st.sampled_from(["FV", "NC"]),
    seq=st.integers(1, 1000),
)
def test_idempotency_key_format(integration: int, external: str, kind: str, seq: int) -> None:
    key = idempotency_key(integration, external, kind, seq)
    assert KEY.match(key)
    assert key == idempotency_key(integration, external, kind, seq)


@given(
    a=st.tuples(st.integers(0, 10**9), st.integers(10**15, 10**16 - 1), st.integers(1, 9)),
    b=st.tuples(st.integers(0, 10**9), st.integers(10**15, 10**16 - 1), st.integers(1, 9)),
)
def test_idempotency_key_unique_for_ml_ids(
    a: tuple[int, int, int], b: tuple[int, int, int]
) -> None:
    ka = idempotency_key(a[0], str(a[1]), "FV", a[2])
    kb = idempotency_key(b[0], str(b[1]), "FV", b[2])
    assert (ka == kb) == (a == b)
    assert len(ka) <= 30


def test_marker() -> None:
    assert marker("CX1FV1") == "Ref ConexAPI: CX1FV1"


# --- property: payments always equal Siigo's own total --------------------------------------

lines_strategy = st.lists(
    st.tuples(
        st.integers(1, 10),  # quantity
        st.integers(100, 5_000_000),  # gross unit price, COP
        st.integers(0, 100),  # seller discount, % of the line
    ),
    min_size=0,
    max_size=3,
)


@settings(max_examples=200, deadline=None)
@given(raw=lines_strategy, shipping=st.one_of(st.just(0), st.integers(1000, 30000)))
def test_payments_equal_siigo_total(raw: list[tuple[int, int, int]], shipping: int) -> None:
    sale_lines = []
    for i, (qty, unit, pct) in enumerate(raw):
        gross = D(qty * unit)
        discount = (gross * pct / 100).quantize(D(1)) if pct < 100 else D(0)
        sale_lines.append(
            SaleLine(
                str(i),
                f"MCO{i}",
                f"Producto {i}",
                D(qty),
                D(unit),
                sku="CAM-ALG-M",
                seller_coupon=discount,
            )
        )
    f = facts(*sale_lines, shipping=str(shipping))
    if not sale_lines:
        with pytest.raises(EmptySale):
            build(f)
        return
    plan = build(f)
    items = plan.body["items"]
    total = independent_total(items)
    assert plan.body["payments"][0]["value"] == total == plan.total
    json_items = plan.json_body()["items"]
    assert independent_total(json_items) == total  # survives the float rendering
    assert abs(plan.deviation) <= D("0.01") * len(items)
    assert plan.deviation == plan.total - plan.expected_gross
    expected = sum((ln.unit_price * ln.quantity - ln.seller_coupon for ln in sale_lines), D(0))
    assert plan.expected_gross == expected + shipping
