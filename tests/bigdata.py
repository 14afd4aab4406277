"""A seller's history for the big-seller tests: sales on many days, in every state, with their
invoices and credit notes, written through the ORM (the triggers see every write)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from conexapi.sync.models import Document, Sale, SaleOrder

STATES = ["invoiced"] * 6 + ["credited", "skipped", "waiting", "needs_attention", "dead"]
NAMES = ["Ana Gómez", "Luis Pérez", "María José Restrepo", "Óscar Díaz", "Camila Ospina"]


def make_sale(
    tenant_id: int, integration_id: int, i: int, state: str, when: datetime, rng: random.Random
) -> Sale:
    total = Decimal(rng.randrange(10_000, 500_000))
    profit: dict[str, Any] = {}
    if state in ("invoiced", "credited"):
        profit = {
            "total": str(total),
            "aporte_mercadolibre": "0",
            "comision": str((total * Decimal("0.13")).quantize(Decimal("0.01"))),
            "envio_vendedor": str(rng.choice([0, 7900])),
            "iva": str((total * 19 / 119).quantize(Decimal("0.01"))),
            "devuelto": str(total if state == "credited" else 0),
            "neto": str(Decimal("0") if state == "credited" else total / 2),
        }
    statuses = ["cancelled"] if state in ("credited", "skipped") else ["paid"]
    attention = state in ("needs_attention", "dead")
    return Sale(
        tenant_id=tenant_id,
        integration_id=integration_id,
        external_id=f"{tenant_id}{i:07d}",
        order_ids=[f"{tenant_id}{i:07d}"],
        state=state,
        total=total,
        buyer_name=NAMES[i % len(NAMES)],
        buyer_ident=f"{1000 + i}",
        sale_date=when,
        error_code="unmapped_products" if attention else None,
        error_message="Falta el producto." if attention else None,
        facts={"statuses": statuses, "total_paid": str(total)},
        profit=profit,
    )


async def add_history(
    session: AsyncSession,
    tenant_id: int,
    integration_id: int,
    *,
    count: int,
    days: int,
    seed: int = 7,
    end: datetime | None = None,
) -> list[Sale]:
    """`count` sales spread over the `days` before `end`, some at Colombia's midnight, each
    with its order in the sale-order map and its documents."""
    rng = random.Random(seed)
    end = end or datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    sales = []
    for i in range(count):
        when = end - timedelta(minutes=rng.randrange(0, days * 24 * 60))
        if i % 17 == 0:  # Colombia's midnight is 05:00 UTC: the day boundary itself
            when = when.replace(hour=5, minute=0, second=0, microsecond=0)
            if when > end:  # before 05:00 UTC that is still to come: the day before's
                when -= timedelta(days=1)
        sales.append(make_sale(tenant_id, integration_id, i, rng.choice(STATES), when, rng))
    session.add_all(sales)
    await session.flush()
    for sale in sales:
        session.add(
            SaleOrder(integration_id=integration_id, order_id=sale.external_id, sale_id=sale.id)
        )
        if sale.state not in ("invoiced", "credited"):
            continue
        stamp = "Accepted" if sale.id % 9 else "Rejected"
        session.add(
            Document(
                tenant_id=tenant_id,
                sale_id=sale.id,
                kind="invoice",
                seq=1,
                idempotency_key=f"T{tenant_id}I{sale.id}",
                status="issued",
                number=f"FV-{tenant_id}-{sale.id}",
                total=sale.total,
                stamp_status=stamp,
            )
        )
        if sale.state == "credited":
            session.add(
                Document(
                    tenant_id=tenant_id,
                    sale_id=sale.id,
                    kind="credit_note",
                    seq=1,
                    idempotency_key=f"T{tenant_id}C{sale.id}",
                    status="issued",
                    number=f"NC-{tenant_id}-{sale.id}",
                    total=sale.total,
                    stamp_status="Accepted",
                )
            )
    await session.flush()
    return sales
