"""Shared plumbing of the benchmarks and the chaos run.

Everything runs on this machine, on loopback: a fresh MariaDB database, the simulators
(`bench.sandbox_proc`, a subprocess), the API (`uvicorn conexapi.app:create_app`, a subprocess,
the same options as `conexapi serve`), and workers (`conexapi worker` subprocesses; the chaos run
shortens their retry backoff with the `CONEXAPI_WORKER_RETRY_*` settings). Setup goes through the
public API with `conexapi.demo.connect_everything`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
LOGS = RESULTS / "logs"
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    """Where a MariaDB server answers: the shared one, or a private `bench.private_mariadb`."""

    host: str
    port: int
    user: str = "root"


SHARED = Server(
    os.environ.get("BENCH_MARIADB_HOST", "127.0.0.1"),
    int(os.environ.get("BENCH_MARIADB_PORT", "3306")),
    os.environ.get("BENCH_MARIADB_USER", "root"),
)
SELLER_ID = 123456789  # the sandbox's default seller (conexapi.sandbox.DEFAULT_SELLER_ID)
APPLICATION_ID = "5503910054141466"
INVOICE_KINDS = {
    # every kind whose expectation is "invoice" (weights of the default mix)
    "single": 40,
    "pack": 6,
    "variation": 8,
    "shipping_buyer": 8,
    "coupon": 5,
    "company_buyer": 6,
    "foreign_buyer": 3,
    "unreachable_price": 4,
    "pending_then_paid": 4,
    "mixed_tax": 5,
    "price_promotion": 4,
    "promotion_with_coupon": 3,
    "ml_funded_coupon": 3,
    "nit_with_dv": 2,
    "buyer_without_email": 2,
    # billing_processing is left out: it waits for MercadoLibre on purpose (re-checked later).
}


# ---------------------------------------------------------------------------- machine


def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mariadb = ""
    with contextlib.suppress(Exception):
        conn = db_connect()
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION()")
            mariadb = str(cur.fetchone()[0])
        conn.close()
    mem_line = next((x for x in _run(["free", "-h"]).splitlines() if x.startswith("Mem:")), "")
    return {
        "nproc": _run(["nproc"]).strip(),
        "cpu_model": cpu,
        "memory_total": mem_line.split()[1] if mem_line else "",
        "free_h": _run(["free", "-h"]).strip(),
        "python": platform.python_version(),
        "mariadb": mariadb,
        "kernel": platform.release(),
        "os": _os_name(),
    }


def _os_name() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return platform.platform()


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"name": name, "date": now_iso(), "machine": machine_info(), **data}
    path.write_text(json.dumps(payload, indent=2, default=str))
    print(f"[{name}] result written to {path.relative_to(ROOT)}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# ---------------------------------------------------------------------------- MariaDB


def db_connect(database: str | None = None, server: Server = SHARED) -> Any:
    import pymysql

    return pymysql.connect(
        host=server.host,
        port=server.port,
        user=server.user,
        database=database,
        autocommit=True,
        charset="utf8mb4",
    )


def mariadb_url(database: str, server: Server = SHARED) -> str:
    return f"mysql+aiomysql://{server.user}@{server.host}:{server.port}/{database}"


def fresh_database(name: str, server: Server = SHARED) -> str:
    """Drops and recreates `name` (never `test`), migrates it; returns its async URL."""
    if not re.fullmatch(r"conexapi_[a-z0-9_]+", name):
        raise ValueError(f"refusing to recreate database {name!r}: use conexapi_<something>")
    conn = db_connect(server=server)
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
        cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    conn.close()
    url = mariadb_url(name, server)
    subprocess.run(
        [str(BIN / "conexapi"), "migrate"],
        env={**os.environ, "CONEXAPI_DATABASE_URL": url},
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return url


class Db:
    """Small synchronous read helper over the bench database (pymysql)."""

    def __init__(self, name: str, server: Server = SHARED) -> None:
        self.name = name
        self.server = server
        self.conn = db_connect(name, server)

    def reconnect(self) -> None:
        """A new connection (after the server restarted)."""
        self.close()
        self.conn = db_connect(self.name, self.server)

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def scalar(self, sql: str, *args: Any) -> Any:
        rows = self.rows(sql, *args)
        return rows[0][0] if rows else None

    def states(self) -> dict[str, int]:
        return {s: int(n) for s, n in self.rows("SELECT state, COUNT(*) FROM sale GROUP BY state")}

    def due_soon(self, seconds: float = 0) -> int:
        """Sales due within `seconds`, plus order notifications no worker has applied yet (each
        one makes a sale due)."""
        return int(
            self.scalar(
                "SELECT COUNT(*) FROM sale WHERE next_attempt_at IS NOT NULL "
                "AND next_attempt_at <= UTC_TIMESTAMP(6) + INTERVAL %s SECOND",
                seconds,
            )
        ) + int(self.scalar("SELECT COUNT(*) FROM notification WHERE status = 'pending'"))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


# ---------------------------------------------------------------------------- processes


@dataclass
class Proc:
    name: str
    cmd: list[str]
    env: dict[str, str]
    popen: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    _log: Any = None

    def start(self) -> Proc:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}.log"
        self._log = self.log_path.open("ab")
        self.popen = subprocess.Popen(
            self.cmd,
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL, no goodbye (the chaos run's crash)."""
        if self.popen is not None and self.popen.poll() is None:
            os.kill(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def cpu_seconds(self) -> float | None:
        """User + system CPU time the process has used so far (Linux /proc)."""
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return None

    def rss_kib(self) -> int | None:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return None


def wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout} s: {last}")


