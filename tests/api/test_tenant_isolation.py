"""Every endpoint that takes an id answers 404 for another tenant's resource.

The routes are read from the OpenAPI schema, so a new endpoint with an id is covered (and fails
here until it is given a body below and scoped to the caller's tenant).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from conexapi.sales.clock import colombia_today
from conexapi.sync.models import Job
from tests.conftest import sign_up
from tests.stack import running_stack, stack_settings

BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("patch", "/api/v1/users/{user_id}"): {"json": {"is_active": False}},
    ("patch", "/api/v1/integrations/{integration_id}"): {"json": {"settings": {"stamp": False}}},
    ("post", "/api/v1/integrations/{integration_id}/product-mappings/import"): {
        "content": b"sku,erp_code\nA,B\n",
        "headers": {"Content-Type": "text/csv"},
    },
    ("post", "/api/v1/integrations/{integration_id}/product-mappings/check"): {"json": {}},
    ("put", "/api/v1/integrations/{integration_id}/product-mappings/{sku}"): {
        "json": {"erp_code": "CAM-ALG-M-NEG"}
    },
    ("post", "/api/v1/integrations/{integration_id}/product-mappings/bulk"): {
        "json": {"mappings": [{"sku": "MINE", "erp_code": "CAM-ALG-M-NEG"}]}
    },
    ("post", "/api/v1/integrations/{integration_id}/unmapped-skus/create-product"): {
        "json": {"sku": "MINE", "tax_id": 13156}
    },
    ("post", "/api/v1/integrations/{integration_id}/backfill"): {
        "json": {"date_from": colombia_today().isoformat(), "date_to": colombia_today().isoformat()}
    },
    ("post", "/api/v1/integrations/{integration_id}/go-live"): {
        "json": {"invoice_from": colombia_today().isoformat()}
    },
    ("post", "/api/v1/sales/{sale_id}/invoiced-elsewhere"): {"json": {}},
    ("put", "/api/v1/sales/{sale_id}/buyer"): {"json": {"consumer_final": True}},
}


async def test_another_tenants_ids_answer_404_on_every_endpoint(db_url: str) -> None:
    async with running_stack(stack_settings(db_url)) as stack:
        await stack.connect()
        await stack.generate(1, mix={"unknown_sku": 1})
        await stack.settle()
        [sale] = await stack.sales()
        await stack.api.put(
            f"/api/v1/integrations/{stack.integration_id}/product-mappings/MINE",
            json={"erp_code": "CAM-ALG-M-NEG"},
            headers=stack.headers,
        )
        job = await stack.api.post(
            f"/api/v1/integrations/{stack.integration_id}/backfill",
            **BODIES[("post", "/api/v1/integrations/{integration_id}/backfill")],
            headers=stack.headers,
        )
        assert job.status_code == 202, job.text
        connections = (await stack.api.get("/api/v1/connections", headers=stack.headers)).json()
        async with stack.runtime.sessions() as session:
            job_id = (await session.execute(select(Job.id))).scalar_one()
        ids = {
            "user_id": stack.owner.user_id,
            "connection_id": connections[0]["id"],
            "integration_id": stack.integration_id,
            "sku": "MINE",
            "sale_id": sale["id"],
            "job_id": job_id,
        }
        intruder = await sign_up(stack.runtime, stack.api, email="otro@x.co", tenant="Otra")
        checked = 0
        for path, operations in stack.api_paths():
            if "{" not in path or not path.startswith("/api/"):
                continue
            url = path.format(**ids)
            for method in operations:
                kwargs = BODIES.get((method, path), {})
                headers = {**intruder.headers, **kwargs.get("headers", {})}
                extra = {k: v for k, v in kwargs.items() if k != "headers"}
                r = await stack.api.request(method.upper(), url, headers=headers, **extra)
                assert r.status_code == 404, f"{method.upper()} {path}: {r.status_code} {r.text}"
                assert r.json()["code"].endswith("not_found"), r.text
                checked += 1
        assert checked >= 13
        # And the owner still sees all of it.
        r = await stack.api.get(f"/api/v1/sales/{sale['id']}", headers=stack.headers)
        assert r.status_code == 200
