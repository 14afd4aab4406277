"""The sandbox over real HTTP in a background thread (what `conexapi demo` and tests use)."""

from __future__ import annotations

import httpx

from conexapi.sandbox import SandboxConfig, start_sandbox_in_thread


async def test_threaded_sandbox_over_http() -> None:
    running = start_sandbox_in_thread(SandboxConfig(initial_sales=3))
    try:
        assert running.meli_api_url == running.base_url + "/mercadolibre"
        assert running.siigo_api_url.endswith("/siigo")
        assert running.meli_auth_url.endswith("/mercadolibre-auth")
        async with httpx.AsyncClient(timeout=5) as client:
            state = (await client.get(f"{running.base_url}/_sandbox/state")).json()
            assert state["sales"] == 3
            auth = await client.post(
                f"{running.siigo_api_url}/auth",
                json={"username": "sandbox@conexapi.dev", "access_key": "sandbox"},
            )
            assert auth.status_code == 200
            consent = await client.get(
                f"{running.meli_auth_url}/authorization",
                params={
                    "response_type": "code",
                    "client_id": "sandbox-app",
                    "redirect_uri": "http://127.0.0.1:8000/cb",
                    "state": "s",
                },
            )
            assert consent.status_code == 302
        assert len(running.state.scenarios.sales) == 3
    finally:
        running.stop()
    assert not running.thread.is_alive()


async def test_stream_mode_creates_sales() -> None:
    import asyncio

    running = start_sandbox_in_thread(SandboxConfig(initial_sales=0))
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            resp = await client.post(
                f"{running.base_url}/_sandbox/stream", json={"interval_seconds": 0.05, "batch": 2}
            )
            assert resp.json()["running"] is True
            for _ in range(100):
                if len(running.state.scenarios.sales) >= 4:
                    break
                await asyncio.sleep(0.02)
            await client.delete(f"{running.base_url}/_sandbox/stream")
        assert len(running.state.scenarios.sales) >= 4
    finally:
        running.stop()
