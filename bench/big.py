"""Big sellers: p95 of every list, search, detail and report with 1,000,000 sales for one tenant
and 10,000 for another (issue 20; figures in docs/benchmarks.md).

    make bench-big        # loads the dataset once (bench.big_load), then measures

The dataset lives in its own database (`conexapi_bench_big`) and is reused between runs. Before
measuring, the state tallies are folded and every marked day is computed (what the worker's
upkeep does continuously). The API runs as `conexapi serve` would (uvicorn, 2 workers) on
loopback; each request is timed from the client, sequentially, after a warm-up. Last, the
small tenant's pages are timed again while two clients request the big tenant's year report
without pause.

MariaDB's memory for table and index pages (`innodb_buffer_pool_size`) is set for the run as a
production server would have it, large enough for the data it serves (`BUFFER_POOL`,
`BENCH_BIG_BUFFER_POOL=3G` by default; `server` leaves the server's own), and set back after:
with the server's default 128 MB, 6 % of the 1M dataset, the figures measure disk reads of
the rows shown rather than the queries (docs/big-sellers.md, "Memory").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.big_load import DATABASE, PASSWORD, TENANTS
from bench.common import (
    RESULTS,
    ROOT,
    db_connect,
    free_port,
    machine_info,
    mariadb_url,
    now_iso,
    percentile,
    wait_http,
    write_result,
)
from bench.report import BIG_END, BIG_START

GOAL_MS = 300.0
GOAL_RATIO = 2.0
BUFFER_POOL = os.environ.get("BENCH_BIG_BUFFER_POOL", "3G")
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def warm(cur: Any) -> None:
    """Every index of the dataset read once into the buffer pool, as a server that has been
    serving these sellers holds them (a resized pool starts empty)."""
    cur.execute(
        "SELECT DISTINCT table_name, index_name FROM information_schema.statistics "
        "WHERE table_schema = %s",
        (DATABASE,),
    )
    for table, index in cur.fetchall():
        cur.execute(f"SELECT COUNT(*) FROM `{DATABASE}`.`{table}` FORCE INDEX (`{index}`)")
        cur.fetchall()


def _bytes(size: str) -> int:
    size = size.strip().upper()
    return int(float(size[:-1]) * _UNITS[size[-1]]) if size[-1] in _UNITS else int(size)


@contextlib.contextmanager
def buffer_pool(size: str) -> Iterator[dict[str, int]]:
    """MariaDB's buffer pool at `size` for the block (`server`: as it is), then as it was; the
    sizes and the dataset's, in MiB, for the report."""
    conn = db_connect()
    with conn.cursor() as cur:
        cur.execute("SELECT @@innodb_buffer_pool_size")
        before = int(cur.fetchone()[0])
        cur.execute(
            "SELECT SUM(data_length + index_length) FROM information_schema.tables "
            "WHERE table_schema = %s",
            (DATABASE,),
        )
        data = int(cur.fetchone()[0] or 0)
    wanted = before if size == "server" else _bytes(size)

    def resize(value: int) -> None:
        with conn.cursor() as cur:
            cur.execute(f"SET GLOBAL innodb_buffer_pool_size = {int(value)}")
            for _ in range(120):  # the resize runs in the background, in chunks
                cur.execute("SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'")
                row = cur.fetchone()
                if not row or not row[1] or "complete" in row[1].lower():
                    break
                time.sleep(0.5)

    if wanted != before:
        resize(wanted)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT @@innodb_buffer_pool_size")
            pool = int(cur.fetchone()[0])
            if pool > data:
                warm(cur)
        yield {
            "buffer_pool_mib": pool >> 20,
            "server_pool_mib": before >> 20,
            "data_mib": data >> 20,
        }
    finally:
        if wanted != before:
            resize(before)
        conn.close()


def env(url: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("CONEXAPI_")}
    data_dir = RESULTS / "data" / "big"
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        **base,
        "CONEXAPI_ENV": "development",
        "CONEXAPI_DATABASE_URL": url,
        "CONEXAPI_PUBLIC_URL": "http://127.0.0.1",
        "CONEXAPI_LOG_LEVEL": "WARNING",
        "CONEXAPI_DATA_DIR": str(data_dir),
        # Every run and profile signs in from 127.0.0.1: the address's sign-in counter (not
        # reset by a success) must not lock the benchmark out after a few runs.
        "CONEXAPI_LOGIN_MAX_FAILURES": "1000",
        "PYTHONUNBUFFERED": "1",
    }


