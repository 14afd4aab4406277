"""Production processes, for real: `conexapi serve --workers 2` and `conexapi worker` as
subprocesses on MariaDB, with `conexapi sandbox` in front of them.

- the API and the webhook are served by two processes (each proven by its own counters), and
  `/metrics` on either counts for both;
- a worker invoices sales and its own metrics endpoint shows it;
- a SIGTERMed worker leaves no sale leased, its sales are due at once, it exits 0;
- a SIGTERMed `serve` refuses new connections, finishes the request in flight (its notification
  is committed) and exits 0.

Runs against its own database next to `CONEXAPI_TEST_MARIADB_URL`'s (`<name>_procs`, created and
dropped), never the shared one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pymysql
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import make_url

from tests.conftest import MARIADB_URL

pytestmark = [pytest.mark.mariadb, pytest.mark.slow]

BIN = Path(sys.executable).parent
SELLER_ID = 779432305  # the sandbox's default seller (conexapi.sandbox.constants)
APPLICATION_ID = 5503910054141466
SHUTDOWN_SECONDS = 3
SIMULATOR_GRACE_SECONDS = 3
WEBHOOK = "/webhooks/mercadolibre"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    """Polls `check` until it returns something truthy; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]

    def wait_answering(self, url: str) -> None:
        def up() -> bool:
            assert self.popen.poll() is None, f"{self.name} exited:\n{self.tail()}"
            return _answers(url)

        wait_until(f"{self.name} to answer", up)

    def terminate_and_wait(self, timeout: float) -> int:
        self.popen.send_signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired as exc:
            self.popen.kill()
            self.popen.wait(10)
            raise AssertionError(
                f"{self.name} did not stop in {timeout} s:\n{self.tail()}"
            ) from exc


