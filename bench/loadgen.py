"""Open-loop HTTP/1.1 load generator on raw asyncio streams (loopback only, bounded).

Request i is *scheduled* at t0 + i/rate whatever happened to the previous ones; its latency is
measured from that scheduled time to the last byte of the response, so a stalled server is charged
for the requests that queued behind the stall (no coordinated omission). Connections are
keep-alive; a request takes an idle connection or opens a new one (up to `max_connections`; past
that it waits, and the wait counts in its latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import percentile


@dataclass
class LoadResult:
    offered_rate: float
    duration: float
    timeout: float = 10.0
    sent: int = 0
    ok: int = 0
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    connections: int = 0
    timeouts: int = 0

    def summary(self) -> dict[str, Any]:
        lat = self.latencies_ms
        return {
            "offered_rate": self.offered_rate,
            "duration_s": self.duration,
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "statuses": self.statuses,
            # answered requests per second over the run (sending window + the tail)
            "achieved_rate": round(self.ok / self.elapsed, 1) if self.elapsed else 0.0,
            "p50_ms": round(percentile(lat, 50), 2),
            "p90_ms": round(percentile(lat, 90), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "p999_ms": round(percentile(lat, 99.9), 2),
            "max_ms": round(max(lat), 2) if lat else None,
            "connections_opened": self.connections,
            "timeouts": self.timeouts,
            "timeout_s": self.timeout,
        }


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def request(self, raw: bytes) -> int:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        length = 0
        chunked = False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            lname = name.strip().lower()
            if lname == b"content-length":
                length = int(value.strip())
            elif lname == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length:
            await self.reader.readexactly(length)
        return status

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


def build_request(host: str, port: int, path: str, body: bytes) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
    ).encode() + body


async def open_loop(
    host: str,
    port: int,
    path: str,
    body_for: Callable[[int], bytes],
    *,
    rate: float,
    duration: float,
    max_connections: int = 256,
    timeout: float = 10.0,
) -> LoadResult:
    """Offers `rate` requests/s for `duration` seconds; returns latencies from scheduled times."""
    result = LoadResult(offered_rate=rate, duration=duration, timeout=timeout)
    total = int(rate * duration)
    requests = [build_request(host, port, path, body_for(i)) for i in range(total)]
    idle: list[tuple[_Conn, float]] = []
    slots = asyncio.Semaphore(max_connections)
    tasks: list[asyncio.Task[None]] = []

    async def attempt(i: int) -> int:
        async with slots:
            while idle:
                conn, last_used = idle.pop()
                if time.perf_counter() - last_used < 2.0:  # the server drops idle ones at 5 s
                    break
                conn.close()
            else:
                reader, writer = await asyncio.open_connection(host, port)
                conn = _Conn(reader, writer)
                result.connections += 1
            try:
                status = await conn.request(requests[i])
            except BaseException:
                conn.close()
                raise
            idle.append((conn, time.perf_counter()))
            return status

    async def one(i: int, scheduled: float) -> None:
        try:
            status = await asyncio.wait_for(attempt(i), timeout)
        except TimeoutError:
            # Censored: still waiting `timeout` seconds after its scheduled time.
            result.errors += 1
            result.timeouts += 1
            result.latencies_ms.append(timeout * 1000)
            return
        except (OSError, asyncio.IncompleteReadError, ValueError):
            result.errors += 1
            return
        done = time.perf_counter()
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            result.ok += 1
        else:
            result.errors += 1
        result.latencies_ms.append((done - scheduled) * 1000)

    start = time.perf_counter() + 0.05
    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
        result.sent += 1
    await asyncio.gather(*tasks)
    result.elapsed = time.perf_counter() - start
    for conn, _ in idle:
        conn.close()
    return result


def run_open_loop(*args: Any, **kwargs: Any) -> LoadResult:
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        factory = None
    started = time.monotonic()
    with asyncio.Runner(loop_factory=factory) as runner:
        res = runner.run(open_loop(*args, **kwargs))
    res.elapsed = min(res.elapsed, time.monotonic() - started)
    return res
