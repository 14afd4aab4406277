"""Cost per sale: MercadoLibre and Siigo calls per invoiced sale against the API minimum.

Two batches of the default scenario mix (every kind, with its later payments, cancellations and
refunds), counted with the simulators' own per-endpoint statistics:

- batch A, new buyers: every buyer is new to Siigo;
- batch B, returning buyers: the same generator seeds again, so the same buyers (new orders).

The minimum the APIs allow, per sale (computed from each generated sale):

- MercadoLibre, per read of the sale: the order, its billing info, its shipment costs (3); a pack
  adds the pack and each other order; an order with a coupon or a promotion adds its discounts
  (who funds what is only there). A sale with a later event (payment, cancellation, refund) must
  be read again after it; each refunded order adds its claims (1), and a return its returns (1),
  since what came back and whether MercadoLibre covered it is only there. Billing info still
  PROCESSING is read again until it is not.
- Siigo: one invoice per billable sale, one credit note per cancelled or refunded sale (none when
  MercadoLibre covered the refund), and one customer creation per buyer Siigo does not have yet
  (no lookup needed: invoices reference the customer by identification). Catalogs (products and
  their taxes, the tax catalog, document types...) are read when the integration is configured
  or a product is first seen, never per sale.

    python -m bench.cost [--sales 300]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from typing import Any

from bench.common import BenchStack, StackConfig, settle, write_result

CATALOG_PREFIXES = (
    "GET /v1/products",
    "GET /v1/document-types",
    "GET /v1/taxes",
    "GET /v1/payment-types",
    "GET /v1/users",
    "GET /v1/cost-centers",
    "GET /v1/account-groups",
)
BILLABLE = ("invoice", "attention_missing_billing", "credit_full", "credit_partial", "covered")
CREDITED = ("credit_full", "credit_partial")
# Reads of the billing info that answer PROCESSING in the `billing_processing` kind
# (conexapi.sandbox.fiscal_scenarios.PROCESSING_READS).
PROCESSING_READS = 2


def minimum(sales: list[dict[str, Any]], known_ids: set[str]) -> dict[str, int]:
    ml = siigo = customers = 0
    for s in sales:
        lines = s["details"]["lines"]
        per_read = 3 + (1 + len(s["order_ids"]) - 1 if s["pack_id"] else 0)
        per_read += len(
            {ln["order_id"] for ln in lines if ln.get("coupon") or ln.get("discounted")}
        )
        follow_ups = s["pending_follow_ups"]
        reads = 2 if follow_ups else 1
        ml += per_read * reads
        refunds = [f for f in follow_ups if f["action"] in ("cancel", "refund", "refund_covered")]
        ml += len({f["order_id"] for f in refunds})
        ml += sum(1 for f in refunds if f.get("quantity"))
        if s["kind"] == "billing_processing":
            ml += PROCESSING_READS
        if s["expectation"] in BILLABLE:
            siigo += 1
            ident = s["details"]["buyer"]["identification"] or "consumidor-final"
            if ident not in known_ids:
                known_ids.add(ident)
                customers += 1
        if s["expectation"] in CREDITED:
            siigo += 1
    return {"ml": ml, "siigo": siigo + customers, "customers": customers}


def delta(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    out = Counter(after)
    out.subtract(before)
    return {k: v for k, v in out.items() if v}


def run_batch(
    stack: BenchStack, label: str, count: int, seed: int, known: set[str]
) -> dict[str, Any]:
    assert stack.db is not None
    ml0, siigo0 = stack.ml_stats()["calls"], stack.siigo_stats()["calls"]
    inv0 = stack.db.scalar("SELECT COUNT(*) FROM document WHERE kind='invoice'")
    generated: list[dict[str, Any]] = []
    for j in range(0, count, 10):
        generated += stack.generate(min(10, count - j), seed=seed + j)
        time.sleep(0.5)
    stack.wait_intake()
    settle(stack, 300)
    stack.advance()
    time.sleep(1)
    settle(stack, 300)
    ml = delta(stack.ml_stats()["calls"], ml0)
    siigo = delta(stack.siigo_stats()["calls"], siigo0)
    invoiced = int(stack.db.scalar("SELECT COUNT(*) FROM document WHERE kind='invoice'")) - int(
        inv0
    )
    floor = minimum(generated, known)
    ml_total, siigo_total = sum(ml.values()), sum(siigo.values())
    catalog = sum(v for k, v in siigo.items() if k.startswith(CATALOG_PREFIXES))
    result = {
        "batch": label,
        "sales": len(generated),
        "kinds": dict(Counter(s["kind"] for s in generated)),
        "invoices": invoiced,
        "unknown_sku_sales": sum(1 for s in generated if s["kind"] == "unknown_sku"),
        "ml_calls": ml,
        "siigo_calls": siigo,
        "ml_total": ml_total,
        "siigo_total": siigo_total,
        "ml_minimum": floor["ml"],
        "siigo_minimum": floor["siigo"],
        "new_customers_minimum": floor["customers"],
        "ml_ratio": round(ml_total / floor["ml"], 3) if floor["ml"] else None,
        "siigo_ratio": round(siigo_total / floor["siigo"], 3) if floor["siigo"] else None,
        "ml_per_invoiced_sale": round(ml_total / invoiced, 2) if invoiced else None,
        "siigo_per_invoice": round(siigo_total / invoiced, 3) if invoiced else None,
        "catalog_calls": catalog,
        "customer_lookups": siigo.get("GET /v1/customers", 0),
        "customer_creations": siigo.get("POST /v1/customers", 0),
    }
    print(
        f"[cost] {label}: ML {ml_total} calls (min {floor['ml']}, x{result['ml_ratio']}), "
        f"Siigo {siigo_total} (min {floor['siigo']}, x{result['siigo_ratio']}), "
        f"{result['siigo_per_invoice']} Siigo calls per invoice, catalog {catalog}, "
        f"customer lookups {result['customer_lookups']}"
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.cost")
    parser.add_argument("--sales", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=5000)
    parser.add_argument("--database", default="conexapi_bench_cost")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with BenchStack(StackConfig("cost", args.database)) as stack:
        for _ in range(args.workers):
            stack.start_worker()
        known: set[str] = set()
        new = run_batch(stack, "new buyers", args.sales, args.seed, known)
        returning = run_batch(stack, "returning buyers", args.sales, args.seed, known)
        stack.stop_workers()
    goals = {
        "no_catalog_call_per_sale": returning["catalog_calls"] <= returning["unknown_sku_sales"],
        "no_customer_lookup_for_known_buyer": returning["customer_lookups"] == 0
        and returning["customer_creations"] == 0,
        "at_most_1_5_siigo_calls_per_invoice": (returning["siigo_per_invoice"] or 99) <= 1.5,
    }
    write_result(
        "cost",
        {
            "params": vars(args),
            "batches": [new, returning],
            "goals": goals,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
