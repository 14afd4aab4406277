"""MercadoLibre calls per invoiced sale against the minimum, per case, live and backfill.

For each case (a scenario kind), a batch of sales is brought in two ways:

- live: MercadoLibre notifies each change; the worker reads the sale;
- backfill: no notification arrives (all dropped); a backfill of today finds the orders with
  `orders/search`, which returns them whole, so the worker need not read them again.

The minimum per sale on the invoicing path: the order (live only: a backfill's search page
already holds it, 1/50 of a call per order), its billing info, its shipment costs only when the
invoice needs them (the payments do not say what the buyer paid for shipping), the pack and
each other order of a pack (live), and the discounts of each order tagged `order_has_discount`.

The shipment's costs the invoice does not need are still read once per invoiced sale, after the
invoice, for profit (the seller's shipping cost: a lowest-priority follow-up). They are counted
apart (`follow_up`) and against their own minimum (one per invoiced sale with a shipment).
Counted with the simulator's own per-endpoint statistics.

    python -m bench.cost_cases [--per-case 20] [--cases pack,single] [--modes live]
"""

from __future__ import annotations

import argparse
import time
from datetime import datetime
from typing import Any

import httpx

from bench.common import BenchStack, StackConfig, settle, write_result
from bench.cost import delta
from conexapi.sales.clock import COLOMBIA

# Packs last: some of their orders stay unpaid (waiting), and a waiting sale that is not paid is
# read again by every search that finds it, which would be counted in the cases after it.
CASES = ("single", "shipping_buyer", "coupon", "company_buyer", "pack")
SEARCH_PAGE = 50
COSTS = "GET /shipments/{shipment_id}/costs"


def invoice_needs_costs(sale: dict[str, Any]) -> bool:
    """Whether the invoice needs `/shipments/{id}/costs`: only when the payments do not carry
    `shipping_cost`. The simulator's payments always carry it (0 when the buyer paid none),
    as MercadoLibre's do (docs/vendors/mercadolibre.md §6.1, §15)."""
    return False


def minimum(sales: list[dict[str, Any]], *, backfill: bool) -> float:
    total = 0.0
    for s in sales:
        orders = len(s["order_ids"])
        per = 1.0  # billing info
        per += 1 if invoice_needs_costs(s) else 0  # shipment costs, when the invoice needs them
        per += 0 if backfill else orders  # every order of the sale (a pack's others included)
        per += 1 if s["pack_id"] else 0  # the pack
        lines = s["details"]["lines"]
        per += len({ln["order_id"] for ln in lines if ln.get("coupon") or ln.get("discounted")})
        total += per
    if backfill:
        orders = sum(len(s["order_ids"]) for s in sales)
        total += -(-orders // SEARCH_PAGE)  # the search pages
    return total


def start_backfill(stack: BenchStack) -> None:
    """Asks ConexAPI for a backfill of today (Colombia), as a seller would."""
    today = datetime.now(COLOMBIA).date().isoformat()
    r = httpx.post(
        f"{stack.api_url}/api/v1/integrations/{stack.integration_id}/backfill",
        json={"date_from": today, "date_to": today},
        headers={"Authorization": f"Bearer {stack.token}"},
        timeout=30,
    )
    r.raise_for_status()


def run_case(stack: BenchStack, kind: str, count: int, seed: int, mode: str) -> dict[str, Any]:
    assert stack.db is not None
    backfill = mode == "backfill"
    stack.set_faults({"notifications": {"drop_rate": 1.0 if backfill else 0.0}})
    ml0 = stack.ml_stats()["calls"]
    inv0 = int(stack.db.scalar("SELECT COUNT(*) FROM document WHERE kind='invoice'"))
    generated = stack.generate(count, kinds=[kind] * count, seed=seed)
    if backfill:
        time.sleep(1.0)
        start_backfill(stack)
        # The workers' upkeep walks the job (every tick): wait until it is done.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and int(
            stack.db.scalar("SELECT COUNT(*) FROM job WHERE kind='backfill' AND state <> 'done'")
        ):
            time.sleep(1.0)
    else:
        stack.wait_intake()
    settle(stack, 300)
    ml = delta(stack.ml_stats()["calls"], ml0)
    # The sweep and missed feeds are periodic, not per sale: counted apart.
    periodic = {k: v for k, v in ml.items() if k.startswith("GET /missed_feeds")}
    per_sale = {k: v for k, v in ml.items() if k not in periodic}
    invoiced = int(stack.db.scalar("SELECT COUNT(*) FROM document WHERE kind='invoice'")) - inv0
    floor = minimum(generated, backfill=backfill)
    # Costs the invoices did not need are read after them (follow-ups, re-checks of invoiced
    # sales): off the invoicing path, counted apart.
    follow_up = 0 if any(invoice_needs_costs(g) for g in generated) else per_sale.get(COSTS, 0)
    total = sum(per_sale.values()) - follow_up
    pending = int(
        stack.db.scalar(
            "SELECT COUNT(*) FROM sale"
            " WHERE state='invoiced' AND LOCATE('envio_pendiente', profit) > 0"
        )
    )
    result = {
        "case": kind,
        "mode": mode,
        "sales": len(generated),
        "invoiced": invoiced,
        "ml_calls": per_sale,
        "ml_total": total,
        "ml_minimum": floor,
        "ratio": round(total / floor, 3) if floor else None,
        "ml_per_invoiced_sale": round(total / invoiced, 2) if invoiced else None,
        "minimum_per_sale": round(floor / len(generated), 2) if generated else None,
        "follow_up": follow_up,
        "follow_up_minimum": invoiced,
        "profit_pending_after": pending,
    }
    print(
        f"[cost-cases] {kind} {mode}: {total} ML calls on the invoicing path for {invoiced} "
        f"invoices (min {floor}, x{result['ratio']}), {follow_up} costs after the invoice "
        f"(min {invoiced}), {pending} profits pending; {per_sale}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.cost_cases")
    parser.add_argument("--per-case", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=8100)
    parser.add_argument("--database", default="conexapi_bench_cost_cases")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--modes", default="backfill,live")
    args = parser.parse_args(argv)
    started = time.monotonic()
    results: list[dict[str, Any]] = []
    config = StackConfig("cost_cases", args.database)
    with BenchStack(config) as stack:
        for _ in range(args.workers):
            stack.start_worker(CONEXAPI_SWEEP_INTERVAL_SECONDS="3600")
        time.sleep(15.0)  # the workers' first sweep (at start) is not any case's
        seed = args.seed
        # Backfills first, on an empty account: a backfill of today finds every earlier case's
        # orders too (settled ones are left alone; waiting unpaid ones are read again).
        cases = [c for c in CASES if c in args.cases.split(",")]
        for mode in [m for m in ("backfill", "live") if m in args.modes.split(",")]:
            for kind in cases:
                results.append(run_case(stack, kind, args.per_case, seed, mode))
                seed += 1000
        stack.stop_workers()
    worst = max((r["ratio"] or 0) for r in results)
    write_result(
        "cost_cases",
        {
            "params": vars(args),
            "cases": results,
            "worst_ratio": worst,
            "goals": {"at_most_1_05_of_the_minimum": worst <= 1.05},
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    return 0 if worst <= 1.05 else 1


if __name__ == "__main__":
    raise SystemExit(main())
