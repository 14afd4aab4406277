"""What a `conexapi worker` process runs: the sync worker and every periodic job.

The engine's upkeep (`sync.upkeep.ENGINE_JOBS`: re-authorized connections, sweeps, backfills,
tokens) plus the jobs of the packages built on the engine (alerts: find and deliver them;
reports: fold the state tallies, compute the changed days).
"""

from __future__ import annotations

from conexapi.alerts.delivery import deliver_pending_alerts
from conexapi.alerts.service import scan_for_alerts
from conexapi.reports.days import keep_report_days
from conexapi.runtime import Runtime
from conexapi.sync.upkeep import ENGINE_JOBS, UpkeepJob
from conexapi.sync.worker import Worker

UPKEEP_JOBS: tuple[UpkeepJob, ...] = (
    *ENGINE_JOBS,
    scan_for_alerts,
    deliver_pending_alerts,
    keep_report_days,
)


def build_worker(
    runtime: Runtime,
    *,
    concurrency: int | None = None,
    upkeep: bool = True,
    shutdown_timeout: float | None = None,
) -> Worker:
    """A worker with the whole upkeep (or none: `--no-sweep`, tests that drive it by hand)."""
    return Worker(
        runtime,
        concurrency=concurrency,
        upkeep=UPKEEP_JOBS if upkeep else (),
        shutdown_timeout=shutdown_timeout,
    )
