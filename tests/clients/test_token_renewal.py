"""A rotated token is never lost (issue 19): MercadoLibre answers a refresh while our database is
away, a process dies with the only copy of the new pair, a marker's owner is gone.

The database "goes away" for one runtime (one process) through `tests.outage`; the MercadoLibre
simulator enforces single-use refresh tokens and counts the refreshes it refused.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from conexapi.connections.models import Connection
from conexapi.connections.token_spool import SpooledTokens, TokenSpool
from conexapi.connections.token_state import TokenState
from conexapi.core.errors import AuthError, RenewalPendingError
from conexapi.core.processes import this_host
from conexapi.db import transaction, utcnow
from conexapi.erps.siigo.auth import SiigoTokenCache
from conexapi.marketplaces.mercadolibre.client import meli_client
from conexapi.marketplaces.mercadolibre.tokens import MeliTokenManager, meli_keeper
from conexapi.runtime import Runtime
from conexapi.sandbox import DEFAULT_SELLER_ID
from conexapi.settings import Settings
from conexapi.sync.upkeep import recover_spooled_tokens
from tests.clients.support import (
    connect_siigo,
    connected_meli,
    expire_soon,
    load_connection,
    second_runtime,
    state_of,
)
from tests.conftest import SignedIn
from tests.outage import DatabaseOutage, point_at, trip_on


def _token_calls(sandbox: FastAPI) -> dict[str, int]:
    return dict(state_of(sandbox).ml.token_calls)


def _current_refresh(sandbox: FastAPI) -> str | None:
    return state_of(sandbox).ml.grants[DEFAULT_SELLER_ID].current_refresh


def _spool(runtime: Runtime) -> list[str]:
    spool = runtime.settings.spool_dir
    return sorted(p.name for p in spool.glob("*.tok")) if spool.exists() else []


async def _eventually(check: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition never became true"
        await asyncio.sleep(0.05)


def _dead_pid() -> int:
    """The pid of a process that has exited (this machine does not reuse it this soon)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


async def _mark(runtime: Runtime, connection_id: int, owner: str, age: timedelta) -> None:
    """Another process's renewal marker, as it committed it `age` ago."""
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(Connection)
            .where(Connection.id == connection_id)
            .values(refresh_owner=owner, refresh_started_at=utcnow() - age)
        )


async def _assert_revoked(runtime: Runtime, cid: int) -> None:
    """The next call refreshes, MercadoLibre refuses, and the seller is asked to reconnect."""
    with pytest.raises(AuthError):
        await MeliTokenManager(runtime).access_token(cid)
    row = await load_connection(runtime, cid)
    assert row.status == "needs_reauth"
    assert "invalid_grant" in (row.last_error or "")
    assert row.refresh_owner is None


async def _die_with_a_spooled_pair(
    settings: Settings, sandbox: FastAPI, runtime: Runtime, cid: int
) -> str:
    """Another process refreshes; its database goes away before MercadoLibre answers; then the
    process stops (like a SIGKILL: its background writer never runs). Returns the token."""
    await expire_soon(runtime, cid)
    async for dying in second_runtime(settings, sandbox):
        outage = DatabaseOutage(dying.engine)
        await point_at(dying, trip_on(sandbox, outage, "POST", "/oauth/token"))
        token = await MeliTokenManager(dying).access_token(cid)
    return token


async def _rotate_away(runtime: Runtime, sandbox: FastAPI) -> None:
    """MercadoLibre rotates the refresh token we hold: the answer went to a process that
    stopped (its pair is somewhere we cannot see)."""
    state_of(sandbox).ml.refresh(_current_refresh(sandbox) or "")