@dataclass
class Deployment:
    database: str
    db_params: dict[str, Any]
    tmp: Path
    sandbox_url: str = ""
    api_url: str = ""
    token: str = ""
    procs: list[Proc] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        url = make_url(MARIADB_URL).set(database=self.database)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CONEXAPI_")}
        env.update(
            {
                "CONEXAPI_ENV": "development",
                "CONEXAPI_DATABASE_URL": url.render_as_string(hide_password=False),
                "CONEXAPI_PUBLIC_URL": self.api_url,
                "CONEXAPI_MELI_CLIENT_ID": "sandbox-app",
                "CONEXAPI_MELI_CLIENT_SECRET": "sandbox-secret",
                "CONEXAPI_MELI_APPLICATION_ID": str(APPLICATION_ID),
                "CONEXAPI_MELI_AUTH_URL": f"{self.sandbox_url}/mercadolibre-auth",
                "CONEXAPI_MELI_API_URL": f"{self.sandbox_url}/mercadolibre",
                "CONEXAPI_SIIGO_API_URL": f"{self.sandbox_url}/siigo",
                "CONEXAPI_SIIGO_REQUESTS_PER_MINUTE": "0",
                "CONEXAPI_MELI_REQUESTS_PER_SECOND": "0",
                "CONEXAPI_LOG_LEVEL": "INFO",
                "CONEXAPI_WORKER_POLL_INTERVAL_SECONDS": "0.2",
                "CONEXAPI_STAMP_POLL_INTERVAL_SECONDS": "2",
                "CONEXAPI_SHUTDOWN_TIMEOUT_SECONDS": str(SHUTDOWN_SECONDS),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(extra)
        return env

    def start(self, name: str, *args: str, **env: str) -> Proc:
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            popen = subprocess.Popen(
                [str(BIN / "conexapi"), *args],
                env=self.env(**env),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    def run(self, *args: str) -> None:
        subprocess.run(
            [str(BIN / "conexapi"), *args], env=self.env(), check=True, capture_output=True
        )

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        conn = pymysql.connect(**self.db_params, database=self.database, autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return list(cur.fetchall())
        finally:
            conn.close()

    def sandbox(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.sandbox_url}/_sandbox{path}", timeout=30, **kw)
        assert r.status_code < 300, r.text
        return r.json()

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Connection": "close"}
        return httpx.request(method, f"{self.api_url}{path}", headers=headers, timeout=30, **kw)


def _server_params() -> dict[str, Any]:
    url = make_url(MARIADB_URL)
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port or 3306,
        "user": url.username or "root",
        "password": url.password or "",
    }


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    params = _server_params()
    database = f"{make_url(MARIADB_URL).database or 'test'}_procs"
    admin = pymysql.connect(**params, autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4")
    d = Deployment(database, params, tmp_path_factory.mktemp("procs"))
    api_port, sandbox_port = free_port(), free_port()
    d.api_url, d.sandbox_url = f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{sandbox_port}"
    try:
        d.run("migrate")
        d.run(
            *("users", "create", "--email", "demo@conexapi.dev", "--password", "demo1234"),
            *("--tenant", "Tienda Procesos"),
        )
        sandbox = d.start(
            "sandbox",
            *("sandbox", "--port", str(sandbox_port), "--sales", "0"),
            *("--notify-url", f"{d.api_url}{WEBHOOK}"),
        )
        serve = d.start("serve", "serve", "--port", str(api_port), "--workers", "2")
        for url, proc in ((f"{d.sandbox_url}/_sandbox/state", sandbox), (d.api_url, serve)):
            proc.wait_answering(url)
        accounts = asyncio.run(_connect(d.api_url))
        d.token = accounts.token
        yield d
    finally:
        for proc in reversed(d.procs):
            if proc.popen.poll() is None:
                proc.popen.terminate()
                # The simulator is not under test here: on SIGTERM it waits for its notification
                # deliveries to the stopped API to give up (~30 s), so it gets a short grace.
                grace = SIMULATOR_GRACE_SECONDS if proc.name == "sandbox" else SHUTDOWN_SECONDS + 30
                try:
                    proc.popen.wait(grace)
                except subprocess.TimeoutExpired:
                    proc.popen.kill()
                    proc.popen.wait(10)
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        admin.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url.rstrip("/") + ("" if "_sandbox" in url else "/healthz")).is_success
    except httpx.HTTPError:
        return False


async def _connect(api_url: str) -> Any:
    from conexapi.demo import connect_everything

    async with httpx.AsyncClient(base_url=api_url, timeout=60) as api:
        return await connect_everything(api)


def _children(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return sorted(children)


def _counts_by_pid(metrics_dir: Path, pid: int) -> dict[tuple[str, str, str], float]:
    """(route, method, status) -> requests, from one process's own multi-process counter file."""
    counts: dict[tuple[str, str, str], float] = {}
    path = metrics_dir / f"counter_{pid}.db"
    if not path.exists():
        return counts
    for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(path)):  # type: ignore[no-untyped-call]
        _metric, name, labels, _help = json.loads(key)
        if name == "conexapi_http_requests_total":
            counts[(labels["route"], labels["method"], labels["status"])] = value
    return counts


def _notification(order_id: int) -> bytes:
    return json.dumps(
        {
            "resource": f"/orders/{order_id}",
            "user_id": SELLER_ID,
            "topic": "orders_v2",
            "application_id": APPLICATION_ID,
            "attempts": 1,
            "sent": "2026-11-30T15:19:20.129Z",
            "received": "2026-11-30T15:19:20.106Z",
        }
    ).encode()


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    r = httpx.get(url, timeout=30)
    assert r.status_code == 200, r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def test_serve_with_two_workers_serves_api_and_webhook_from_both(deployment: Deployment) -> None:
    d = deployment
    serve = next(p for p in d.procs if p.name == "serve")
    workers = wait_until("two API processes", lambda: len(_children(serve.popen.pid)) == 2)
    assert workers
    pids = _children(serve.popen.pid)
    # `serve` shares the processes' metrics in a fresh directory under TMPDIR: the one holding
    # both processes' files (the newest, should a killed run have left one behind).
    metrics_dir = max(
        (
            d
            for d in Path(tempfile.gettempdir()).glob("conexapi-metrics-*")
            if all((d / f"counter_{pid}.db").exists() for pid in pids)
        ),
        key=lambda d: d.stat().st_mtime,
    )
    # Pause one process at a time: every connection then goes to the other one, so each of the
    # two is seen answering the API and the webhook (kernel load balancing decides otherwise).
    sent = 0
    for serving, paused in ((pids[0], pids[1]), (pids[1], pids[0])):
        os.kill(paused, signal.SIGSTOP)
        try:
            for _ in range(5):
                sent += 1
                r = httpx.post(
                    f"{d.api_url}{WEBHOOK}",
                    content=_notification(3000000000 + sent),
                    headers={"Connection": "close", "Content-Type": "application/json"},
                )
                assert r.status_code == 200, r.text
                assert r.json() == {"status": "accepted"}
                assert d.api("GET", "/api/v1/me").status_code == 200
        finally:
            os.kill(paused, signal.SIGCONT)

        # A process counts a request just after answering it: give the last count a moment.
        def served_all(serving: int = serving) -> bool:
            counts = _counts_by_pid(metrics_dir, serving)
            return (
                counts.get((WEBHOOK, "POST", "200"), 0) >= 5
                and counts.get(("/api/v1/me", "GET", "200"), 0) >= 5
            )

        assert wait_until(f"process {serving} to count its requests", served_all, timeout=10)
    stored = d.sql("SELECT COUNT(*) FROM notification WHERE resource LIKE '/orders/30000000%%'")
    assert stored[0][0] == sent
    # /metrics from either process counts the requests of both.
    got = _scrape(f"{d.api_url}/metrics")
    webhook = (("method", "POST"), ("route", WEBHOOK), ("status", "200"))
    assert got[("conexapi_http_requests_total", webhook)] >= sent


def test_a_worker_invoices_sales_and_serves_its_metrics(deployment: Deployment) -> None:
    d = deployment
    port = free_port()
    worker = d.start("worker-1", "worker", "--metrics-port", str(port))
    worker.wait_answering(f"http://127.0.0.1:{port}")
    d.sandbox("POST", "/scenarios/generate", json={"kinds": ["single"] * 6, "seed": 3})
    wait_until(
        f"6 invoiced sales:\n{worker.tail()}",
        lambda: d.sql("SELECT COUNT(*) FROM sale WHERE state = 'invoiced'")[0][0] >= 6,
    )
    got = _scrape(f"http://127.0.0.1:{port}/metrics")
    assert got[("conexapi_sale_transitions_total", (("state", "invoiced"),))] >= 6
    assert got[("conexapi_notifications_applied_total", ())] >= 6
    siigo_ok = (("outcome", "ok"), ("vendor", "siigo"))
    assert got[("conexapi_external_call_duration_seconds_count", siigo_ok)] > 0
    assert got[("conexapi_external_calls_total", (("outcome", "ok"), ("vendor", "mercadolibre")))]
    api = _scrape(f"{d.api_url}/metrics")
    assert api[("conexapi_queue_stats_up", ())] == 1
    assert api[("conexapi_connections", (("provider", "mercadolibre"), ("status", "active")))] == 1


def test_a_sigtermed_worker_leaves_no_sale_leased_and_exits_0(deployment: Deployment) -> None:
    d = deployment
    worker = next(p for p in d.procs if p.name == "worker-1")
    invoiced_before = len(d.sandbox("GET", "/siigo/invoices"))
    last_before = d.sql("SELECT COALESCE(MAX(id), 0) FROM sale")[0][0]
    d.sandbox("PUT", "/faults", json={"siigo": {"latency_ms": 60_000}})  # Siigo hangs
    d.sandbox("POST", "/scenarios/generate", json={"kinds": ["single"] * 3, "seed": 4})
    # One of this scenario's sales (not an earlier test's, which may be re-read and settled in
    # milliseconds while the worker stops: a CI run saw only those leased).
    wait_until(
        f"a sale in progress:\n{worker.tail()}",
        lambda: d.sql(
            f"SELECT COUNT(*) FROM sale WHERE id > {int(last_before)} AND lease_owner IS NOT NULL"
        )[0][0],
    )
    started = time.monotonic()
    assert worker.terminate_and_wait(timeout=SHUTDOWN_SECONDS + 30) == 0, worker.tail()
    # Bounded: the shutdown timeout, then cancel and release (with a wide margin for slow CI).
    assert time.monotonic() - started < SHUTDOWN_SECONDS + 25
    assert d.sql("SELECT COUNT(*) FROM sale WHERE lease_owner IS NOT NULL")[0][0] == 0
    assert "worker.leases_released" in worker.tail()
    released = d.sql(
        "SELECT COUNT(*) FROM sale WHERE state <> 'invoiced' "
        "AND next_attempt_at <= UTC_TIMESTAMP(6) AND lease_until IS NULL"
    )[0][0]
    assert released >= 1
    # The next worker takes them at once and invoices each exactly once.
    d.sandbox("PUT", "/faults", json={"siigo": {"latency_ms": 0}})
    second = d.start("worker-2", "worker")
    wait_until(
        f"9 invoiced sales:\n{second.tail()}",
        lambda: d.sql("SELECT COUNT(*) FROM sale WHERE state = 'invoiced'")[0][0] >= 9,
    )
    invoices = d.sandbox("GET", "/siigo/invoices")
    assert len(invoices) == invoiced_before + 3
    assert second.terminate_and_wait(timeout=SHUTDOWN_SECONDS + 30) == 0, second.tail()


def test_a_sigtermed_serve_finishes_the_request_in_flight_and_stops(
    deployment: Deployment,
) -> None:
    d = deployment
    serve = next(p for p in d.procs if p.name == "serve")
    port = int(d.api_url.rsplit(":", 1)[1])
    body = _notification(3999999999)
    half = len(body) // 2
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(
        f"POST {WEBHOOK} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body[:half]
    )
    time.sleep(0.5)  # let a worker take the request in (it now waits for the rest of the body)
    serve.popen.send_signal(signal.SIGTERM)
    wait_until("new connections to be refused", lambda: _refused(port), timeout=20)
    conn.sendall(body[half:])
    conn.settimeout(30)
    response = b""
    while chunk := conn.recv(65536):
        response += chunk
    conn.close()
    head, _, payload = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n"), response
    assert b"\r\nconnection: close" in head.lower()  # the last answer of this process
    assert json.loads(payload) == {"status": "accepted"}
    assert serve.popen.wait(SHUTDOWN_SECONDS + 30) == 0, serve.tail()
    # Committed before the answer, and the processes are gone.
    assert (
        d.sql("SELECT COUNT(*) FROM notification WHERE resource = '/orders/3999999999'")[0][0] == 1
    )
    assert _children(serve.popen.pid) == []


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False