async def prepare(url: str) -> dict[str, float]:
    """Folds the tallies and computes every marked day (the worker's upkeep, all at once)."""
    from conexapi.operations.tally import fold_tallies
    from conexapi.reports.days import refresh_marked_days
    from conexapi.runtime import Runtime
    from conexapi.settings import Settings

    os.environ.update(env(url))
    runtime = Runtime.build(Settings(_env_file=None))  # type: ignore[call-arg]
    started = time.monotonic()
    folded = days = 0
    try:
        while True:
            async with runtime.sessions() as session:
                n = await fold_tallies(session)
            folded += n
            if n == 0:
                break
        fold_s = time.monotonic() - started
        while True:
            async with runtime.sessions() as session:
                n = await refresh_marked_days(session)
            days += n
            if n == 0:
                break
            print(f"  days computed: {days}", flush=True)
    finally:
        await runtime.aclose()
    return {
        "tally_rows_folded": folded,
        "fold_seconds": round(fold_s, 1),
        "days_computed": days,
        "days_seconds": round(time.monotonic() - started - fold_s, 1),
    }


class Client:
    def __init__(self, base: str, email: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=120)
        token = self.http.post(
            "/api/v1/auth/token", data={"username": email, "password": PASSWORD}
        ).json()["access_token"]
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.cookies.set("conexapi_session", token)

    def get(self, path: str) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        response = self.http.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        return elapsed, response


def measure(fn: Callable[[int], tuple[float, Any]], n: int, warmup: int = 2) -> dict[str, float]:
    for i in range(warmup):
        fn(-1 - i)
    times = [fn(i)[0] for i in range(n)]
    return {
        "p50": round(percentile(times, 50), 1),
        "p95": round(percentile(times, 95), 1),
        "max": round(max(times), 1),
    }


def _by_state(client: Client, state: str) -> Callable[[int], Any]:
    return lambda i: client.get(f"/api/v1/sales?page_size=50&state={state}")


def scenarios(client: Client, sample: dict[str, Any]) -> dict[str, Callable[[int], Any]]:
    today = date.fromisoformat(sample["today"])
    month = f"date_from={today - timedelta(days=29)}&date_to={today}"
    year = f"date_from={today - timedelta(days=364)}&date_to={today}"
    orders, ids, names, skus = sample["orders"], sample["ids"], sample["names"], sample["skus"]
    deep_cursor = sample["deep_cursor"]
    out: dict[str, Callable[[int], Any]] = {
        "API list, first page": lambda i: client.get("/api/v1/sales?page_size=50"),
        "API list, page 100 (offset)": lambda i: client.get("/api/v1/sales?page_size=50&page=100"),
        "API list, deep page (cursor)": lambda i: client.get(
            f"/api/v1/sales?page_size=50&cursor={deep_cursor}"
        ),
        "API search, order id": lambda i: client.get(f"/api/v1/sales?q={orders[i % len(orders)]}"),
        "API search, buyer name": lambda i: client.get(f"/api/v1/sales?q={names[i % len(names)]}"),
        "API search, SKU": lambda i: client.get(f"/api/v1/sales?q={skus[i % len(skus)]}"),
        "API sale detail": lambda i: client.get(f"/api/v1/sales/{ids[i % len(ids)]}"),
    }
    for state in (
        "pending",
        "waiting",
        "retrying",
        "needs_attention",
        "invoiced",
        "credited",
        "skipped",
        "dead",
    ):
        out[f"API list, state={state}"] = _by_state(client, state)
    out.update(
        {
            "Resumen (/app)": lambda i: client.get("/app"),
            "Ventas (/app/sales)": lambda i: client.get("/app/sales"),
            "Ventas, search by name": lambda i: client.get(f"/app/sales?q={names[i % len(names)]}"),
            "Reportes, month": lambda i: client.get(f"/app/reports?{month}"),
            "Reportes, year": lambda i: client.get(f"/app/reports?{year}"),
        }
    )
    return out


