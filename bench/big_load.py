"""Loads the big-seller dataset into its own MariaDB database (`conexapi_bench_big`), once.

Two tenants: `grande` with 1,000,000 sales over the last 365 days (a large MercadoLibre seller,
about 2,700 sales a day) and `pequeno` with 10,000. Rows go in with multi-row INSERTs straight
through pymysql (the triggers of the schema write the state tallies and day marks as they would
in production). Most sales are invoiced with an accepted invoice; a few are credited, skipped,
waiting or need attention, like a real history. Loading is resumable: each tenant's sales are
counted first and only what is missing is added. The search terms (`sale_term`) of sales loaded
before that table existed are filled by its migration (run first), of later ones by its triggers.

    PYTHONPATH=. python -m bench.big_load [--big 1000000] [--small 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.common import BIN, ROOT, db_connect, mariadb_url

# Another database (an engineer's own smaller copy) with BENCH_BIG_DATABASE=conexapi_<name>.
DATABASE = os.environ.get("BENCH_BIG_DATABASE", "conexapi_bench_big")
PASSWORD = "bench-big-1234"
TENANTS = {"grande": "grande@bench.dev", "pequeno": "pequeno@bench.dev"}
FIRST = (
    "María",
    "Juan",
    "Carlos",
    "Ana",
    "Luis",
    "Sofía",
    "Andrés",
    "Camila",
    "Jorge",
    "Valentina",
    "Diego",
    "Laura",
    "Felipe",
    "Daniela",
    "Santiago",
    "Paula",
    "Alejandro",
    "Natalia",
    "Sebastián",
    "Carolina",
    "Mateo",
    "Juliana",
    "Nicolás",
    "Mariana",
    "Julián",
    "Isabella",
    "Miguel",
    "Gabriela",
    "David",
    "Catalina",
    "Óscar",
    "Diana",
    "Ricardo",
    "Manuela",
    "Esteban",
    "Lina",
    "Fernando",
    "Sara",
    "Hernán",
    "Angélica",
)
LAST = (
    "Gómez",
    "Rodríguez",
    "Martínez",
    "López",
    "González",
    "Hernández",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Díaz",
    "Vargas",
    "Moreno",
    "Rojas",
    "Jiménez",
    "Castro",
    "Ortiz",
    "Ruiz",
    "Suárez",
    "Romero",
    "Herrera",
    "Medina",
    "Aguilar",
    "Cárdenas",
    "Restrepo",
    "Ospina",
    "Giraldo",
    "Zapata",
    "Cardona",
    "Mejía",
    "Londoño",
    "Quintero",
    "Arango",
    "Salazar",
    "Valencia",
    "Muñoz",
    "Patiño",
    "Betancur",
    "Mosquera",
    "Duque",
)
STATES = [
    ("invoiced", 0.90),
    ("credited", 0.03),
    ("skipped", 0.03),
    ("waiting", 0.02),
    ("pending", 0.01),
    ("needs_attention", 0.004),
    ("retrying", 0.003),
    ("dead", 0.003),
]
BATCH = 2000
SALE_COLS = (
    "tenant_id, integration_id, external_id, order_ids, state, next_attempt_at, attempts, "
    "total, buyer_name, buyer_ident, sale_date, error_code, error_message, facts, profit, "
    "created_at, updated_at"
)


def _pick_state(rng: random.Random) -> str:
    x = rng.random()
    for state, share in STATES:
        if x < share:
            return state
        x -= share
    return "invoiced"


def migrate() -> str:
    conn = db_connect()
    with conn.cursor() as cur:
        cur.execute(
            f"CREATE DATABASE IF NOT EXISTS `{DATABASE}` "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        )
    conn.close()
    url = mariadb_url(DATABASE)
    env = {**os.environ, "CONEXAPI_DATABASE_URL": url, "CONEXAPI_ENV": "development"}
    subprocess.run([str(BIN / "conexapi"), "migrate"], env=env, cwd=ROOT, check=True)
    return url


def ensure_tenant(cur: Any, name: str, email: str) -> tuple[int, int]:
    """The tenant (with its owner) and its integration: (tenant_id, integration_id)."""
    cur.execute("SELECT id FROM tenant WHERE name = %s", (name,))
    row = cur.fetchone()
    if row is None:
        url = mariadb_url(DATABASE)
        env = {**os.environ, "CONEXAPI_DATABASE_URL": url, "CONEXAPI_ENV": "development"}
        subprocess.run(
            [
                str(BIN / "conexapi"),
                "users",
                "create",
                "--email",
                email,
                "--password",
                PASSWORD,
                *("--tenant", name),
            ],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        cur.execute("SELECT id FROM tenant WHERE name = %s", (name,))
        row = cur.fetchone()
    tenant_id = int(row[0])
    cur.execute("SELECT id FROM integration WHERE tenant_id = %s", (tenant_id,))
    found = cur.fetchone()
    if found is not None:
        return tenant_id, int(found[0])
    now = datetime.now(UTC).replace(tzinfo=None)
    ids = []
    for provider in ("mercadolibre", "siigo"):
        cur.execute(
            "INSERT INTO connection (tenant_id, provider, status, external_account_id, "
            "account_name, token_version, meta, created_at, updated_at) "
            "VALUES (%s, %s, 'active', %s, %s, 0, '{}', %s, %s)",
            (tenant_id, provider, f"{name}-{provider}", name.upper(), now, now),
        )
        ids.append(cur.lastrowid)
    cur.execute(
        "INSERT INTO integration (tenant_id, ml_connection_id, siigo_connection_id, settings, "
        "proposals, active, created_at, updated_at) VALUES (%s, %s, %s, '{}', '{}', 1, %s, %s)",
        (tenant_id, ids[0], ids[1], now, now),
    )
    return tenant_id, int(cur.lastrowid)


def load(cur: Any, tenant_id: int, integration_id: int, count: int, seed: int) -> None:
    cur.execute("SELECT COUNT(*) FROM sale WHERE tenant_id = %s", (tenant_id,))
    have = int(cur.fetchone()[0])
    if have >= count:
        print(f"tenant {tenant_id}: {have} sales already loaded")
        return
    rng = random.Random(seed + have)
    end = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(hours=1)
    start = end - timedelta(days=365)
    step = (end - start) / count
    started = time.monotonic()
    for first in range(have, count, BATCH):
        cur.connection.begin()
        sales: list[tuple[Any, ...]] = []
        meta: list[tuple[str, str, Decimal, datetime]] = []
        for i in range(first, min(first + BATCH, count)):
            when = start + step * i
            state = _pick_state(rng)
            order = str(2_000_000_000_000 + seed * 100_000_000 + i)
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
            ident = str(rng.randrange(10_000_000, 1_200_000_000))
            total = Decimal(rng.randrange(20_000, 900_000)).quantize(Decimal("1.00"))
            fee = (total * Decimal("0.13")).quantize(Decimal("0.01"))
            ship = Decimal(rng.choice([0, 0, 7_900, 12_400]))
            iva = (total * 19 / 119).quantize(Decimal("0.01"))
            credited = state == "credited"
            profit = (
                {
                    "total": str(total),
                    "aporte_mercadolibre": "0",
                    "comision": str(fee),
                    "envio_vendedor": str(ship),
                    "iva": str(iva),
                    "devuelto": str(total if credited else 0),
                    "neto": str(Decimal(0) if credited else total - fee - ship - iva),
                }
                if state in ("invoiced", "credited")
                else {}
            )
            statuses = ["cancelled"] if credited or state == "skipped" else ["paid"]
            facts = {
                "order_ids": [order],
                "statuses": statuses,
                "total_paid": str(total),
                "buyer": {"id_type": "CC", "identification": ident, "name": name},
                "lines": [{"sku": f"SKU-{rng.randrange(1, 4000):05d}", "quantity": "1"}],
            }
            attention = state in ("needs_attention", "dead")
            sales.append(
                (
                    tenant_id,
                    integration_id,
                    order,
                    json.dumps([order]),
                    state,
                    None if state in ("invoiced", "credited", "skipped", "dead") else when,
                    1,
                    total,
                    name,
                    ident,
                    when,
                    "product_missing" if attention else None,
                    "Falta el producto en Siigo Nube." if attention else None,
                    json.dumps(facts),
                    json.dumps(profit),
                    when + timedelta(minutes=2),
                    when + timedelta(minutes=5),
                )
            )
            meta.append((order, state, total, when))
        cur.executemany(
            f"INSERT INTO sale ({SALE_COLS}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            sales,
        )
        cur.execute(
            "SELECT id, external_id FROM sale WHERE integration_id = %s AND external_id IN %s",
            (integration_id, [m[0] for m in meta]),
        )
        ids = {ext: sid for sid, ext in cur.fetchall()}
        cur.executemany(
            "INSERT INTO sale_order (integration_id, order_id, sale_id) VALUES (%s, %s, %s)",
            [(integration_id, m[0], ids[m[0]]) for m in meta],
        )
        docs = []
        for order, state, total, when in meta:
            if state not in ("invoiced", "credited"):
                continue
            sid = ids[order]
            stamp = "Accepted" if rng.random() > 0.002 else "Rejected"
            docs.append(
                (
                    tenant_id,
                    sid,
                    "invoice",
                    1,
                    f"bb{sid}i",
                    "issued",
                    f"erp-{sid}",
                    f"FV-{seed}-{sid}",
                    total,
                    stamp,
                    when + timedelta(minutes=3),
                )
            )
            if state == "credited":
                docs.append(
                    (
                        tenant_id,
                        sid,
                        "credit_note",
                        1,
                        f"bb{sid}c",
                        "issued",
                        f"erpnc-{sid}",
                        f"NC-{seed}-{sid}",
                        total,
                        "Accepted",
                        when + timedelta(minutes=4),
                    )
                )
        cur.executemany(
            "INSERT INTO document (tenant_id, sale_id, kind, seq, idempotency_key, status, "
            "erp_id, number, total, stamp_status, stamp_errors, body, breakdown, created_at, "
            "updated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [(*d[:-1], "[]", "{}", "{}", d[-1], d[-1]) for d in docs],
        )
        cur.connection.commit()
        done = min(first + BATCH, count)
        rate = (done - have) / max(time.monotonic() - started, 0.001)
        if done % 50_000 < BATCH or done == count:
            print(f"tenant {tenant_id}: {done}/{count} sales ({rate:,.0f}/s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    args = parser.parse_args()
    migrate()
    conn = db_connect(DATABASE)
    with conn.cursor() as cur:
        small = ensure_tenant(cur, "pequeno", TENANTS["pequeno"])
        big = ensure_tenant(cur, "grande", TENANTS["grande"])
        load(cur, *small, args.small, seed=2)
        load(cur, *big, args.big, seed=1)
        cur.execute("ANALYZE TABLE sale, document, sale_order, sale_term")
        cur.fetchall()
    conn.close()


if __name__ == "__main__":
    main()
