"""The dashboard on a real account's first day: eight sales of one SKU Siigo has under another
code mapped with one action from the proposals, and a missing MercadoLibre permission on
Conexiones with where to enable it."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from conexapi.sandbox.constants import DEFAULT_SELLER_ID
from tests.stack import Stack, running_stack, stack_settings
from tests.web.conftest import csrf_of, web_login


@pytest.fixture
async def stack(db_url: str) -> AsyncIterator[Stack]:
    async with running_stack(stack_settings(db_url)) as s:
        await s.connect()
        yield s


async def test_eight_sales_of_one_sku_are_mapped_with_one_action(stack: Stack) -> None:
    await stack.generate(8, kinds=["unknown_sku"] * 8)
    await stack.settle()
    assert [s["state"] for s in await stack.sales()] == ["needs_attention"] * 8
    await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/products")
    assert page.status_code == 200
    assert "8 ventas esperando" in page.text
    assert "nombre parecido" in page.text
    # The proposal comes chosen: one click on the button sends exactly what the page holds.
    form = dict(re.findall(r'name="(sku-\d+|integration_id)" value="([^"]*)"', page.text))
    form.update(re.findall(r'type="radio" name="(code-\d+)" value="([^"]*)" checked', page.text))
    assert form["code-1"] == "SOPCEL-CARRO"
    form["csrf_token"] = csrf_of(page.text)
    mapped = await stack.api.post("/app/products/map", data=form)
    assert mapped.status_code == 303
    after = await stack.api.get(mapped.headers["location"])
    assert "1 SKU asociados; 8 ventas se reintentan ahora." in after.text
    await stack.settle()
    assert [s["state"] for s in await stack.sales()] == ["invoiced"] * 8
    assert len(await stack.siigo("invoices")) == 8


async def test_a_refused_code_is_explained_and_nothing_is_saved(stack: Stack) -> None:
    await stack.generate(1, kinds=["sku_with_spaces"])
    await stack.settle()
    [sale] = await stack.sales()
    csrf = await web_login(stack.api, stack.owner.email)
    r = await stack.api.post(
        f"/app/sales/{sale['id']}/map-products",
        data={"csrf_token": csrf, "sku": "BOTELLA 1L 'ECO'", "erp_code": "NO-EXISTE"},
    )
    assert r.status_code == 303
    page = await stack.api.get(r.headers["location"])
    assert "No existe en Siigo un producto con ese código." in page.text
    listed = await stack.api.get(
        f"/api/v1/integrations/{stack.integration_id}/product-mappings", headers=stack.headers
    )
    assert listed.json()["total"] == 0
    # The proposed code works from the sale's own fix too, and the sale goes at once.
    r = await stack.api.post(
        f"/app/sales/{sale['id']}/map-products",
        data={"csrf_token": csrf, "sku": "BOTELLA 1L 'ECO'", "erp_code": "BOTELLA1LECO"},
    )
    assert r.status_code == 303
    await stack.settle()
    assert [s["state"] for s in await stack.sales()] == ["invoiced"]


async def test_conexiones_names_the_missing_permission_and_where_to_enable_it(
    stack: Stack,
) -> None:
    await stack.control.put(
        f"/_sandbox/mercadolibre/sellers/{DEFAULT_SELLER_ID}/permissions", json={"billing": False}
    )
    await stack.generate(1, kinds=["single"])
    await stack.settle()
    await web_login(stack.api, stack.owner.email)
    page = await stack.api.get("/app/connections")
    assert 'data-status="needs_permission"' in page.text
    assert "Falta el permiso «Facturación»" in page.text
    assert "Permisos funcionales y activar «Facturación»" in page.text
    assert "No hace falta volver a autorizar" in page.text


async def test_a_forged_mapping_form_gets_an_answer_not_an_error(stack: Stack) -> None:
    csrf = await web_login(stack.api, stack.owner.email)
    for integration_id in ("abc", "99999", ""):
        r = await stack.api.post(
            "/app/products/map",
            data={
                "csrf_token": csrf,
                "integration_id": integration_id,
                "sku-1": "X",
                "code-1": "Y",
            },
        )
        assert r.status_code == 303, r.text
        page = await stack.api.get(r.headers["location"])
        assert "No encontramos esa integración." in page.text
