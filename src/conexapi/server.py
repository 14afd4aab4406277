"""`conexapi serve`: the API under gunicorn's process manager, with uvicorn workers.

Gunicorn forks `--workers` processes; each builds its own app and `Runtime` (engine, HTTP
clients, intake batcher), so the webhook fast path and everything else run in every process. It
recycles a worker after `--max-requests` (plus a random jitter, so they do not all restart at
once), replaces a worker that dies, trusts `X-Forwarded-*` only from `--forwarded-allow-ips`,
and on SIGTERM stops accepting at once, lets each worker finish its requests in flight and run
its shutdown (the intake batch is committed), and kills what is left after the shutdown timeout.

The processes share their metrics through Prometheus' multi-process mode: `serve` points
`PROMETHEUS_MULTIPROC_DIR` at a fresh directory before any worker starts (prometheus_client reads
it when first imported), so `/metrics` on any of them counts for all.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from conexapi.settings import Settings

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


class ApiWorker(UvicornWorker):  # type: ignore[misc]
    """Uvicorn in a gunicorn worker: no websockets (the API has none), and a graceful shutdown
    that ends a little before gunicorn's own deadline so the app's shutdown (the intake flush)
    always runs."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto", "http": "auto", "ws": "none"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.config.timeout_graceful_shutdown = max(1, int(self.cfg.graceful_timeout) - 2)


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    workers: int
    max_requests: int
    max_requests_jitter: int
    forwarded_allow_ips: str
    shutdown_timeout: float


class ApiServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, settings: Settings, options: ServeOptions, metrics_dir: Path) -> None:
        self.settings = settings
        self.options = options
        self.metrics_dir = metrics_dir
        super().__init__()

    def load_config(self) -> None:
        o = self.options
        host = f"[{o.host}]" if ":" in o.host else o.host
        config: dict[str, Any] = {
            "bind": [f"{host}:{o.port}"],
            "workers": o.workers,
            "worker_class": f"{ApiWorker.__module__}.{ApiWorker.__qualname__}",
            "max_requests": o.max_requests,
            "max_requests_jitter": o.max_requests_jitter,
            "forwarded_allow_ips": o.forwarded_allow_ips,
            "graceful_timeout": math.ceil(o.shutdown_timeout),
            "proc_name": "conexapi-serve",
            "loglevel": "warning",
            "accesslog": None,
            "child_exit": self._child_exit,
            # Two `serve` on one machine must not fight over one control socket.
            "control_socket_disable": True,
        }
        if Path("/dev/shm").is_dir():  # heartbeat files off the (maybe slow) disk
            config["worker_tmp_dir"] = "/dev/shm"
        for key, value in config.items():
            if key in self.cfg.settings:  # older gunicorn releases lack the newest settings
                self.cfg.set(key, value)

    def load(self) -> Any:
        # Runs in each worker after the fork: its own app, runtime and connections.
        from conexapi.app import create_app

        return create_app(self.settings, multiprocess_metrics=self.metrics_dir)

    def _child_exit(self, _server: Any, worker: Any) -> None:
        """A worker left: its live gauges stop counting (its counters stay in the totals)."""
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(self.metrics_dir))  # type: ignore[no-untyped-call]


def run_api_server(settings: Settings, options: ServeOptions) -> None:
    """Runs until SIGTERM/SIGINT; returns (or exits) once every worker has stopped."""
    # A fresh directory per run (under TMPDIR): counts of a previous run are not this run's.
    metrics_dir = Path(tempfile.mkdtemp(prefix="conexapi-metrics-"))
    # Read by prometheus_client when the workers first import it, after the fork.
    os.environ[MULTIPROC_ENV] = str(metrics_dir)
    try:
        ApiServer(settings, options, metrics_dir).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