# ---------------------------------------------------------------------------- the stack


@dataclass
class StackConfig:
    name: str
    database: str
    sandbox: dict[str, Any] = field(default_factory=dict)  # SandboxConfig fields
    env: dict[str, str] = field(default_factory=dict)  # extra CONEXAPI_* for API and workers
    api: bool = True
    server: Server = SHARED


class BenchStack:
    """Database + simulators + API (+ workers on demand), connected like a real seller."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.sandbox_port = free_port()
        self.api_port = free_port()
        self.sandbox_url = f"http://127.0.0.1:{self.sandbox_port}"
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.procs: list[Proc] = []
        self.workers: list[Proc] = []
        self.db: Db | None = None
        self.db_url = ""
        self.integration_id = 0
        self.token = ""
        self._worker_seq = 0
        # The machine-local files every process of this "machine" shares (the token spool).
        self.data_dir = RESULTS / "data" / config.name

    # -- lifecycle -------------------------------------------------------------------------------
    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("CONEXAPI_")}
        base.update(
            {
                "CONEXAPI_ENV": "development",
                "CONEXAPI_DATABASE_URL": self.db_url,
                "CONEXAPI_PUBLIC_URL": self.api_url,
                "CONEXAPI_MELI_CLIENT_ID": "sandbox-app",
                "CONEXAPI_MELI_CLIENT_SECRET": "sandbox-secret",
                "CONEXAPI_MELI_APPLICATION_ID": APPLICATION_ID,
                "CONEXAPI_MELI_AUTH_URL": f"{self.sandbox_url}/mercadolibre-auth",
                "CONEXAPI_MELI_API_URL": f"{self.sandbox_url}/mercadolibre",
                "CONEXAPI_SIIGO_API_URL": f"{self.sandbox_url}/siigo",
                "CONEXAPI_SIIGO_REQUESTS_PER_MINUTE": "0",
                # Benchmarks about the application budget set it (and the sandbox's quota).
                "CONEXAPI_MELI_REQUESTS_PER_SECOND": "0",
                # One seller, Siigo unlimited: throughput runs lift the per-seller cap (in
                # production Siigo's 100 requests/min per company binds long before 4 in flight).
                "CONEXAPI_WORKER_MAX_IN_FLIGHT_PER_INTEGRATION": "256",
                "CONEXAPI_LOG_LEVEL": "WARNING",
                "CONEXAPI_LOG_JSON": "true",
                "CONEXAPI_WORKER_POLL_INTERVAL_SECONDS": "0.2",
                "CONEXAPI_DATA_DIR": str(self.data_dir),
                "CONEXAPI_STAMP_POLL_INTERVAL_SECONDS": "2",
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(self.config.env)
        base.update(extra)
        return base

    def start(self) -> BenchStack:
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        self.db_url = fresh_database(self.config.database, self.config.server)
        self.db = Db(self.config.database, self.config.server)
        subprocess.run(
            [
                str(BIN / "conexapi"),
                "users",
                "create",
                "--email",
                "demo@conexapi.dev",
                "--password",
                "demo1234",
                "--tenant",
                "Tienda Bench",
            ],
            env=self.env(),
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        sandbox_config = {
            "seed": 7,
            "initial_sales": 0,
            "notify_url": f"{self.api_url}/webhooks/mercadolibre",
            "notification_retry_interval_seconds": 1.0,
            "siigo_requests_per_minute": 0,
            **self.config.sandbox,
        }
        self.sandbox_proc = self._spawn(
            "sandbox",
            [
                sys.executable,
                "-m",
                "bench.sandbox_proc",
                "--port",
                str(self.sandbox_port),
                "--config",
                json.dumps(sandbox_config),
            ],
            self.env(),
        )
        wait_http(f"{self.sandbox_url}/_sandbox/state")
        if self.config.api:
            self.api_proc = self._spawn("api", uvicorn_cmd(self.api_port), self.env())
            wait_http(f"{self.api_url}/healthz")
            asyncio.run(self._connect())
        return self

    async def _connect(self) -> None:
        from conexapi.demo import connect_everything

        async with httpx.AsyncClient(base_url=self.api_url, timeout=60) as api:
            accounts = await connect_everything(api)
        self.integration_id = accounts.integration_id
        self.token = accounts.token

    def _spawn(self, role: str, cmd: list[str], env: dict[str, str]) -> Proc:
        proc = Proc(f"{self.config.name}-{role}", cmd, env).start()
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()
        if self.db is not None:
            self.db.close()

    def __enter__(self) -> BenchStack:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- workers ---------------------------------------------------------------------------------
    def start_worker(self, *, fast_retry: bool = False, **env: str) -> Proc:
        self._worker_seq += 1
        cmd = [sys.executable, "-m", "conexapi", "worker"]
        if fast_retry:
            # The production backoff (30 s base, 1 h cap) would make a run with thousands of
            # injected failures last an hour; the number of attempts stays the product's.
            env = {
                "CONEXAPI_WORKER_RETRY_BASE_SECONDS": "0.5",
                "CONEXAPI_WORKER_RETRY_CAP_SECONDS": "4",
                "CONEXAPI_WORKER_RATE_LIMIT_DEFAULT_SECONDS": "1",
                **env,
            }
        proc = self._spawn(f"worker{self._worker_seq}", cmd, self.env(**env))
        self.workers.append(proc)
        return proc

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers = []

    # -- sandbox control ---------------------------------------------------------------------------
    def control(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.sandbox_url}{path}", timeout=120, **kw)
        r.raise_for_status()
        return r.json()

    def generate(self, count: int, **body: Any) -> list[dict[str, Any]]:
        return list(
            self.control("POST", "/_sandbox/scenarios/generate", json={"count": count, **body})
        )

    def generate_paced(
        self, count: int, *, rate: float = 100.0, batch: int = 10, **body: Any
    ) -> list[dict[str, Any]]:
        """Generates `count` sales at about `rate` sales/s (the simulator notifies each at once;
        a burst of thousands would only measure its notifier's 0.5 s timeout)."""
        out: list[dict[str, Any]] = []
        start = time.monotonic()
        while len(out) < count:
            n = min(batch, count - len(out))
            out += self.generate(n, **body)
            delay = start + len(out) / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        return out

    def advance(self) -> int:
        return int(self.control("POST", "/_sandbox/scenarios/advance")["applied"])

    def set_faults(self, faults: dict[str, Any]) -> None:
        self.control("PUT", "/_sandbox/faults", json=faults)

    def set_siigo_rpm(self, rpm: int) -> None:
        self.control("PUT", "/_bench/siigo-rpm", json={"rpm": rpm})

    def notifications_pending(self) -> int:
        return int(self.control("GET", "/_sandbox/state")["notifications"]["pending"])

    def ml_stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "/_sandbox/mercadolibre/stats"))

    def siigo_stats(self) -> dict[str, Any]:
        return dict(self.control("GET", "/_sandbox/siigo/stats"))

    def wait_intake(self, timeout: float = 180) -> float:
        """Waits until the simulator has no notification left to deliver (each one was taken
        or, after its retries, left to `missed_feeds`) and the API's sales table is stable."""
        assert self.db is not None
        started = time.monotonic()
        last = -1
        while time.monotonic() - started < timeout:
            n = int(self.db.scalar("SELECT COUNT(*) FROM notification"))
            if self.notifications_pending() == 0 and n == last:
                return time.monotonic() - started
            last = n
            time.sleep(0.5)
        raise TimeoutError(f"intake: notifications still pending after {timeout} s")

    def api_sales(self) -> list[dict[str, Any]]:
        """ConexAPI's own view: every sale through `GET /api/v1/sales`, page by page."""
        out: list[dict[str, Any]] = []
        headers = {"Authorization": f"Bearer {self.token}"}
        with httpx.Client(base_url=self.api_url, timeout=60, headers=headers) as api:
            page = 1
            while True:
                r = api.get("/api/v1/sales", params={"page": page, "page_size": 200})
                r.raise_for_status()
                data = r.json()
                out += data["items"]
                if page * 200 >= data["total"] or not data["items"]:
                    return out
                page += 1


