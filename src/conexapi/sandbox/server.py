"""Run the sandbox: blocking (`run_sandbox`) or in a thread (`start_sandbox_in_thread`)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass

import uvicorn

from conexapi.sandbox.app import create_sandbox_app
from conexapi.sandbox.config import SandboxConfig
from conexapi.sandbox.state import SandboxState


def run_sandbox(
    host: str = "127.0.0.1", port: int = 8001, config: SandboxConfig | None = None
) -> None:
    app = create_sandbox_app(config)
    # The app sends its own `Date` (the simulated vendors' clock).
    uvicorn.run(app, host=host, port=port, log_level="info", date_header=False)


@dataclass
class RunningSandbox:
    base_url: str
    state: SandboxState
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def meli_auth_url(self) -> str:
        return f"{self.base_url}/mercadolibre-auth"

    @property
    def meli_api_url(self) -> str:
        return f"{self.base_url}/mercadolibre"

    @property
    def siigo_api_url(self) -> str:
        return f"{self.base_url}/siigo"

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox_in_thread(
    config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = 0
) -> RunningSandbox:
    """Start uvicorn on its own event loop in a daemon thread; port 0 picks a free port."""
    app = create_sandbox_app(config)
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    actual_port = sock.getsockname()[1]
    uv_config = uvicorn.Config(app, log_level="warning", lifespan="on", date_header=False)
    server = uvicorn.Server(uv_config)

    def _run() -> None:
        asyncio.run(server.serve(sockets=[sock]))
        sock.close()

    thread = threading.Thread(target=_run, name=f"sandbox-{actual_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start")
        time.sleep(0.01)
    return RunningSandbox(
        base_url=f"http://{host}:{actual_port}",
        state=app.state.sandbox,
        server=server,
        thread=thread,
    )
