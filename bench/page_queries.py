"""Queries and time per dashboard page, in-process, on a loaded big-seller database.

A quick profile for the dashboard's pages (issue 20): the app runs in this process (no server,
no network), every SQL statement is counted with a SQLAlchemy event hook and its time added up,
and each page is requested a few times per tenant of the dataset that `bench.big_load` loaded.
Point it at a smaller copy of your own to compare before and after a change:

    BENCH_BIG_DATABASE=conexapi_mine PYTHONPATH=. python -m bench.big_load --big 100000
    BENCH_BIG_DATABASE=conexapi_mine PYTHONPATH=. python -m bench.page_queries [-n 10]

The figures are the median and the worst of `n` requests after one warm-up, in milliseconds;
"queries" and "db ms" are per request. It only reads (besides folding the tallies and
computing the marked days first, as the worker's upkeep would).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import event

from bench.big import env, prepare
from bench.big_load import DATABASE, PASSWORD, TENANTS
from bench.common import mariadb_url


def pages(today: date) -> dict[str, str]:
    month = f"date_from={today - timedelta(days=29)}&date_to={today}"
    year = f"date_from={today - timedelta(days=364)}&date_to={today}"
    return {
        "Resumen": "/app",
        "Ventas": "/app/sales",
        "Ventas, needs_attention": "/app/sales?state=needs_attention",
        "Ventas, search by name": "/app/sales?q=Camila+Ospina",
        "Ventas status.json": "/app/sales/status.json?ids=1,2,3",
        "Reportes, month": f"/app/reports?{month}",
        "Reportes, year": f"/app/reports?{year}",
        "Conciliación xlsx, month": f"/app/reports/reconciliation.xlsx?{month}",
        "API search, buyer name": "/api/v1/sales?q=Camila+Ospina",
        "API search, SKU": "/api/v1/sales?q=SKU-01234",
        "API search, broad word": "/api/v1/sales?q=Camila",
    }


async def run(n: int, top: int, only: list[str] | None = None) -> None:
    from conexapi.app import create_app
    from conexapi.runtime import Runtime
    from conexapi.settings import Settings

    url = mariadb_url(DATABASE)
    print(f"{DATABASE}: {await prepare(url)}", flush=True)
    os.environ.update(env(url))
    runtime = Runtime.build(Settings(_env_file=None))  # type: ignore[call-arg]
    seen: dict[str, float] = {"queries": 0, "db": 0.0}
    statements: list[tuple[float, str]] = []

    def before(conn: Any, cursor: Any, statement: Any, *args: Any) -> None:
        conn.info["started"] = time.perf_counter()
        seen["queries"] += 1

    def after(conn: Any, cursor: Any, statement: Any, *args: Any) -> None:
        took = time.perf_counter() - conn.info.pop("started", time.perf_counter())
        seen["db"] += took
        statements.append((took * 1000, " ".join(str(statement).split())))

    event.listen(runtime.engine.sync_engine, "before_cursor_execute", before)
    event.listen(runtime.engine.sync_engine, "after_cursor_execute", after)
    app = create_app(runtime=runtime)
    transport = httpx.ASGITransport(app=app)
    try:
        for name, email in TENANTS.items():
            async with httpx.AsyncClient(
                transport=transport, base_url="http://bench", timeout=300
            ) as client:
                token = (
                    await client.post(
                        "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
                    )
                ).json()["access_token"]
                client.cookies.set("conexapi_session", token)
                client.headers.update(_bearer(token))
                total = sum(
                    (await client.get("/api/v1/sales?page_size=1")).json()["counts"].values()
                )
                print(f"\n{name}: {total:,} sales", flush=True)
                print(f"  {'page':30} {'p50 ms':>8} {'max ms':>8} {'queries':>8} {'db ms':>8}")
                for label, path in pages(date.today()).items():
                    if only and label not in only:
                        continue
                    await client.get(path)
                    statements.clear()
                    times, queries, db = [], [], []
                    for _ in range(n):
                        seen["queries"], seen["db"] = 0, 0.0
                        started = time.perf_counter()
                        response = await client.get(path)
                        times.append((time.perf_counter() - started) * 1000)
                        queries.append(seen["queries"])
                        db.append(seen["db"] * 1000)
                        if response.status_code != 200:
                            raise RuntimeError(f"{path}: {response.status_code}")
                    print(
                        f"  {label:30} {statistics.median(times):8.1f} {max(times):8.1f} "
                        f"{max(queries):8.0f} {statistics.median(db):8.1f}",
                        flush=True,
                    )
                    if top:
                        # Per request: each statement's time summed over the n requests, / n.
                        per: dict[str, list[float]] = {}
                        for ms, sql in statements:
                            per.setdefault(sql, []).append(ms)
                        ranked = sorted(per.items(), key=lambda kv: -sum(kv[1]))
                        for sql, times_ms in ranked[:top]:
                            print(
                                f"      {sum(times_ms) / n:7.1f} ms  "
                                f"x{len(times_ms) / n:.0f}  {sql[:150]}"
                            )
                    statements.clear()
    finally:
        await runtime.aclose()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10, help="timed requests per page")
    parser.add_argument("--top", type=int, default=0, help="show each page's slowest statements")
    parser.add_argument(
        "--page", action="append", help="only this page (its label, e.g. Resumen); repeatable"
    )
    args = parser.parse_args()
    asyncio.run(run(args.n, args.top, args.page))


if __name__ == "__main__":
    main()