async def test_pair_answered_while_database_is_away_is_used_then_stored(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid)
    before = await load_connection(runtime, cid)
    outage = DatabaseOutage(runtime.engine)
    await point_at(runtime, trip_on(sandbox, outage, "POST", "/oauth/token"))

    token = await MeliTokenManager(runtime).access_token(cid)
    # MercadoLibre rotated; our database was gone before it answered.
    assert outage.down
    assert outage.failed_statements > 0
    assert state_of(sandbox).ml.authenticate(token) == DEFAULT_SELLER_ID
    spooled = _spool(runtime)
    assert len(spooled) == 1
    raw = (runtime.settings.spool_dir / spooled[0]).read_bytes()
    assert token.encode() not in raw
    assert (_current_refresh(sandbox) or "").encode() not in raw
    assert (runtime.settings.spool_dir / spooled[0]).stat().st_mode & 0o777 == 0o600
    # Meanwhile this process keeps working with it, without the database.
    assert await MeliTokenManager(runtime).access_token(cid) == token
    assert (await meli_client(runtime, cid).get_me())["id"] == DEFAULT_SELLER_ID

    outage.end()

    async def stored() -> bool:
        return (await load_connection(runtime, cid)).token_version == before.token_version + 1

    await _eventually(stored)
    after = await load_connection(runtime, cid)
    assert runtime.secrets.decrypt(after.access_token_enc or "") == token
    assert runtime.secrets.decrypt(after.refresh_token_enc or "") == _current_refresh(sandbox)
    assert after.refresh_owner is None
    assert after.status == "active"
    assert _spool(runtime) == []
    assert _token_calls(sandbox).get("refresh_token") == 1
    assert "refresh_token_refused" not in _token_calls(sandbox)


