"""The small HTTP endpoint a `conexapi worker` serves its metrics on (`--metrics-port`).

`GET /metrics` (Prometheus text; `Authorization: Bearer <CONEXAPI_METRICS_TOKEN>` when that
setting is set, as on the API) and `GET /healthz`. It runs on the worker's own event loop, one
request per connection, parsed by h11 (the HTTP/1.1 parser uvicorn and httpcore use), with a
short deadline per connection so a slow or silent client cannot hold it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import h11
import structlog
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import SecretStr

from conexapi.core.metrics import metrics_authorized

log = structlog.get_logger("conexapi.metrics")

CONNECTION_DEADLINE_SECONDS = 10.0
MAX_REQUEST_BYTES = 16_384


class MetricsServer:
    def __init__(
        self, *, host: str, port: int, render: Callable[[], bytes], token: SecretStr | None
    ) -> None:
        self.host = host
        self.port = port
        self.render = render
        self.token = token
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        """Binds the port (raises OSError when it is taken) and starts answering."""
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        if self.port == 0:  # an ephemeral port (tests): tell which
            self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("metrics.listening", host=self.host, port=self.port)

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_REQUEST_BYTES)
        try:
            async with asyncio.timeout(CONNECTION_DEADLINE_SECONDS):
                request = await _read_request(conn, reader)
                if request is not None:
                    status, content_type, body, extra = self._answer(request)
                    headers = [
                        ("content-type", content_type),
                        ("content-length", str(len(body))),
                        ("connection", "close"),
                        *extra,
                    ]
                    data = conn.send(h11.Response(status_code=status, headers=headers))
                    if request.method != b"HEAD":
                        data = (data or b"") + (conn.send(h11.Data(data=body)) or b"")
                    data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
                    writer.write(data)
                    await writer.drain()
        except (TimeoutError, ConnectionError, h11.ProtocolError):
            pass  # a client that goes away or speaks nonsense gets nothing more
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    def _answer(self, request: h11.Request) -> tuple[int, str, bytes, list[tuple[str, str]]]:
        path = request.target.split(b"?", 1)[0]
        if request.method not in (b"GET", b"HEAD"):
            return 405, "text/plain", b"Method not allowed\n", [("allow", "GET, HEAD")]
        if path == b"/healthz":
            return 200, "application/json", b'{"status":"ok"}', []
        if path != b"/metrics":
            return 404, "text/plain", b"Not found\n", []
        authorization = next(
            (v.decode("latin-1") for k, v in request.headers if k == b"authorization"), None
        )
        if not metrics_authorized(self.token, authorization):
            return 401, "text/plain", b"Unauthorized\n", [("www-authenticate", "Bearer")]
        return 200, CONTENT_TYPE_LATEST, self.render(), []


async def _read_request(conn: h11.Connection, reader: asyncio.StreamReader) -> h11.Request | None:
    request: h11.Request | None = None
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(4096)
            conn.receive_data(data)  # b"" = the client closed: h11 reports it next
            continue
        if isinstance(event, h11.Request):
            request = event
        elif isinstance(event, h11.EndOfMessage):
            return request
        elif isinstance(event, h11.ConnectionClosed):
            return None
