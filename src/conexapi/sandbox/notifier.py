"""MercadoLibre notification delivery: POST to the callback, retries, then missed_feeds.

Delivery never blocks API handlers: each notification is an asyncio task on the sandbox loop.
Follows the ML contract: answer 200 within 500 ms or the attempt fails; up to 8 attempts, then
the message is only visible through /missed_feeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from conexapi.sandbox.clock import utc_z
from conexapi.sandbox.constants import SANDBOX_APPLICATION_ID

if TYPE_CHECKING:
    from conexapi.sandbox.state import SandboxState


# Topics ConexAPI does not use, with the shape of their resource.
OTHER_TOPICS: tuple[tuple[str, str], ...] = (
    ("messages", "{hex}"),
    ("questions", "/questions/{num}"),
    ("items", "/items/MCO{num}"),
)


class Notifier:
    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.transport: httpx.AsyncBaseTransport | None = None  # tests may deliver to ASGI
        self.delivered = 0
        self.failed_attempts = 0
        self.failed = 0  # exhausted every attempt -> missed_feeds
        self.dropped = 0
        self.duplicated = 0
        self.emitted = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._buffer: list[dict[str, Any]] = []
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str | None:
        return self.state.config.notify_url

    def counters(self) -> dict[str, int]:
        return {
            "emitted": self.emitted,
            "delivered": self.delivered,
            "failed_attempts": self.failed_attempts,
            "failed": self.failed,
            "dropped": self.dropped,
            "duplicated": self.duplicated,
            "pending": len(self._tasks) + len(self._buffer),
        }

    # ------------------------------------------------------------------ producing
    def emit(self, topic: str, resource: str, user_id: int) -> None:
        self._emit(topic, resource, user_id)
        if self.url and self.state.faults.other_topic_notification():
            # MercadoLibre also notifies topics the application subscribed to for other uses;
            # a `messages` resource is a bare id without a leading "/" (§2.3, §15).
            other, other_resource = OTHER_TOPICS[self.emitted % len(OTHER_TOPICS)]
            ref = uuid.uuid4()
            resource = other_resource.format(hex=ref.hex, num=ref.int % 10**10)
            self._emit(other, resource, user_id)

    def emit_other(self, topic: str, resource: str, user_id: int) -> None:
        """Any notification on demand (`POST /_sandbox/mercadolibre/notifications`)."""
        self._emit(topic, resource, user_id)

    def _emit(self, topic: str, resource: str, user_id: int) -> None:
        if not self.url:
            return
        self.emitted += 1
        if self.state.faults.drop_notification():
            # Lost like during ML's topic "fallback": not even stored in missed_feeds.
            self.dropped += 1
            return
        message = {
            "_id": str(uuid.uuid4()),
            "resource": resource,
            "user_id": user_id,
            "topic": topic,
            "application_id": SANDBOX_APPLICATION_ID,
            "attempts": 0,
            "sent": None,
            "received": utc_z(self.state.clock.now()),
        }
        copies = 1
        if self.state.faults.duplicate_notification():
            self.duplicated += 1
            copies = 2
        for _ in range(copies):
            self._schedule(dict(message))

    def _schedule(self, message: dict[str, Any]) -> None:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and self._loop.is_closed():
            self._loop = None
        if self._loop is not None and running is not self._loop:
            # Called from another thread (e.g. a test driving a threaded sandbox).
            self._loop.call_soon_threadsafe(self._spawn, message)
        elif running is not None:
            self._loop = running
            self._spawn(message)
        else:
            self._buffer.append(message)

    def _spawn(self, message: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        buffered, self._buffer = self._buffer, []
        for message in buffered:
            self._spawn(message)

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = None

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until every scheduled delivery finished (tests)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(list(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    # ------------------------------------------------------------------ delivery
    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self.transport)
        return self._client

    async def _deliver(self, message: dict[str, Any]) -> None:
        cfg = self.state.config
        url = self.url
        if url is None:
            return
        response_info: dict[str, Any] = {}
        for attempt in range(1, cfg.notification_max_attempts + 1):
            message["attempts"] = attempt
            message["sent"] = utc_z(self.state.clock.now())
            started = time.monotonic()
            try:
                # Enforced here too: transports like ASGI ignore httpx timeouts.
                async with asyncio.timeout(cfg.notification_timeout_seconds):
                    resp = await self._http().post(
                        url, json=message, timeout=cfg.notification_timeout_seconds
                    )
                if resp.status_code == 200:
                    self.delivered += 1
                    return
                response_info = {
                    "http_code": resp.status_code,
                    "body": resp.text[:1000],
                    "headers": dict(resp.headers),
                }
            except (httpx.HTTPError, TimeoutError) as exc:
                response_info = {"http_code": 0, "body": f"{type(exc).__name__}", "headers": {}}
            response_info["req_time"] = int((time.monotonic() - started) * 1000)
            self.failed_attempts += 1
            if attempt < cfg.notification_max_attempts:
                await asyncio.sleep(cfg.notification_retry_interval_seconds)
        self.failed += 1
        data = json.dumps(message)
        self.state.ml.add_missed(
            {
                **message,
                "request": {
                    "url": url,
                    "headers": {
                        "accept": "application/json",
                        "content-type": "application/json",
                        "content-length": len(data),
                    },
                    "data": data,
                },
                "response": response_info,
            }
        )