async def test_process_that_died_with_the_only_copy_is_recovered_from_the_spool(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    token = await _die_with_a_spooled_pair(settings, sandbox, runtime, cid)
    assert len(_spool(runtime)) == 1
    row = await load_connection(runtime, cid)
    assert row.refresh_owner is not None  # its marker is still there

    # The restarted worker's upkeep (also run at start) stores what the spool holds.
    assert await recover_spooled_tokens(runtime) == 1
    assert await MeliTokenManager(runtime).access_token(cid) == token
    row = await load_connection(runtime, cid)
    assert row.refresh_owner is None
    assert row.status == "active"
    assert runtime.secrets.decrypt(row.refresh_token_enc or "") == _current_refresh(sandbox)
    assert _spool(runtime) == []
    assert _token_calls(sandbox).get("refresh_token") == 1  # MercadoLibre was not asked again
    assert (await meli_client(runtime, cid).get_me())["id"] == DEFAULT_SELLER_ID


async def test_marker_of_a_dead_process_is_resolved_from_the_spool_before_anyone_refreshes(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    token = await _die_with_a_spooled_pair(settings, sandbox, runtime, cid)
    # Its marker names a process of this machine that is no longer running.
    await _mark(runtime, cid, f"{this_host()}|{_dead_pid()}|0badc0de", timedelta(seconds=1))

    assert await MeliTokenManager(runtime).access_token(cid) == token
    assert _token_calls(sandbox).get("refresh_token") == 1
    row = await load_connection(runtime, cid)
    assert row.refresh_owner is None
    assert row.status == "active"


async def test_others_wait_on_a_live_marker_and_use_a_still_valid_token_meanwhile(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid, seconds=60)
    current = runtime.secrets.decrypt((await load_connection(runtime, cid)).access_token_enc or "")
    # A live process (another machine) is renewing right now.
    await _mark(runtime, cid, "other-machine|4242|cafe0001", timedelta(seconds=1))
    # Our token is inside the refresh margin but still valid: used, nobody refreshes.
    assert await MeliTokenManager(runtime).access_token(cid) == current
    assert "refresh_token" not in _token_calls(sandbox)


async def test_refusal_after_taking_over_a_lost_renewal_waits_instead_of_disconnecting(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid, seconds=-1)
    version = (await load_connection(runtime, cid)).token_version
    # A process on another machine renewed (MercadoLibre rotated) and stopped before storing:
    # the new pair is in that machine's spool.
    rotated = state_of(sandbox).ml.refresh(_current_refresh(sandbox) or "")
    await _mark(runtime, cid, "other-machine|4242|cafe0002", timedelta(minutes=5))

    with pytest.raises(RenewalPendingError):
        await MeliTokenManager(runtime).access_token(cid)
    row = await load_connection(runtime, cid)
    assert row.status == "active"  # not disconnected
    assert row.refresh_owner == "lost"
    assert _token_calls(sandbox).get("refresh_token_refused") == 1
    # While it waits, nobody tries the dead refresh token again.
    with pytest.raises(RenewalPendingError):
        await MeliTokenManager(runtime).access_token(cid)
    assert _token_calls(sandbox).get("refresh_token_refused") == 1

    # That machine's process is restarted and stores its pair (here: its spool file arrives).
    TokenSpool(runtime.settings.spool_dir, runtime.secrets, "other-machine-4242-cafe0002").write(
        SpooledTokens(
            vendor="mercadolibre",
            connection_id=cid,
            base_version=version,
            access_token=rotated["access_token"],
            refresh_token=rotated["refresh_token"],
            expires_in=rotated["expires_in"],
            obtained_at=utcnow(),
            extra={"scope": rotated["scope"], "user_id": rotated["user_id"]},
        )
    )
    assert await recover_spooled_tokens(runtime) == 1
    assert await MeliTokenManager(runtime).access_token(cid) == rotated["access_token"]
    row = await load_connection(runtime, cid)
    assert row.status == "active"
    assert row.refresh_owner is None


async def test_a_process_of_this_machine_killed_mid_refresh_leaves_nothing_to_wait_for(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    """Killed while MercadoLibre answered: the pair never reached it, and this machine's spool
    (where it would be) is empty. Nothing can bring it back: the seller is told at once."""
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid, seconds=-1)
    await _rotate_away(runtime, sandbox)
    await _mark(runtime, cid, f"{this_host()}|{_dead_pid()}|0badc0de", timedelta(seconds=2))
    await _assert_revoked(runtime, cid)


async def test_refusal_is_a_revocation_once_the_lost_renewal_never_came_back(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid, seconds=-1)
    await _rotate_away(runtime, sandbox)
    await _mark(runtime, cid, "other-machine|4242|cafe0003", timedelta(minutes=5))
    with pytest.raises(RenewalPendingError):
        await MeliTokenManager(runtime).access_token(cid)
    meli_keeper(runtime).lost_grace = 0  # the grace period is over
    await _assert_revoked(runtime, cid)


async def test_refusal_with_nothing_newer_known_is_a_revocation(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid)
    await _rotate_away(runtime, sandbox)  # no marker, no spool: the token is really gone
    await _assert_revoked(runtime, cid)


async def test_siigo_token_obtained_while_database_is_away_is_used_then_stored(
    client: httpx.AsyncClient, owner: SignedIn, sandbox: FastAPI, runtime: Runtime
) -> None:
    response = await connect_siigo(client, owner)
    assert response.status_code == 201, response.text
    cid = int(response.json()["id"])
    await expire_soon(runtime, cid)
    auth_calls = state_of(sandbox).siigo.default.auth_calls
    outage = DatabaseOutage(runtime.engine)
    await point_at(runtime, trip_on(sandbox, outage, "POST", "/siigo/auth"))

    token = await SiigoTokenCache(runtime).token(cid)
    assert outage.down
    assert await SiigoTokenCache(runtime).token(cid) == token  # used meanwhile
    outage.end()

    async def stored() -> bool:
        row = await load_connection(runtime, cid)
        return runtime.secrets.decrypt(row.access_token_enc or "") == token

    await _eventually(stored)
    assert state_of(sandbox).siigo.default.auth_calls == auth_calls + 1
    assert _spool(runtime) == []


def test_short_lived_tokens_are_renewed_at_a_third_of_their_life_not_every_call() -> None:
    now = utcnow()
    short = TokenState("t", now + timedelta(seconds=8), timedelta(seconds=10))
    assert short.fresh(now, timedelta(minutes=10))  # 8 s left of 10: fresh
    assert not short.fresh(now + timedelta(seconds=6), timedelta(minutes=10))  # 2 s left
    long = TokenState("t", now + timedelta(minutes=9), timedelta(hours=6))
    assert not long.fresh(now, timedelta(minutes=10))  # inside the 10 min margin


async def test_a_spool_that_cannot_be_written_does_not_stop_a_refresh(
    client: httpx.AsyncClient,
    owner: SignedIn,
    sandbox: FastAPI,
    runtime: Runtime,
    settings: Settings,
    tmp_path: Path,
) -> None:
    cid = await connected_meli(client, owner, sandbox)
    await expire_soon(runtime, cid)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    unwritable = settings.model_copy(update={"token_spool_dir": blocked})
    async for other in second_runtime(unwritable, sandbox):
        token = await MeliTokenManager(other).access_token(cid)
    row = await load_connection(runtime, cid)
    assert runtime.secrets.decrypt(row.access_token_enc or "") == token
    assert row.refresh_owner is None
