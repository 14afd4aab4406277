"""Renders docs/benchmarks.md from the JSON results under bench/results/.

python -m bench.report
"""

from __future__ import annotations

import json
from typing import Any

from bench.common import RESULTS, ROOT, machine_info, now_iso

DOC = ROOT / "docs" / "benchmarks.md"


BIG_START = "<!-- bench.big:start -->"
BIG_END = "<!-- bench.big:end -->"


def load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**PASS**" if ok else "**FAIL**")


def table(rows: list[list[Any]], head: list[str]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def intake(d: dict[str, Any]) -> str:
    c, b = d["conexapi"], d["bare"]
    rate = d["params"]["rate"]
    rows = [
        [
            "saturation throughput (req/s)",
            f"{c['saturation']['requests_per_s']:.0f}",
            f"{b['saturation']['requests_per_s']:.0f}",
            f"{d['throughput_ratio']:.3f}",
            "ratio ≥ 0.5",
            verdict(d["goals"]["throughput_at_least_half_of_bare"]),
        ],
        [
            f"p50 latency at {rate:.0f}/s offered (ms)",
            c["fixed_load"]["p50_ms"],
            b["fixed_load"]["p50_ms"],
            "",
            "",
            "",
        ],
        [
            f"p99 latency at {rate:.0f}/s offered (ms)",
            c["fixed_load"]["p99_ms"],
            b["fixed_load"]["p99_ms"],
            "",
            "< 50 ms, no error",
            verdict(d["goals"]["p99_under_50ms_at_rate"]),
        ],
        [
            f"answered/s at {rate:.0f}/s offered",
            c["fixed_load"]["achieved_rate"],
            b["fixed_load"]["achieved_rate"],
            "",
            "",
            "",
        ],
        [
            "errors / timeouts (> {:.0f} s)".format(c["fixed_load"].get("timeout_s") or 10),
            f"{c['fixed_load']['errors']} / {c['fixed_load'].get('timeouts', 0)}",
            f"{b['fixed_load']['errors']} / {b['fixed_load'].get('timeouts', 0)}",
            "",
            "",
            "",
        ],
    ]
    return (
        "## Webhook intake\n\n"
        f"`POST /webhooks/mercadolibre`, every notification new (stored, deduplicated, sale made "
        f"due), vs a bare FastAPI endpoint returning 200; same uvicorn command (1 process). "
        f"Saturation: {c['saturation']['tool']}. Fixed load: open-loop generator, "
        f"{d['params']['duration']:.0f} s at {rate:.0f}/s, latency from the scheduled send "
        f"time.\n\n"
        + table(rows, ["", "ConexAPI", "bare FastAPI", "ratio", "goal", "result"])
        + "\n"
    )


def pipeline(d: dict[str, Any]) -> str:
    runs = d["runs"]
    one = runs[0]["sales_per_s"]
    rows = [
        [
            r["workers"],
            r["concurrency_per_worker"],
            r["sales"],
            r["invoiced"],
            r["sales_per_s"],
            r.get("sales_per_s_full_drain", ""),
            r["wall_s_including_startup"],
            r.get("worker_cpu_ms_per_sale", ""),
            f"{r['sales_per_s'] / one:.2f}x" if one else "",
        ]
        for r in runs
    ]
    g = d["goals"]
    cores = int(d.get("machine", {}).get("nproc") or 2)
    return (
        "## Pipeline\n\n"
        "Notifications already taken in; simulators at zero latency, no rate limit; workers "
        "start and drain the backlog (MariaDB). sales/s = the bulk of the drain (5th to 95th "
        "percentile invoice); full drain includes the stragglers. Reference: one worker.\n\n"
        + table(
            rows,
            [
                "workers",
                "concurrency",
                "sales",
                "invoiced",
                "sales/s",
                "sales/s full drain",
                "wall s",
                "worker CPU ms/sale",
                "vs 1 worker",
            ],
        )
        + "\n\n"
        + table(
            [
                [
                    "≥ 100 sales/s with one worker",
                    f"{one}",
                    verdict(g["at_least_100_sales_per_s_one_worker"]),
                ],
                [
                    f"rises with more workers (up to the {cores} cores)",
                    ", ".join(
                        f"{r['workers']}w {r['sales_per_s']}" for r in runs if r["workers"] <= cores
                    ),
                    verdict(g["rises_with_more_workers"]),
                ],
                [
                    "beyond the cores (reported, not a goal here)",
                    ", ".join(
                        f"{r['workers']}w {r['sales_per_s']}" for r in runs if r["workers"] > cores
                    )
                    or "—",
                    "rises" if g.get("rises_beyond_the_cores") else "does not rise",
                ],
            ],
            ["goal", "measured", "result"],
        )
        + "\n"
    )


def cost_cases(d: dict[str, Any]) -> str:
    rows = [
        [
            c["case"],
            c["mode"],
            c["sales"],
            c["invoiced"],
            c["ml_total"],
            c["ml_minimum"],
            f"x{c['ratio']}",
            c["ml_per_invoiced_sale"],
            c["minimum_per_sale"],
        ]
        for c in d["cases"]
    ]
    calls = "\n".join(
        f"- {c['case']} {c['mode']}: `{json.dumps(c['ml_calls'])}`" for c in d["cases"]
    )
    return (
        "## MercadoLibre calls per case, live and backfill\n\n"
        f"{d['params']['per_case']} sales per case (`python -m bench.cost_cases`). Live: every "
        "change notified, the worker reads the sale. Backfill: every notification dropped, a "
        "backfill of today finds the orders with `orders/search`, which returns them whole "
        "(`sale.prefetched`: the worker does not read them again). **Minimum** per sale: its "
        "billing info and shipment costs, the pack and (live) each of its orders, the "
        "discounts of each order tagged `order_has_discount`; a backfill adds one search page "
        "per 50 orders. Periodic calls (missed feeds) are not per sale.\n\n"
        + table(
            rows,
            [
                "case",
                "mode",
                "sales",
                "invoiced",
                "ML calls",
                "minimum",
                "ratio",
                "per invoiced sale",
                "minimum per sale",
            ],
        )
        + "\n\n"
        + calls
        + f"\n\nWorst ratio: x{d['worst_ratio']} (goal ≤ x1.05).\n"
    )


def cost(d: dict[str, Any]) -> str:
    rows = []
    for b in d["batches"]:
        rows.append(
            [
                b["batch"],
                b["sales"],
                b["invoices"],
                f"{b['ml_total']} / {b['ml_minimum']} (x{b['ml_ratio']})",
                f"{b['siigo_total']} / {b['siigo_minimum']} (x{b['siigo_ratio']})",
                b["ml_per_invoiced_sale"],
                b["siigo_per_invoice"],
                b["catalog_calls"],
                f"{b['customer_lookups']} / {b['customer_creations']}",
            ]
        )
    g = d["goals"]
    ret = d["batches"][1]
    detail = "\n".join(
        f"- {b['batch']}: Siigo {json.dumps(b['siigo_calls'])}; MercadoLibre "
        f"{json.dumps(b['ml_calls'])}"
        for b in d["batches"]
    )
    return (
        "## Cost per sale\n\n"
        "Default scenario mix (every kind, later payments/cancellations/refunds applied), calls "
        "counted by the simulators. Batch 2 replays batch 1's generator seeds: same buyers, new "
        "orders.\n\n"
        "**Minimum the APIs allow**, per sale: MercadoLibre 3 per read of the sale (order, "
        "billing info, shipment costs) + 1 for the pack and 1 per other order of a pack + 1 "
        "discounts call per order with a coupon or a promotion; a sale with a later event must "
        "be read again, + 1 claims search per refunded order and 1 returns call per return "
        "(what came back and whether MercadoLibre covered it is only there), + each re-read of "
        "billing info still PROCESSING. Siigo: 1 invoice per billable sale + 1 credit note per "
        "cancelled/refunded sale (none when MercadoLibre covered the refund) + 1 customer "
        "creation per buyer new to Siigo (no lookup needed). Catalogs (products and their "
        "taxes, the tax catalog) are read at configuration time or when a product is first "
        "seen, not per sale.\n\n"
        + table(
            rows,
            [
                "batch",
                "sales",
                "invoices",
                "ML calls / min",
                "Siigo calls / min",
                "ML per invoiced sale",
                "Siigo per invoice",
                "catalog calls",
                "customer lookups / creations",
            ],
        )
        + "\n\n"
        + detail
        + "\n\n"
        + table(
            [
                [
                    "no catalog call per sale (returning batch; unknown-SKU sales need one lookup)",
                    f"{ret['catalog_calls']} catalog calls, "
                    f"{ret['unknown_sku_sales']} unknown-SKU sales",
                    verdict(g["no_catalog_call_per_sale"]),
                ],
                [
                    "no customer lookup for a known buyer",
                    f"{ret['customer_lookups']} lookups, {ret['customer_creations']} creations",
                    verdict(g["no_customer_lookup_for_known_buyer"]),
                ],
                [
                    "≤ 1.5 Siigo calls per invoice (returning buyers)",
                    f"{ret['siigo_per_invoice']}",
                    verdict(g["at_most_1_5_siigo_calls_per_invoice"]),
                ],
            ],
            ["goal", "measured", "result"],
        )
        + "\n"
    )


def backlog(d: dict[str, Any]) -> str:
    g = d["goals"]
    return (
        "## Backlog under the Siigo limit\n\n"
        f"{d['sales']} sales of known buyers queued, then {d['params']['workers']} fresh workers "
        f"with `CONEXAPI_SIIGO_REQUESTS_PER_MINUTE={d['limit_per_minute']}` against the "
        f"simulator limited to {d['limit_per_minute']} requests/min. Floor = calls needed "
        f"({d['calls_needed']}: one invoice each) / limit.\n\n"
        + table(
            [
                [
                    "drain time (s)",
                    d["drain_s_including_worker_startup"],
                    d["floor_s"],
                    f"x{d['ratio']}",
                    "≤ x1.10",
                    verdict(g["within_10_percent_of_floor"]),
                ],
                [
                    "Siigo calls made",
                    d["siigo_calls_total"],
                    d["calls_needed"],
                    "",
                    "",
                    "",
                ],
                [
                    "429 answered by Siigo / retries / dead",
                    f"{d['simulator_429']} / {d['timeline_events'].get('retrying', 0)} / "
                    f"{d['timeline_events'].get('dead', 0)}",
                    "0",
                    "",
                    "no 429 in the error budget",
                    verdict(g["no_429_reaches_the_error_budget"]),
                ],
            ],
            ["", "measured", "floor / minimum", "ratio", "goal", "result"],
        )
        + f"\n\nSiigo calls: `{json.dumps(d['siigo_calls'])}`\n"
    )


def fairness(d: dict[str, Any]) -> str:
    """The fair-scheduling runs (`bench/fairness.py`, on the scheduling simulator)."""
    out = [
        "## Fair scheduling (noisy neighbour, many sellers, latency)\n\n"
        "Time-scaled: the product's claims (`sync.queue.claim_due`), deferrals and request "
        "budgets (`connections.rate_limit`) run on a database, the vendor calls are simulated "
        "latencies on an injected clock (`bench/fairsim.py`: 4 MercadoLibre and 2 Siigo calls "
        "per sale). A 10-minute backlog runs in seconds, and the figures do not depend on the "
        "machine's load. Design: docs/scheduling.md.\n"
    ]
    n = d.get("noisy")
    if n:
        out.append(
            f"\n**Noisy neighbour.** Seller A: {n['a_sales']} sales at once, Siigo company "
            f"limited to {n['config']['siigo_rpm']} requests/min; seller B: {n['b_sales']} live "
            f"sales over two minutes; {n['config']['slots']} slots, at most "
            f"{n['config']['max_in_flight']} in flight per integration.\n\n"
            + table(
                [
                    ["B paid-to-invoiced p95 (s)", n["b_p95_s"], "≤ 5", verdict(n["b_p95_s"] <= 5)],
                    ["B p50 / max (s)", f"{n['b_p50_s']} / {n['b_max_s']}", "", ""],
                    [
                        "A drain / floor (s)",
                        f"{n['a_drain_s']} / {n['a_floor_s']} (x{n['a_drain_over_floor']})",
                        "≤ x1.10",
                        verdict(n["a_drain_over_floor"] <= 1.10),
                    ],
                    ["Siigo requests over the company limit", n["siigo_over_limit"], "0", ""],
                    ["deferrals / claims", f"{n['deferrals']} / {n['claims']}", "", ""],
                    [
                        "MercadoLibre calls (minimum 4 per sale)",
                        f"{n['ml_calls']} for {n['a_sales'] + n['b_sales']} sales",
                        "",
                        "",
                    ],
                ],
                ["", "measured", "goal", "result"],
            )
            + "\n"
        )
    m = d.get("many")
    if m:
        c = m["config"]
        out.append(
            f"\n**{c['tenants']} sellers × {c['sales_each']} sales arriving together.** "
            f"MercadoLibre application budget {c['ml_budget_rps']} requests/s "
            f"(`CONEXAPI_MELI_REQUESTS_PER_SECOND`) against a simulated per-application quota "
            f"of {c['ml_quota_rps']}/s; {c['slots']} slots. The run is bound by the application "
            "budget, so no seller can be as fast as with the whole budget to itself; the "
            "comparison is one seller alone with its fair share of the budget "
            f"({c.get('fair_share_rps', '?')} requests/s: the budget's sustained 40/s over "
            f"{c['tenants']} sellers), and that none falls behind the others.\n\n"
            + table(
                [
                    [
                        "seller p95 min / median / max (s)",
                        f"{m['tenant_p95_min_s']} / {m['tenant_p95_median_s']} / "
                        f"{m['tenant_p95_max_s']}",
                        "",
                        "",
                    ],
                    [
                        "slowest seller's p95 / fastest's",
                        f"x{m['tenant_p95_max_over_min']}",
                        "≤ x2",
                        verdict(m["tenant_p95_max_over_min"] <= 2),
                    ],
                    *(
                        [
                            [
                                "one seller alone at its fair share: p95 (s)",
                                f"{m['share_p95_s']} (slowest seller: "
                                f"x{m['tenant_p95_max_over_share']})",
                                "≤ x2",
                                verdict(m["tenant_p95_max_over_share"] <= 2),
                            ]
                        ]
                        if "share_p95_s" in m
                        else []
                    ),
                    [
                        "one seller alone with the whole budget: p95 (s)",
                        f"{m['solo_p95_s']} (slowest seller: x{m['tenant_p95_max_over_solo']})",
                        "",
                        "",
                    ],
                    [
                        "everything invoiced / budget floor (s)",
                        f"{m['all_done_s']} / {m['budget_floor_s']} "
                        f"(x{m['all_done_over_budget_floor']})",
                        "",
                        "",
                    ],
                    ["429 from MercadoLibre", m["ml_429"], "0", verdict(m["ml_429"] == 0)],
                    ["deferrals / claims", f"{m['deferrals']} / {m['claims']}", "", ""],
                    [
                        "MercadoLibre calls (minimum 4 per sale)",
                        f"{m['ml_calls']} for {m['invoiced']} sales",
                        "",
                        "",
                    ],
                ],
                ["", "measured", "goal", "result"],
            )
            + "\n"
        )
    lat = d.get("latency")
    if lat:
        out.append(
            f"\n**Latency.** {lat['config']['sales']} live sales over two minutes from 10 "
            f"sellers, MercadoLibre {lat['config']['ml_latency_s'] * 1000:.0f} ms and Siigo "
            f"{lat['config']['siigo_latency_s'] * 1000:.0f} ms per call: paid-to-invoiced p50 "
            f"{lat['p50_s']} s, p95 **{lat['p95_s']} s** (goal ≤ 5 s: "
            f"{verdict(lat['p95_s'] <= 5)}), max {lat['max_s']} s.\n"
        )
    a = d.get("aimd")
    if a:
        out.append(
            f"\n**AIMD.** Budget set too high ({a['config']['ml_budget_rps']}/s against a "
            f"quota of {a['config']['ml_quota_rps']}/s), {a['config']['tenants']} sellers × "
            f"{a['config']['sales_each']} sales: {a['ml_429']} answers 429 out of "
            f"{a['ml_calls']} calls, the budget went down to x{a['ml_budget_factor_min']} of its "
            f"setting, every sale invoiced ({a['invoiced']}) in {a['sim_seconds']} s, none "
            "failed for it (a 429 defers the sale); slowest seller's p95 / fastest's "
            f"x{a['tenant_p95_max_over_min']}.\n"
        )
    return "".join(out)


def memory(d: dict[str, Any]) -> str:
    return (
        "## Worker memory\n\n"
        f"One worker, {d['params']['sales']} sales; RSS sampled every 0.5 s.\n\n"
        + table(
            [
                [
                    d["invoiced"],
                    d["rss_mib_after_warmup"],
                    d["rss_mib_last"],
                    d["rss_mib_max"],
                    d["slope_mib_per_1000_sales"],
                    "< 1 MiB / 1,000 sales",
                    verdict(d["goals"]["rss_steady"]),
                ]
            ],
            [
                "invoiced",
                "RSS after warm-up (MiB)",
                "last (MiB)",
                "max (MiB)",
                "slope (MiB / 1,000 sales)",
                "goal",
                "result",
            ],
        )
        + "\n"
    )


def chaos(d: dict[str, Any], title: str) -> str:
    sc = d["score"]
    rows = [[k, n, sc["failed"].get(k, 0)] for k, n in sc["checks"].items()]
    rows.append(["dead sales (reported apart: visible, never duplicated)", "", sc["dead"]])
    ok = sc["violations"] == 0 and (sc["dead"] == 0 or d.get("allow_dead"))
    p = d["params"]
    samples = "\n".join(f"  - `{json.dumps(v, default=str)}`" for v in sc["violation_samples"][:8])
    dead = "\n".join(f"  - `{json.dumps(v, default=str)}`" for v in sc["dead_sales"][:5])
    return (
        f"## {title}\n\n"
        f"{d['sales']} sales (default mix), {p['workers']} workers (concurrency "
        f"{p['concurrency']}, `CONEXAPI_WORKER_DEAD_AFTER_HOURS={p.get('dead_after_hours', 48)}`), "
        f"{len(d['kills'])} SIGKILLs at {', '.join(str(k['at_s']) for k in d['kills'][:12])} s"
        f"{' ...' if len(d['kills']) > 12 else ''}; sweep every {p['sweep_interval']} s. "
        f"Faults: `{json.dumps(d['faults'])}`. Injected: `{json.dumps(d['faults_injected'])}`. "
        f"Notifications: `{json.dumps(d['notifications'])}`. Phases (s): "
        f"`{json.dumps(d['phases_s'])}`; total {d['seconds']} s.\n\n"
        + table(rows, ["check", "checked", "failed"])
        + (
            "\n\n"
            + restarts_summary(d)
            + "\n"
            + table([[k, verdict(v)] for k, v in d["restart_checks"].items()], ["check", "result"])
            if d.get("restart_checks")
            else ""
        )
        + f"\n\nOutcomes: `{json.dumps(sc['outcomes'], sort_keys=True)}`\n\n"
        f"Verdict: {verdict(ok)} ({sc['violations']} violations, {sc['dead']} dead)\n"
        + (f"\nViolation samples:\n{samples}\n" if samples else "")
        + (f"\nDead sales (first ones):\n{dead}\n" if dead else "")
    )


def restarts_summary(d: dict[str, Any]) -> str:
    """The database restarts of a run, the API as clients saw it, and the seller's connection."""
    api = d["api"]
    events = "; ".join(
        f"down at {e['down_at_s']} s for {e['down_s']} s"
        + (", refresh in flight" if e.get("refresh_in_flight") else "")
        + (
            ", refreshing worker SIGKILLed with its pair in the spool"
            if e.get("refresher_killed")
            else ""
        )
        for e in d.get("db_restarts") or d.get("restarts") or []
    )
    answered = dict(sorted(api["statuses"].items()))
    return (
        f"Database restarts (SIGKILL of a private MariaDB): {events or 'none'}. "
        f"MercadoLibre connection after the run: `{d['connection']['status']}`; token calls: "
        f"`{json.dumps(d['token_calls'], sort_keys=True)}`. API probe ({api['requests']} requests "
        f"over keep-alive connections): `{json.dumps(answered)}`, {api['reset_count']} reset "
        "connections.\n"
    )


def db_restart(d: dict[str, Any]) -> str:
    p = d["params"]
    rows = [[name, verdict(ok)] for name, ok in d["checks"].items()]
    return (
        "## Database restart\n\n"
        f"`python -m bench.db_restart`: {d['sales']} sales at {p['rate']}/s through the API and "
        f"2 `conexapi worker` processes on a private MariaDB; MercadoLibre access tokens live "
        f"{p['token_ttl']} s (the simulator answers with {p['ml_latency_ms']} ms latency). The "
        "database is SIGKILLed the moment a worker has committed its refresh marker, that worker "
        "is SIGKILLed once MercadoLibre's answer is in the token spool, and the database "
        f"starts again {p['down']} s after going down. Everything settled "
        f"**{d['settled_after_db_back_s']} s** after the database answered again "
        f"(sale states: `{json.dumps(d['states'], sort_keys=True)}`; attempts counted against "
        f"sales: {d['attempts_burnt']}).\n\n"
        + restarts_summary(d)
        + "\n"
        + table(rows, ["check", "result"])
        + "\n"
    )


def render() -> str:
    m = machine_info()
    parts = [
        "# ConexAPI benchmarks and chaos run\n",
        f"Generated by `bench/report.py` on {now_iso()} from the JSON results in "
        "`bench/results/` (each result carries its own date and machine).\n",
        "## Machine\n",
        table(
            [
                ["CPU", f"{m['cpu_model']} ({m['nproc']} cores)"],
                ["memory", m["memory_total"]],
                ["OS / kernel", f"{m['os']} / {m['kernel']}"],
                ["Python", m["python"]],
                ["MariaDB", m["mariadb"]],
            ],
            ["", ""],
        ),
        "\nEverything runs on this machine over loopback: MariaDB, the simulators (one process), "
        "the API (one uvicorn process), the workers (processes) and the load generators. The "
        "figures are only comparable within one run: other jobs on a shared 2-core machine move "
        "them (see notes).\n",
        "## Reproduce\n",
        "```\nmake bench            # all benchmarks (~16 min here), then this page\n"
        "make chaos            # 2,000 sales chaos run, ~15 min (exit 1 on any violation)\n"
        "make chaos SALES=10000\n"
        ".venv/bin/python -m bench.run "
        "intake|pipeline|cost|cost_cases|backlog|memory|fairness|chaos|report\n"
        ".venv/bin/pytest tests/e2e/test_chaos_small.py   # the small chaos run (~3 min)\n"
        ".venv/bin/python -m bench.db_restart   # a database restart mid-run (~45 s)\n```\n",
        "Needs MariaDB on 127.0.0.1:3306 (root, no password; databases `conexapi_bench_*` and "
        "`conexapi_chaos*` are dropped and recreated) and, optionally, `wrk` for the saturation "
        "test (`apt-get install wrk`; without it a Python generator is used). The runs that "
        "restart the database (`bench.db_restart`, the chaos run's `--db-restarts`) create a "
        "private server instead (`mariadb-install-db` into a temporary directory, `mariadbd` on "
        "a free port in 33100-33199), never touching the shared one.\n",
    ]
    for name, fn in (
        ("intake", intake),
        ("pipeline", pipeline),
        ("cost", cost),
        ("cost_cases", cost_cases),
        ("backlog", backlog),
        ("memory", memory),
        ("fairness", fairness),
    ):
        d = load(name)
        if d is None:
            parts.append(f"## {name}\n\nNot run yet (`python -m bench.{name}`).\n")
            continue
        parts.append(fn(d))
        parts.append(f"_Measured {d['date']} in {d.get('seconds', '?')} s._\n")
    restart = load("db-restart")
    if restart is not None:
        parts.append(db_restart(restart))
        parts.append(f"_Measured {restart['date']} in {restart['seconds']} s._\n")
    for name, title in (("chaos", "Chaos run"), ("chaos-small", "Small chaos run (test)")):
        d = load(name)
        if d is not None:
            parts.append(chaos(d, title))
            parts.append(f"_Measured {d['date']}._\n")
    # The big-seller figures (`bench.big`) keep their own block, written by that run.
    if DOC.exists():
        current = DOC.read_text()
        start, end = current.find(BIG_START), current.find(BIG_END)
        if start != -1 and end != -1:
            parts.append(current[start : end + len(BIG_END)] + "\n")
    notes = RESULTS.parent / "NOTES.md"
    if notes.exists():
        parts.append(notes.read_text())
    return "\n".join(parts)


def main() -> int:
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(render())
    print(f"[report] {DOC.relative_to(ROOT)} written")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
