"""The small chaos run: a few hundred sales, real worker processes killed with SIGKILL, MariaDB.

Runs `python -m bench.chaos` (see bench/chaos.py) against its own database
(`conexapi_chaos_small_<pid>`, created and dropped; never the `test` database) and asserts that the
scorecard has no violation: every billable sale exactly one invoice, credit notes exactly once,
nothing invoiced that must not be, exact totals, ConexAPI's view agreeing with Siigo's.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _mariadb_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 3306), timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.mariadb
def test_small_chaos_run_has_no_violation(tmp_path: Path) -> None:
    # Collected only when MariaDB answers, or always under CI (tests/conftest.py).
    assert _mariadb_reachable(), "the chaos run needs MariaDB on 127.0.0.1:3306"
    out = tmp_path / "chaos.json"
    database = f"conexapi_chaos_small_{os.getpid()}"
    try:
        proc = _run_chaos(database, out)
    finally:
        _drop(database)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    score = result["score"]
    assert len(result["kills"]) >= 2, result["kills"]
    assert score["violations"] == 0, json.dumps(score["violation_samples"][:10], indent=1)
    assert score["dead"] == 0, json.dumps(score["dead_sales"][:10], indent=1)
    assert proc.returncode == 0, proc.stdout[-3000:]


def _drop(database: str) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", port=3306, user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
    finally:
        conn.close()


def _run_chaos(database: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.chaos",
            "--sales",
            os.environ.get("CONEXAPI_CHAOS_SMALL_SALES", "200"),
            "--workers",
            "2",
            "--kills",
            "2",
            # Database restarts have their own test (test_db_restart.py).
            "--db-restarts",
            "0",
            "--database",
            database,
            "--name",
            "chaos-small",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
