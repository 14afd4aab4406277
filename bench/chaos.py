"""The chaos run: thousands of sales through API + workers + MariaDB while everything fails.

The simulators inject 5xx, 429, slow answers ("timeouts"), lost responses on document creation,
billing info refused by MercadoLibre's PolicyAgent (as if the application lacked the
"Facturación" permission: the seller's sales wait and resume), and duplicated, dropped and
other-topic notifications, and answer as real accounts do (Siigo errors lowercase or PascalCase
at random, orders carrying only the buyer's id, SKUs Siigo can't take among the sales); meanwhile
workers are killed with SIGKILL at random
moments and restarted. Then the faults stop, the sweep recovers what the dropped notifications
hid, and once nothing is due any more the Siigo simulator is read back and every sale is scored:

- every billable sale has exactly one invoice (by idempotency key, or by our observations marker);
- every sale cancelled after its invoice has exactly one credit note, for the whole invoice;
- every partially refunded sale has one credit note for less than the invoice;
- nothing that must not be invoiced (cancelled unpaid, fraud, unknown SKU) has an invoice, and no
  invoice exists that belongs to no sale;
- every total is exact: Siigo's own total equals its payments, and differs from what the buyer
  paid on MercadoLibre by at most 0.01 per invoice line;
- ConexAPI's own view (`GET /api/v1/sales`) agrees: state, invoice and credit note ids and totals;
- the fiscal checks (`bench.scorecard`): each line's tax is its product's, returns credit what came
  back, money refunds are discounts, covered refunds get no credit note, identities are right.

Sales that end `dead` (all attempts failed) are reported on their own line: visible, never
duplicated; with the default fault levels there must be none.

With `--db-restarts N` (default 2) the run uses a private MariaDB (`bench.private_mariadb`) and
crashes it N times, each time while a MercadoLibre token refresh is in flight (short-lived tokens),
SIGKILLing the worker that holds the rotated pair too; a prober calls the API all along. Then
also: the MercadoLibre connection is still active, MercadoLibre never refused a refresh token, and
no API request saw a reset connection (503 `database_unavailable` with `Retry-After` meanwhile).
Exit code 1 on any violation.

    python -m bench.chaos [--sales 2000] [--workers 3] [--kills 4] [--db-restarts 2] [--json PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import (
    SHARED,
    BenchStack,
    StackConfig,
    settle,
    wait_for_sweep,
    write_result,
)
from bench.db_restart import (
    ApiProber,
    DbRestarter,
    RestartSeries,
    connection_state,
    refreshing_unsafely,
    restart_checks,
)
from bench.private_mariadb import PrivateMariaDB
from bench.scorecard import print_scorecard, score

DEFAULT_FAULTS: dict[str, Any] = {
    "mercadolibre": {
        "error_rate": 0.05,
        "rate_limit_rate": 0.05,
        "timeout_rate": 0.02,
        "timeout_seconds": 1.0,
        "billing_forbidden_rate": 0.01,
    },
    "siigo": {
        "error_rate": 0.05,
        "rate_limit_rate": 0.05,
        "timeout_rate": 0.02,
        "timeout_seconds": 1.0,
        "lost_response_rate": 0.05,
        "lost_response_mode": "error",
    },
    "notifications": {"drop_rate": 0.10, "duplicate_rate": 0.10, "other_topic_rate": 0.02},
}
# Real accounts' shapes, on for the whole run (docs/sandbox.md, "Quirks").
QUIRKS: dict[str, Any] = {
    "siigo": {"error_case": "mixed"},
    "mercadolibre": {"buyer_id_only_rate": 0.2},
}
NO_FAULTS: dict[str, Any] = {"mercadolibre": {}, "siigo": {}, "notifications": {}}


class Killer(threading.Thread):
    """Kills a random worker with SIGKILL every few seconds and starts a new one in its place."""

    def __init__(self, stack: BenchStack, rng: random.Random, env: dict[str, str]) -> None:
        super().__init__(daemon=True, name="killer")
        self.stack = stack
        self.rng = rng
        self.env = env
        self.stop_event = threading.Event()
        self.kills: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def kill_one(self) -> bool:
        """SIGKILLs a random worker, sparing one caught while MercadoLibre answers its token
        refresh (the one moment whose loss no design can undo; the database restarts kill
        refreshing workers once their pair is safe in the spool). False when none was killed."""
        with self.lock:
            unsafe = refreshing_unsafely(self.stack)
            candidates = [
                w for w in self.stack.workers if unsafe is not None and w.pid not in unsafe
            ]
            if not candidates:
                return False
            victim = self.rng.choice(candidates)
            victim.kill()
            self.stack.workers.remove(victim)
            self.kills.append({"at_s": round(time.monotonic() - self.t0, 1), "pid": victim.pid})
            print(f"[chaos] SIGKILL worker pid {victim.pid} at {self.kills[-1]['at_s']} s")
            time.sleep(self.rng.uniform(0.2, 1.5))  # restarted by the "supervisor"
            self.stack.start_worker(fast_retry=True, **self.env)
            return True

    def run(self) -> None:
        self.t0 = time.monotonic()
        while not self.stop_event.wait(self.rng.uniform(4.0, 12.0)):
            self.kill_one()


# ---------------------------------------------------------------------------- the run


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    rng = random.Random(args.seed)
    faults = json.loads(args.faults) if args.faults else DEFAULT_FAULTS
    worker_env = {
        "CONEXAPI_WORKER_CONCURRENCY": str(args.concurrency),
        "CONEXAPI_WORKER_DEAD_AFTER_HOURS": str(args.dead_after_hours),
    }
    sandbox: dict[str, Any] = {
        "seed": args.seed,
        "notification_retry_interval_seconds": 1.0,
        "quirks": QUIRKS,
    }
    if args.db_restarts:
        # Short-lived MercadoLibre tokens: refreshes are in flight all the time.
        sandbox["ml_access_token_ttl_seconds"] = args.token_ttl
    phases: dict[str, float] = {}
    with contextlib.ExitStack() as resources:
        # Restarts need a server of our own (never the shared one).
        mariadb = resources.enter_context(PrivateMariaDB()) if args.db_restarts else None
        config = StackConfig(
            args.name,
            args.database,
            sandbox=sandbox,
            env={
                "CONEXAPI_SWEEP_INTERVAL_SECONDS": str(args.sweep_interval),
                # A seller whose billing info was refused waits for this check (faults are random).
                "CONEXAPI_PERMISSION_CHECK_SECONDS": "5",
                "CONEXAPI_WORKER_LEASE_SECONDS": "20",
                "CONEXAPI_STAMP_POLL_INTERVAL_SECONDS": "2",
                # Sales waiting for billing info MercadoLibre is still processing look again soon.
                "CONEXAPI_DATA_RECHECK_SECONDS": "2",
            },
            server=mariadb.server if mariadb is not None else SHARED,
        )
        stack = resources.enter_context(BenchStack(config))
        result = _run_stack(args, stack, mariadb, rng, faults, worker_env, phases)
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def _run_stack(
    args: argparse.Namespace,
    stack: BenchStack,
    mariadb: PrivateMariaDB | None,
    rng: random.Random,
    faults: dict[str, Any],
    worker_env: dict[str, str],
    phases: dict[str, float],
) -> dict[str, Any]:
    assert stack.db is not None
    for _ in range(args.workers):
        stack.start_worker(fast_retry=True, **worker_env)
    stack.set_faults(faults)
    killer = Killer(stack, rng, worker_env)
    killer.start()
    prober = ApiProber(stack.api_url, stack.token)
    prober.start()
    restarts = (
        RestartSeries(
            DbRestarter(stack, mariadb, worker_env, lock=killer.lock),
            args.db_restarts,
            args.db_down,
            rng,
            marker_timeout=args.token_ttl * 3,
        )
        if mariadb is not None
        else None
    )
    if restarts is not None:
        restarts.start()
    t = time.monotonic()
    generated = 0
    while generated < args.sales:
        n = min(10, args.sales - generated)
        stack.generate_paced(n, rate=args.rate, batch=10, seed=rng.randrange(2**31))
        generated += n
    phases["generate_s"] = time.monotonic() - t
    print(f"[chaos] {generated} sales generated in {phases['generate_s']:.0f} s")
    if restarts is not None:
        restarts.join()  # before anything reads the database again
    t = time.monotonic()
    # Every sale must be known before its later events happen (a dropped notification is
    # only found by the sweep): a paid sale cancelled before ConexAPI ever saw it is
    # rightly skipped, not credited, and would not test what it should.
    # Every fault goes on meanwhile: the sweep retries failed pages and resumes where it
    # stopped.
    settled_1 = settle(stack, args.settle_timeout, connections=True)
    generated_at = stack.db.scalar("SELECT UTC_TIMESTAMP(6)")
    swept_1 = wait_for_sweep(stack, generated_at, args.sweep_interval * 4 + 120)
    settled_1 = settle(stack, args.settle_timeout, connections=True) and swept_1 and settled_1
    phases["settle_1_s"] = time.monotonic() - t
    applied = stack.advance()  # payments, cancellations and refunds after the invoices
    print(f"[chaos] {applied} follow-up events (payments, cancellations, refunds) applied")
    t = time.monotonic()
    settled_2 = settle(stack, args.settle_timeout, connections=True)
    phases["settle_2_s"] = time.monotonic() - t
    killer.stop_event.set()
    killer.join()
    while len(killer.kills) < args.kills:
        if not killer.kill_one():
            time.sleep(0.2)
    faults_injected = dict(stack.siigo_stats().get("faults_injected") or {})
    stack.set_faults(NO_FAULTS)
    faults_off_at = stack.db.scalar("SELECT UTC_TIMESTAMP(6)")
    print(f"[chaos] faults off after {len(killer.kills)} kills; waiting for a sweep")
    t = time.monotonic()
    swept = wait_for_sweep(stack, faults_off_at, args.sweep_interval * 4 + 60)
    quiet = settle(
        stack, args.settle_timeout, connections=True, quiet_for=max(3.0, args.sweep_interval / 2)
    )
    # one more sweep after quiescence: nothing new may appear
    again = stack.db.scalar("SELECT UTC_TIMESTAMP(6)")
    swept = wait_for_sweep(stack, again, args.sweep_interval * 4 + 60) and swept
    quiet = settle(stack, args.settle_timeout, connections=True) and quiet
    phases["recover_s"] = time.monotonic() - t
    scenarios = stack.control("GET", "/_sandbox/scenarios")
    invoices = stack.control("GET", "/_sandbox/siigo/invoices")
    notes = stack.control("GET", "/_sandbox/siigo/credit-notes")
    customers = stack.control("GET", "/_sandbox/siigo/customers")
    sales = stack.api_sales()
    ml_stats = stack.ml_stats()
    siigo_stats = stack.siigo_stats()
    prober.stop_event.set()
    prober.join()
    result = {
        "db_restarts": restarts.restarter.events if restarts is not None else [],
        "api": prober.report(),
        "connection": connection_state(stack),
        "token_calls": dict(ml_stats.get("token_calls") or {}),
        "params": {k: v for k, v in vars(args).items() if k != "json"},
        "faults": faults,
        "sales": len(scenarios),
        "kills": killer.kills,
        "faults_injected": faults_injected,
        "notifications": ml_stats.get("notifications"),
        "settled": {"phase1": settled_1, "phase2": settled_2, "swept": swept, "quiet": quiet},
        "phases_s": {k: round(v, 1) for k, v in phases.items()},
        "states": stack.db.states(),
        "siigo_calls": siigo_stats.get("calls"),
        "ml_calls": ml_stats.get("calls"),
        "score": score(stack.integration_id, scenarios, invoices, notes, sales, customers),
        "allow_dead": args.allow_dead,
    }
    result["restart_checks"] = restart_checks(result)
    stack.stop_workers()
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench.chaos")
    p.add_argument("--sales", type=int, default=2000)
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--kills", type=int, default=3, help="at least this many SIGKILLs")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--dead-after-hours", type=float, default=48.0)
    p.add_argument("--rate", type=float, default=30.0, help="new sales per second")
    p.add_argument("--sweep-interval", type=int, default=30)
    p.add_argument("--settle-timeout", type=float, default=600)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--faults", default=None, help="FaultsState JSON (default: the listed rates)")
    p.add_argument("--allow-dead", action="store_true", help="dead sales do not fail the run")
    p.add_argument(
        "--db-restarts",
        type=int,
        default=2,
        help="crash-restarts of a private MariaDB during the run, each with a token refresh in "
        "flight (0: the shared server, never restarted)",
    )
    p.add_argument("--db-down", type=float, default=7.0, help="seconds down per restart")
    p.add_argument("--token-ttl", type=int, default=20, help="MercadoLibre token lifetime (s)")
    p.add_argument("--database", default="conexapi_chaos")
    p.add_argument("--json", default=None, help="also write the result here")
    p.add_argument("--name", default="chaos", help="result name under bench/results/")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result = run(args)
    write_result(args.name, result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, default=str))
    print_scorecard(result)
    sc = result["score"]
    ok = sc["violations"] == 0 and (sc["dead"] == 0 or args.allow_dead)
    return 0 if ok and all(result["restart_checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