def uvicorn_cmd(port: int, app: str = "conexapi.app:create_app") -> list[str]:
    """The API server, started exactly like `conexapi serve` (one process, no access log)."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


@contextlib.contextmanager
def timed() -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    start = time.monotonic()
    try:
        yield out
    finally:
        out["seconds"] = time.monotonic() - start


_WAITING_CONNECTIONS = "SELECT COUNT(*) FROM connection WHERE status <> 'active'"


# A notification arriving within `CONEXAPI_NOTIFICATION_REFETCH_SECONDS` (10 s by default) of
# the sale's last read makes it due when that window ends (coalescing): a sale due that soon is
# still work in progress, not a settled one.
COALESCED_WITHIN = 12.0


def settle(
    stack: BenchStack,
    timeout: float,
    *,
    quiet_for: float = 3.0,
    leases: bool = False,
    connections: bool = False,
    due_within: float = COALESCED_WITHIN,
) -> bool:
    """Waits until no notification is pending and no sale is due within `due_within` s (and, with
    `leases`, none is held by a worker; with `connections`, no connection waits, e.g. for a
    permission the PolicyAgent fault refused: its sales wait, not due), for `quiet_for` s. A
    database still coming back after a restart counts as busy."""
    assert stack.db is not None
    deadline = time.monotonic() + timeout
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        try:
            busy = (
                stack.notifications_pending() > 0
                or stack.db.due_soon(due_within) > 0
                or (leases and int(stack.db.scalar(_HELD)) > 0)
                or (connections and int(stack.db.scalar(_WAITING_CONNECTIONS)) > 0)
            )
        except Exception:  # pymysql: the server restarted under this connection
            busy = True
            with contextlib.suppress(Exception):
                stack.db.reconnect()
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_for:
            return True
        time.sleep(0.25)
    return False


_HELD = "SELECT COUNT(*) FROM sale WHERE lease_owner IS NOT NULL"


def wait_for_sweep(stack: BenchStack, after: Any, timeout: float) -> bool:
    """Waits until a sweep that started after `after` (DB time) has finished."""
    assert stack.db is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mark = stack.db.scalar("SELECT MIN(sweep_watermark) FROM integration")
        if mark is not None and mark > after:
            return True
        time.sleep(0.25)
    return False


def wait_until(predicate: Any, timeout: float, interval: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
