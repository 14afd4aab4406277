"""The database restarts in the middle of a run, while sales are processed and tokens refresh.

A private MariaDB (`bench.private_mariadb`: never the shared server) backs the API and two
`conexapi worker` processes; the MercadoLibre simulator grants short-lived access tokens (so
refreshes happen every few seconds) and answers with a little latency (so a refresh is in
flight long enough to be caught). Sales arrive at a steady pace. Then:

1. the run waits until a worker has committed its refresh marker (it is about to call
   MercadoLibre's token endpoint) and crashes MariaDB (SIGKILL) at that moment: MercadoLibre
   rotates the single-use refresh token while the database is away;
2. as soon as the rotated pair is in the token spool, the worker that holds it is SIGKILLed too
   and a new one started (the pair now exists only on disk);
3. MariaDB stays down a few seconds, then starts again on the same data.

Meanwhile a prober keeps calling the API over keep-alive connections (`/readyz`, the sales list,
the webhook). The result says, and exit code 1 means any is false: every billable sale has
exactly one invoice and all totals are exact (the chaos scorecard), the MercadoLibre connection is
still active and MercadoLibre never refused a refresh, no sale burnt an attempt, everything
settled within a minute of the database answering again, and no API request saw a reset
connection (during the outage: 503 `database_unavailable` with `Retry-After`).

    python -m bench.db_restart [--sales 40] [--down 7] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import random
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from bench.common import BenchStack, Db, StackConfig, settle, wait_for_sweep, write_result
from bench.private_mariadb import PrivateMariaDB

# Kinds whose follow-ups (a pack's last payment) need no cancellation or refund.
MIX = {
    "single": 40,
    "pack": 10,
    "variation": 8,
    "shipping_buyer": 8,
    "coupon": 5,
    "company_buyer": 6,
    "foreign_buyer": 3,
    "unreachable_price": 4,
    "missing_billing": 3,
    "unknown_sku": 3,
    "cancelled_unpaid": 2,
    "fraud": 2,
}
# Under the simulated MercadoLibre latency (150 ms by default): the token call is still in flight.
MARKER_SETTLE_SECONDS = 0.04
UNKNOWN_SELLER = 999_000_111  # a webhook the API stores as "ignored": probes intake harmlessly


class ApiProber(threading.Thread):
    """Calls the API over keep-alive connections all the time and records how it answered."""

    def __init__(self, api_url: str, token: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True, name="api-prober")
        self.api_url = api_url
        self.token = token
        self.interval = interval
        self.stop_event = threading.Event()
        self.statuses: Counter[str] = Counter()
        self.resets: list[dict[str, Any]] = []
        self.bad_503: list[dict[str, Any]] = []
        self.errors_5xx: list[dict[str, Any]] = []
        self.t0 = time.monotonic()

    def _requests(self, seq: int) -> tuple[str, str, dict[str, Any]]:
        kind = seq % 3
        if kind == 0:
            return "GET", "/readyz", {}
        if kind == 1:
            return "GET", "/api/v1/sales", {"params": {"page_size": 1}}
        body = {
            "resource": f"/orders/{2_000_000_000_000 + seq}",
            "user_id": UNKNOWN_SELLER,
            "topic": "orders_v2",
            "application_id": 5503910054141466,
            "attempts": 1,
            "sent": "2026-11-30T12:00:00.000Z",
            "received": "2026-11-30T12:00:00.000Z",
        }
        return "POST", "/webhooks/mercadolibre", {"json": body}

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        seq = 0
        with httpx.Client(base_url=self.api_url, headers=headers, timeout=30) as api:
            while not self.stop_event.wait(self.interval):
                seq += 1
                method, path, kw = self._requests(seq)
                at = round(time.monotonic() - self.t0, 2)
                try:
                    r = api.request(method, path, **kw)
                except httpx.TransportError as exc:  # reset, closed mid-answer, refused
                    self.resets.append({"at_s": at, "path": path, "error": type(exc).__name__})
                    continue
                self.statuses[f"{path} {r.status_code}"] += 1
                if r.status_code == 503:
                    ok = (
                        r.headers.get("Retry-After") is not None
                        and r.json().get("code") == "database_unavailable"
                    )
                    if not ok and len(self.bad_503) < 20:
                        self.bad_503.append({"at_s": at, "path": path, "body": r.text[:200]})
                elif r.status_code >= 500 and len(self.errors_5xx) < 20:
                    self.errors_5xx.append({"at_s": at, "path": path, "status": r.status_code})

    def report(self) -> dict[str, Any]:
        return {
            "requests": sum(self.statuses.values()) + len(self.resets),
            "statuses": dict(self.statuses),
            "resets": self.resets[:20],
            "reset_count": len(self.resets),
            "bad_503": self.bad_503,
            "errors_5xx": self.errors_5xx,
        }


def _owner_pid(owner: str) -> int | None:
    parts = owner.split("|")
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def refreshing_unsafely(stack: BenchStack) -> set[int] | None:
    """Pids of workers whose MercadoLibre refresh is in flight with its answer not yet in the
    spool: killing one of them then loses the rotated pair for good (no design can avoid that),
    so the chaos killer spares them. None when the database cannot be asked."""
    try:
        db = Db(stack.config.database, stack.config.server)
    except Exception:
        return None
    try:
        owners = [
            str(o)
            for (o,) in db.rows(
                "SELECT refresh_owner FROM connection WHERE refresh_owner IS NOT NULL "
                "AND refresh_owner <> 'lost'"
            )
        ]
    except Exception:
        return None
    finally:
        db.close()
    spool = stack.data_dir / "token-spool"
    safe = {
        int(p.stem.rsplit("-", 2)[1])
        for p in (spool.glob("*.tok") if spool.exists() else [])
        if p.stem.rsplit("-", 2)[1].isdigit()
    }
    return {pid for o in owners if (pid := _owner_pid(o)) is not None and pid not in safe}


class DbRestarter:
    """Restarts the private server at the worst moment: while a MercadoLibre refresh is in
    flight (its marker committed, MercadoLibre not answered yet)."""

    def __init__(
        self,
        stack: BenchStack,
        mariadb: PrivateMariaDB,
        worker_env: dict[str, str],
        *,
        lock: threading.Lock | None = None,
    ) -> None:
        self.stack = stack
        self.mariadb = mariadb
        self.worker_env = worker_env
        self.lock = lock or threading.Lock()  # shared with whoever else kills workers
        self.events: list[dict[str, Any]] = []
        self.t0 = time.monotonic()

    def _at(self) -> float:
        return round(time.monotonic() - self.t0, 2)

    def wait_for_refresh(self, timeout: float) -> str | None:
        """The owner of a refresh marker, as soon as one is committed; None after `timeout`."""
        db = Db(self.stack.config.database, self.stack.config.server)
        try:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                owner = db.scalar(
                    "SELECT refresh_owner FROM connection WHERE provider = 'mercadolibre' "
                    "AND refresh_owner IS NOT NULL AND refresh_owner <> 'lost'"
                )
                if owner:
                    return str(owner)
                time.sleep(0.01)
            return None
        finally:
            db.close()

    def spooled(self) -> list[str]:
        spool = self.stack.data_dir / "token-spool"
        return sorted(p.name for p in spool.glob("mercadolibre-*.tok")) if spool.exists() else []

    def restart(self, down_seconds: float, *, kill_refresher: bool, marker_timeout: float) -> float:
        """One restart; returns the monotonic time the database answered again."""
        owner = self.wait_for_refresh(marker_timeout)
        if owner is not None:
            # The marker is visible once the server committed it, which can be a moment before
            # the worker has heard the commit: killed then, the worker sees an outage and never
            # calls MercadoLibre (nothing rotated, the worst moment missed). A short pause, well
            # under MercadoLibre's latency, lets the worker's token call leave first.
            time.sleep(MARKER_SETTLE_SECONDS)
        self.mariadb.kill()
        event: dict[str, Any] = {"down_at_s": self._at(), "refresh_in_flight": owner is not None}
        print(
            f"[db-restart] MariaDB SIGKILLed at {event['down_at_s']} s (refresh in flight: "
            f"{owner is not None})"
        )
        if kill_refresher and owner is not None:
            event.update(self._kill_refresher(owner))
        time.sleep(max(0.0, down_seconds - (self._at() - event["down_at_s"])))
        self.mariadb.start()
        back = time.monotonic()
        event["back_at_s"] = self._at()
        event["down_s"] = round(event["back_at_s"] - event["down_at_s"], 2)
        print(f"[db-restart] MariaDB back at {event['back_at_s']} s")
        self.events.append(event)
        assert self.stack.db is not None
        self.stack.db.reconnect()
        return back

    def _kill_refresher(self, owner: str) -> dict[str, Any]:
        """Once MercadoLibre's answer is in the spool, the worker holding it dies: the rotated
        pair now exists only on disk."""
        deadline = time.monotonic() + 10
        while not self.spooled() and time.monotonic() < deadline:
            time.sleep(0.01)
        pid = _owner_pid(owner)
        with self.lock:
            victim = next((w for w in self.stack.workers if w.pid == pid), None)
            if not self.spooled() or victim is None:
                return {"refresher_killed": False, "spooled": self.spooled()}
            victim.kill()
            self.stack.workers.remove(victim)
            self.stack.start_worker(fast_retry=True, **self.worker_env)
        print(f"[db-restart] refreshing worker pid {pid} SIGKILLed with its pair in the spool")
        return {"refresher_killed": True, "spooled": self.spooled()}


class RestartSeries(threading.Thread):
    """`count` restarts at random moments of a longer run (the chaos run)."""

    def __init__(
        self,
        restarter: DbRestarter,
        count: int,
        down_seconds: float,
        rng: random.Random,
        *,
        marker_timeout: float,
    ) -> None:
        super().__init__(daemon=True, name="db-restarts")
        self.restarter = restarter
        self.count = count
        self.down_seconds = down_seconds
        self.rng = rng
        self.marker_timeout = marker_timeout

    def run(self) -> None:
        for _ in range(self.count):
            time.sleep(self.rng.uniform(5.0, 15.0))
            self.restarter.restart(
                self.down_seconds, kill_refresher=True, marker_timeout=self.marker_timeout
            )


def connection_state(stack: BenchStack) -> dict[str, Any]:
    assert stack.db is not None
    row = stack.db.rows(
        "SELECT status, last_error, token_version, refresh_owner FROM connection "
        "WHERE provider = 'mercadolibre'"
    )[0]
    return {"status": row[0], "last_error": row[1], "token_version": row[2], "marker": row[3]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.scorecard import score

    started = time.monotonic()
    worker_env = {"CONEXAPI_WORKER_CONCURRENCY": "8"}
    with PrivateMariaDB() as mariadb:
        config = StackConfig(
            args.name,
            args.database,
            sandbox={
                "seed": args.seed,
                "ml_access_token_ttl_seconds": args.token_ttl,
                "notification_retry_interval_seconds": 1.0,
                "faults": {"mercadolibre": {"latency_ms": args.ml_latency_ms}},
            },
            env={"CONEXAPI_SWEEP_INTERVAL_SECONDS": str(args.sweep_interval)},
            server=mariadb.server,
        )
        with BenchStack(config) as stack:
            assert stack.db is not None
            for _ in range(2):
                stack.start_worker(fast_retry=True, **worker_env)
            prober = ApiProber(stack.api_url, stack.token)
            prober.start()

            def generate() -> None:
                stack.generate_paced(args.sales, rate=args.rate, batch=2, mix=MIX)
                stack.advance()  # the packs' last orders get paid

            generator = threading.Thread(target=generate, daemon=True)
            generator.start()
            time.sleep(args.warmup)
            restarter = DbRestarter(stack, mariadb, worker_env)
            back = restarter.restart(
                args.down, kill_refresher=args.kill_refresher, marker_timeout=args.token_ttl * 3
            )
            back_db_time = _db_now(stack)
            generator.join()
            swept = wait_for_sweep(stack, back_db_time, args.sweep_interval * 3 + 30)
            settled = settle(stack, args.settle_timeout, quiet_for=2.0, leases=True)
            settled_after = round(time.monotonic() - back, 1)
            prober.stop_event.set()
            prober.join()
            scenarios = stack.control("GET", "/_sandbox/scenarios")
            invoices = stack.control("GET", "/_sandbox/siigo/invoices")
            notes = stack.control("GET", "/_sandbox/siigo/credit-notes")
            sales = stack.api_sales()
            ml_stats = stack.ml_stats()
            token_calls = dict(ml_stats.get("token_calls") or {})
            burnt = int(stack.db.scalar("SELECT COUNT(*) FROM sale WHERE attempts > 0"))
            result = {
                "params": {k: v for k, v in vars(args).items() if k != "json"},
                "sales": len(scenarios),
                "restarts": restarter.events,
                "settled": settled,
                "swept_after_restart": swept,
                "settled_after_db_back_s": settled_after,
                "connection": connection_state(stack),
                "token_calls": token_calls,
                "attempts_burnt": burnt,
                "states": stack.db.states(),
                "unsettled": [
                    [str(v) for v in row]
                    for row in stack.db.rows(
                        "SELECT id, external_id, state, next_attempt_at, lease_owner, attempts, "
                        "error_code FROM sale WHERE lease_owner IS NOT NULL OR state IN "
                        "('pending', 'retrying', 'waiting') LIMIT 20"
                    )
                ],
                "unsettled_timelines": unsettled_timelines(stack),
                "api": prober.report(),
                "notifications": ml_stats.get("notifications"),
                "score": score(stack.integration_id, scenarios, invoices, notes, sales),
            }
            stack.stop_workers()
    result["seconds"] = round(time.monotonic() - started, 1)
    result["checks"] = verdicts(result, args.settle_limit)
    return result


def _db_now(stack: BenchStack) -> Any:
    assert stack.db is not None
    return stack.db.scalar("SELECT UTC_TIMESTAMP(6)")


def restart_checks(result: dict[str, Any]) -> dict[str, bool]:
    """What must hold for the seller and for API clients across database restarts."""
    api = result["api"]
    refused = int(result["token_calls"].get("refresh_token_refused", 0))
    return {
        "MercadoLibre connection still active": result["connection"]["status"] == "active",
        "MercadoLibre never refused a refresh token": refused == 0,
        "no API request answered with a reset connection": api["reset_count"] == 0,
        "every 503 was database_unavailable with Retry-After": not api["bad_503"],
        "no other 5xx": not api["errors_5xx"],
    }


def unsettled_timelines(stack: BenchStack) -> dict[str, list[list[str]]]:
    """Each unsettled sale's timeline (kind, time, message, data), so that a failed run says
    what the sale went through, not only where it stopped."""
    assert stack.db is not None
    ids = [
        int(row[0])
        for row in stack.db.rows(
            "SELECT id FROM sale WHERE lease_owner IS NOT NULL OR state IN "
            "('pending', 'retrying', 'waiting') LIMIT 5"
        )
    ]
    return {
        str(sale_id): [
            [str(v)[:300] for v in row]
            for row in stack.db.rows(
                "SELECT kind, created_at, message, data FROM sale_event WHERE sale_id = %s "
                "ORDER BY id",
                sale_id,
            )
        ]
        for sale_id in ids
    }


def verdicts(result: dict[str, Any], settle_limit: float) -> dict[str, bool]:
    """What must hold after a restart with a refresh in flight (the issue's "done when")."""
    score = result["score"]
    return {
        "a refresh was in flight when the database went down": all(
            e["refresh_in_flight"] for e in result["restarts"]
        ),
        "every billable sale exactly one invoice, totals exact": score["violations"] == 0,
        "no sale dead": score["dead"] == 0,
        "no attempt burnt for the outage": result["attempts_burnt"] == 0,
        f"everything settled within {int(settle_limit)} s of the database returning": bool(
            result["settled"] and result["settled_after_db_back_s"] <= settle_limit
        ),
        **restart_checks(result),
    }


def print_report(result: dict[str, Any]) -> None:
    print()
    for name, ok in result["checks"].items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    print(
        f"sales {result['sales']}  restarts {json.dumps(result['restarts'])}  "
        f"settled {result['settled_after_db_back_s']} s after the database returned  "
        f"token calls {json.dumps(result['token_calls'])}  "
        f"API {json.dumps(result['api']['statuses'])}  in {result['seconds']} s"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench.db_restart")
    p.add_argument("--sales", type=int, default=40)
    p.add_argument("--rate", type=float, default=2.0, help="new sales per second")
    p.add_argument("--down", type=float, default=7.0, help="seconds the database stays down")
    p.add_argument("--warmup", type=float, default=4.0, help="seconds before the restart")
    p.add_argument("--token-ttl", type=int, default=10, help="MercadoLibre access token lifetime")
    p.add_argument("--ml-latency-ms", type=int, default=150)
    p.add_argument("--sweep-interval", type=int, default=10)
    p.add_argument("--settle-timeout", type=float, default=90)
    p.add_argument("--settle-limit", type=float, default=60)
    p.add_argument("--no-kill-refresher", dest="kill_refresher", action="store_false")
    p.add_argument("--seed", type=int, default=2027)
    p.add_argument("--database", default="conexapi_db_restart")
    p.add_argument("--json", default=None, help="also write the result here")
    p.add_argument("--name", default="db-restart", help="result name under bench/results/")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = run(args)
    write_result(args.name, result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    print_report(result)
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
