"""The database restarts mid-run while sales are processed and a token refresh is in flight.

Runs `python -m bench.db_restart` (see bench/db_restart.py): a private MariaDB created for the
run in a temporary directory, on its own port and socket (never the shared server), the API and
two `conexapi worker` processes on it, the simulators with 10 s MercadoLibre access tokens. The
database is SIGKILLed the moment a worker has committed its refresh marker, the worker holding
the rotated pair is SIGKILLed once the pair is in the token spool, and the database comes back
7 s later. About 40 s in all.

Nothing here is optional: without `mariadb-install-db` and `mariadbd` the run fails, it is not
skipped (`.ci/run` runs on a machine with MariaDB installed, as root: the server then runs with
`--user=root`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_database_restart_disconnects_nobody_and_stalls_nothing(tmp_path: Path) -> None:
    out = tmp_path / "db-restart.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.db_restart",
            "--sales",
            "40",
            "--down",
            "7",
            "--database",
            f"conexapi_db_restart_{os.getpid()}",
            "--name",
            "db-restart-test",
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    restart = result["restarts"][0]
    # The worst moment was hit: MercadoLibre rotated the single-use refresh token while the
    # database was away, and the only copy of the new pair was the spool of a killed worker.
    assert restart["refresh_in_flight"], restart
    assert restart["refresher_killed"], restart
    assert result["connection"]["status"] == "active", result["connection"]
    assert result["token_calls"].get("refresh_token", 0) >= 1, result["token_calls"]
    assert result["token_calls"].get("refresh_token_refused", 0) == 0, result["token_calls"]
    score = result["score"]
    assert score["violations"] == 0, json.dumps(score["violation_samples"][:10], indent=1)
    assert score["dead"] == 0, json.dumps(score["dead_sales"][:10], indent=1)
    assert result["attempts_burnt"] == 0, result["unsettled"]
    unsettled = json.dumps(
        {"sales": result["unsettled"], "timelines": result["unsettled_timelines"]}, indent=1
    )
    assert result["settled"], unsettled
    assert result["settled_after_db_back_s"] <= 60, (result["settled_after_db_back_s"], unsettled)
    api = result["api"]
    assert api["reset_count"] == 0, api["resets"]
    assert not api["bad_503"], api["bad_503"]
    assert not api["errors_5xx"], api["errors_5xx"]
    # The outage was seen by the API, and answered the documented way.
    assert any(k.endswith(" 503") for k in api["statuses"]), api["statuses"]
    assert all(result["checks"].values()), result["checks"]
    assert proc.returncode == 0, proc.stdout[-3000:]
