"""Webhook intake: ConexAPI's `POST /webhooks/mercadolibre` against a bare FastAPI endpoint.

Both servers run with the same uvicorn command (one process, no access log). Two measurements
for each, in the same run:

1. saturation throughput: `wrk` (closed loop, 1 thread, 32 keep-alive connections) for a few
   seconds, or the Python generator at a very high rate when wrk is not installed;
2. latency at a fixed offered load (500 notifications/s by default) with the open-loop generator
   of `bench.loadgen` (latency from the scheduled send time: no coordinated omission).

Every ConexAPI notification is distinct (new `_id`, new order) for the seller connected to the
integration, so each one is stored, deduplicated by a unique key and makes a new sale due: the
full intake path, with nothing cached. No worker runs meanwhile.

    python -m bench.intake [--rate 500] [--duration 15]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import time
import uuid
from typing import Any

from bench.common import (
    APPLICATION_ID,
    RESULTS,
    BenchStack,
    Proc,
    StackConfig,
    free_port,
    uvicorn_cmd,
    wait_http,
    write_result,
)
from bench.loadgen import run_open_loop

PATH = "/webhooks/mercadolibre"
WRK_SCRIPT = """
local counter = 0
local prefix = "%(prefix)s"
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
function request()
  counter = counter + 1
  local order = %(base)d + tid * 100000000 + counter
  local body = string.format(
    '{"_id":"%%s-%%d-%%d","resource":"/orders/%%d","user_id":%(seller)s,' ..
    '"topic":"orders_v2","application_id":%(app)s}', prefix, tid, counter, order)
  return wrk.format("POST", "%(path)s", {["Content-Type"] = "application/json"}, body)
end
"""


def notification_body(seller_id: int, prefix: str, base: int) -> Any:
    def body(i: int) -> bytes:
        return json.dumps(
            {
                "_id": f"{prefix}-{i}",
                "resource": f"/orders/{base + i}",
                "user_id": seller_id,
                "topic": "orders_v2",
                "application_id": int(APPLICATION_ID),
                "attempts": 1,
                "sent": "2026-01-01T00:00:00.000Z",
                "received": "2026-01-01T00:00:00.000Z",
            }
        ).encode()

    return body


def wrk_throughput(port: int, seller_id: int, seconds: int, connections: int) -> dict[str, Any]:
    prefix = f"wrk{uuid.uuid4().hex[:8]}"
    script = RESULTS / f"intake-{prefix}.lua"
    script.write_text(
        WRK_SCRIPT
        % {
            "prefix": prefix,
            "base": 3_000_000_000_000_000,
            "seller": seller_id,
            "app": APPLICATION_ID,
            "path": PATH,
        }
    )
    try:
        out = subprocess.run(
            [
                "wrk",
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}{PATH}",
            ],
            capture_output=True,
            text=True,
            timeout=seconds + 30,
            check=True,
        ).stdout
    finally:
        script.unlink(missing_ok=True)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "tool": f"wrk -t1 -c{connections} -d{seconds}s",
        "requests_per_s": rps,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "raw": out,
    }


def python_throughput(port: int, body: Any, seconds: int) -> dict[str, Any]:
    res = run_open_loop(
        "127.0.0.1", port, PATH, body, rate=20000, duration=seconds, max_connections=32
    )
    return {
        "tool": "python open loop at 20000/s, 32 connections",
        "requests_per_s": res.summary()["achieved_rate"],
        "non_2xx": res.errors,
    }


def measure(port: int, seller_id: int, label: str, args: argparse.Namespace) -> dict[str, Any]:
    prefix = f"{label}{uuid.uuid4().hex[:8]}"
    body = notification_body(seller_id, prefix, 4_000_000_000_000_000)
    # warm-up: imports, connection pools, JIT-free but caches
    run_open_loop("127.0.0.1", port, PATH, body, rate=200, duration=2)
    fixed = run_open_loop(
        "127.0.0.1",
        port,
        PATH,
        notification_body(seller_id, prefix + "f", 5_000_000_000_000_000),
        rate=args.rate,
        duration=args.duration,
    ).summary()
    if shutil.which("wrk"):
        sat = wrk_throughput(port, seller_id, args.saturation_seconds, args.connections)
    else:
        sat = python_throughput(
            port,
            notification_body(seller_id, prefix + "s", 6_000_000_000_000_000),
            args.saturation_seconds,
        )
    print(
        f"[intake] {label}: {sat['requests_per_s']:.0f} req/s saturated; at {args.rate}/s "
        f"p50 {fixed['p50_ms']} ms p99 {fixed['p99_ms']} ms ({fixed['errors']} errors)"
    )
    return {"fixed_load": fixed, "saturation": sat}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.intake")
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--saturation-seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database", default="conexapi_bench_intake")
    args = parser.parse_args(argv)
    started = time.monotonic()
    with BenchStack(StackConfig("intake", args.database)) as stack:
        seller = int(
            stack.db.scalar(  # type: ignore[union-attr]
                "SELECT external_account_id FROM connection WHERE provider='mercadolibre'"
            )
        )
        conexapi = measure(stack.api_port, seller, "conexapi", args)
        stored = int(stack.db.scalar("SELECT COUNT(*) FROM notification"))  # type: ignore[union-attr]
        sales = int(stack.db.scalar("SELECT COUNT(*) FROM sale"))  # type: ignore[union-attr]
        bare_port = free_port()
        bare = Proc("intake-bare", uvicorn_cmd(bare_port, "bench.bare_app:create_app"), stack.env())
        bare.start()
        try:
            wait_http(f"http://127.0.0.1:{bare_port}/healthz")
            reference = measure(bare_port, seller, "bare", args)
        finally:
            bare.stop()
    ratio = conexapi["saturation"]["requests_per_s"] / reference["saturation"]["requests_per_s"]
    goals = {
        "p99_under_50ms_at_rate": conexapi["fixed_load"]["p99_ms"] < 50
        and conexapi["fixed_load"]["errors"] == 0,
        "throughput_at_least_half_of_bare": ratio >= 0.5,
    }
    write_result(
        "intake",
        {
            "params": vars(args),
            "conexapi": conexapi,
            "bare": reference,
            "throughput_ratio": round(ratio, 3),
            "notifications_stored": stored,
            "sales_made_due": sales,
            "goals": goals,
            "seconds": round(time.monotonic() - started, 1),
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