def sample_of(client: Client, tenant_id: int) -> dict[str, Any]:
    conn = db_connect(DATABASE)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, external_id, buyer_name, JSON_VALUE(facts, '$.lines[0].sku') FROM sale "
            "WHERE tenant_id = %s ORDER BY RAND() LIMIT 40",
            (tenant_id,),
        )
        rows = cur.fetchall()
        cur.execute("SELECT CURDATE()")
        today = cur.fetchone()[0]
    conn.close()
    # A deep cursor: where page 1,000 of 50 starts (or the last pages of a smaller history),
    # found once by offset.
    _, first = client.get("/api/v1/sales?page_size=50")
    page = max(1, min(999, first.json()["total"] // 50 - 2))
    _, deep = client.get(f"/api/v1/sales?page_size=50&page={page}")
    return {
        "ids": [r[0] for r in rows],
        "orders": [r[1] for r in rows],
        "names": [r[2].replace(" ", "+") for r in rows[:20]],
        "skus": [r[3] for r in rows[:20] if r[3]],
        "today": str(today),
        "deep_cursor": deep.json()["next_cursor"],
    }


def tenant_ids() -> dict[str, int]:
    conn = db_connect(DATABASE)
    with conn.cursor() as cur:
        cur.execute("SELECT name, id FROM tenant")
        found = {name: int(tid) for name, tid in cur.fetchall()}
    conn.close()
    return found


def run(n: int) -> dict[str, Any]:
    url = mariadb_url(DATABASE)
    print("preparing (fold tallies, compute marked days)…", flush=True)
    prep = asyncio.run(prepare(url))
    print(f"  {prep}", flush=True)
    port = free_port()
    stack = contextlib.ExitStack()
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "conexapi.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "2",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    log = (RESULTS / "logs").resolve()
    log.mkdir(parents=True, exist_ok=True)
    with (log / "big-api.log").open("w") as out:
        proc = subprocess.Popen(cmd, env=env(url), cwd=ROOT, stdout=out, stderr=out)
    base = f"http://127.0.0.1:{port}"
    memory: dict[str, int] = {}
    try:
        memory = stack.enter_context(buffer_pool(BUFFER_POOL))
        print(f"  MariaDB memory: {memory}", flush=True)
        wait_http(f"{base}/healthz", timeout=60)
        ids = tenant_ids()
        clients = {name: Client(base, email) for name, email in TENANTS.items()}
        counts = {
            name: sum(c.get("/api/v1/sales?page_size=1")[1].json()["counts"].values())
            for name, c in clients.items()
        }
        figures: dict[str, dict[str, dict[str, float]]] = {}
        for name, client in clients.items():
            sample = sample_of(client, ids[name])
            figures[name] = {}
            for label, fn in scenarios(client, sample).items():
                figures[name][label] = measure(fn, n)
                print(f"  {name:8} {label:32} {figures[name][label]}", flush=True)
        under_load = measure_under_load(clients, ids, n)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        stack.close()
    return {
        "when": now_iso(),
        "machine": machine_info(),
        "memory": memory,
        "sales": counts,
        "samples_per_figure": n,
        "prepare": prep,
        "figures": figures,
        "small_while_big_reports": under_load,
    }


def measure_under_load(
    clients: dict[str, Client], ids: dict[str, int], n: int
) -> dict[str, dict[str, float]]:
    """The small tenant's pages while two clients ask for the big tenant's year report."""
    stop = threading.Event()
    big_base = str(clients["grande"].http.base_url)
    token = clients["grande"].http.headers["Authorization"]
    today = date.today()
    year = f"/app/reports?date_from={today - timedelta(days=364)}&date_to={today}"
    done = [0]

    def hammer() -> None:
        with httpx.Client(base_url=big_base, timeout=120) as http:
            http.headers["Authorization"] = token
            http.cookies.set("conexapi_session", token.removeprefix("Bearer "))
            while not stop.is_set():
                http.get(year)
                done[0] += 1

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    small = clients["pequeno"]
    sample = sample_of(small, ids["pequeno"])
    out = {}
    try:
        for label, fn in scenarios(small, sample).items():
            if label.startswith(("API list, state=", "API list, page")):
                continue
            out[label] = measure(fn, n)
            print(f"  pequeno (under load) {label:32} {out[label]}", flush=True)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=120)
    out["big year reports served meanwhile"] = {"count": float(done[0])}
    return out


def render(result: dict[str, Any]) -> str:
    """The docs/benchmarks.md section of this run."""
    big, small = result["figures"]["grande"], result["figures"]["pequeno"]
    sales = result["sales"]
    rows = []
    for label, fig in big.items():
        ref = small[label]
        ratio = fig["p95"] / max(ref["p95"], 1.0)
        ok = fig["p95"] <= GOAL_MS and ratio <= GOAL_RATIO
        rows.append(
            f"| {label} | {fig['p50']} | **{fig['p95']}** | {ref['p50']} | {ref['p95']} "
            f"| {ratio:.1f} | {'yes' if ok else '**no**'} |"
        )
    load_rows = []
    for label, fig in result["small_while_big_reports"].items():
        if "p95" not in fig:
            continue
        alone = small[label]["p95"]
        load_rows.append(f"| {label} | {alone} | {fig['p95']} |")
    served = result["small_while_big_reports"]["big year reports served meanwhile"]["count"]
    prep = result["prepare"]
    return "\n".join(
        [
            BIG_START,
            "## Big sellers: lists and reports with 1,000,000 sales",
            "",
            f"`make bench-big` ({result['when']}): tenant *grande* with "
            f"{sales['grande']:,} sales over 365 days and tenant *pequeno* with "
            f"{sales['pequeno']:,}, in one MariaDB database (`{DATABASE}`, loaded once by "
            "`bench.big_load`, reused). The API runs as `conexapi serve` (uvicorn, 2 workers); "
            f"each figure is {result['samples_per_figure']} sequential requests after a "
            "warm-up, in milliseconds, timed by the client. Goal: p95 ≤ 300 ms at 1,000,000 "
            "and at most twice the 10,000-sale figure. "
            f"MariaDB's buffer pool during the run: {_mib(result, 'buffer_pool_mib')} "
            f"for {_mib(result, 'data_mib')} of tables in `{DATABASE}` (the server's own: "
            f'{_mib(result, "server_pool_mib")}; docs/big-sellers.md, "Memory").',
            "",
            "| request | p50 1M | p95 1M | p50 10k | p95 10k | ratio p95 | goal met |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            "The small tenant while two clients ask for the big tenant's year report without "
            f"pause ({int(served)} year reports served meanwhile), p95 in ms:",
            "",
            "| request (pequeno) | alone | during the big reports |",
            "|---|---|---|",
            *load_rows,
            "",
            f"Before measuring, the run folds the state tallies ({prep['tally_rows_folded']:,} "
            f"delta rows in {prep['fold_seconds']} s) and computes every marked day "
            f"({prep['days_computed']} days in {prep['days_seconds']} s): what the worker's "
            "upkeep does continuously (docs/big-sellers.md).",
            BIG_END,
        ]
    )


def _mib(result: dict[str, Any], key: str) -> str:
    value = result.get("memory", {}).get(key)
    return "?" if value is None else f"{value:,} MiB"


def write_doc(section: str) -> None:
    doc = ROOT / "docs" / "benchmarks.md"
    text = doc.read_text()
    start, end = text.find(BIG_START), text.find(BIG_END)
    if start != -1 and end != -1:
        text = text[:start] + section + text[end + len(BIG_END) :]
    else:
        anchor = text.find("## Notes, limits and findings")
        anchor = anchor if anchor != -1 else len(text)
        text = text[:anchor] + section + "\n\n" + text[anchor:]
    doc.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=20, help="timed requests per figure")
    args = parser.parse_args()
    result = run(args.n)
    path = write_result("big", result)
    print(f"results: {path}")
    big, small = result["figures"]["grande"], result["figures"]["pequeno"]
    failed = []
    for label, fig in big.items():
        ratio = fig["p95"] / max(small[label]["p95"], 1.0)
        if fig["p95"] > GOAL_MS or ratio > GOAL_RATIO:
            failed.append(f"{label}: p95 {fig['p95']} ms, ratio {ratio:.1f}")
    print(json.dumps({"over_goal": failed}, ensure_ascii=False, indent=1))
    Path(RESULTS / "big-summary.txt").write_text("\n".join(failed) or "all within the goal\n")
    write_doc(render(result))
    print("docs/benchmarks.md: big-seller section written")


if __name__ == "__main__":
    main()
