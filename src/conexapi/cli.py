"""The `conexapi` command: migrate, users, serve, worker, sandbox, demo, backfill, keys, doctor."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer

from conexapi.settings import ConfigurationError, Settings, load_settings

app = typer.Typer(help="ConexAPI: MercadoLibre Colombia → Siigo Nube.", no_args_is_help=True)
users_app = typer.Typer(help="Manage users.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys for secrets at rest.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigurationError as exc:
        typer.secho(f"Configuration error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc


@app.command()
def migrate() -> None:
    """Upgrade the database to the latest schema."""
    from conexapi.migrations import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    typer.echo("Database is at the latest schema.")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="The user's e-mail (sign-in name).")],
    password: Annotated[str, typer.Option(help="At least 8 characters.")],
    tenant: Annotated[str, typer.Option(help="Tenant name; created if new.")],
    role: Annotated[str, typer.Option(help="owner, admin or viewer.")] = "owner",
) -> None:
    """Create a tenant (if new) and a user in it."""
    from conexapi.accounts.models import Role
    from conexapi.accounts.service import create_user
    from conexapi.core.errors import AppError
    from conexapi.db import create_engine, create_sessionmaker, transaction

    if len(password) < 8:
        typer.secho("The password needs at least 8 characters.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    settings = _settings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            async with transaction(create_sessionmaker(engine)) as session:
                user = await create_user(
                    session, email=email, password=password, tenant_name=tenant, role=Role(role)
                )
                typer.echo(f"Created {user.role} {user.email} in tenant {tenant!r}.")
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except AppError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from exc


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="API processes [CONEXAPI_SERVE_WORKERS, 1].")
    ] = None,
    max_requests: Annotated[
        int | None,
        typer.Option(
            help="Recycle a process after this many requests, 0 = never "
            "[CONEXAPI_SERVE_MAX_REQUESTS]."
        ),
    ] = None,
    max_requests_jitter: Annotated[
        int | None,
        typer.Option(
            help="Plus a random 0..N, so they do not all restart at once "
            "[CONEXAPI_SERVE_MAX_REQUESTS_JITTER]."
        ),
    ] = None,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Proxies trusted for X-Forwarded-For/Proto, comma-separated, * = any "
            "[CONEXAPI_FORWARDED_ALLOW_IPS, 127.0.0.1,::1]."
        ),
    ] = None,
) -> None:
    """Run the HTTP API (and dashboard): gunicorn with uvicorn workers; SIGTERM stops gracefully."""
    settings = _settings()
    try:
        from conexapi.server import ServeOptions, run_api_server
    except ImportError as exc:  # gunicorn runs on Linux and macOS only
        typer.secho(f"`conexapi serve` needs gunicorn: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from exc

    def pick(value: int | None, default: int) -> int:
        return default if value is None else value

    run_api_server(
        settings,
        ServeOptions(
            host=host,
            port=port,
            workers=pick(workers, settings.serve_workers),
            max_requests=pick(max_requests, settings.serve_max_requests),
            max_requests_jitter=pick(max_requests_jitter, settings.serve_max_requests_jitter),
            forwarded_allow_ips=forwarded_allow_ips or settings.forwarded_allow_ips,
            shutdown_timeout=settings.shutdown_timeout_seconds,
        ),
    )


@app.command()
def worker(
    concurrency: Annotated[int | None, typer.Option(help="Sales processed at once.")] = None,
    no_sweep: Annotated[
        bool,
        typer.Option("--no-sweep", help="Only process sales: no sweep, backfills or other upkeep."),
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            help="Serve this worker's Prometheus metrics on this port "
            "[CONEXAPI_WORKER_METRICS_PORT; off when unset]."
        ),
    ] = None,
) -> None:
    """Run the sync worker (with the sweep, backfills and token upkeep).

    SIGTERM: stop claiming, let the sales in progress finish (CONEXAPI_SHUTDOWN_TIMEOUT_SECONDS),
    release the rest (due again at once) and exit 0.
    """
    import signal

    from conexapi.core.heap import freeze_startup_heap
    from conexapi.core.logging import configure_logging
    from conexapi.core.loop import run_event_loop
    from conexapi.core.metrics import render
    from conexapi.core.metrics_server import MetricsServer
    from conexapi.runtime import Runtime
    from conexapi.security.rotation import reencrypt_legacy_secrets_at_start
    from conexapi.worker_process import build_worker

    settings = _settings()
    configure_logging(settings.log_level, json=settings.log_json)
    port = settings.worker_metrics_port if metrics_port is None else metrics_port

    async def run() -> None:
        metrics = None
        if port is not None:
            metrics = MetricsServer(
                host=settings.worker_metrics_host,
                port=port,
                render=render,
                token=settings.metrics_token,
            )
            try:
                await metrics.start()
            except OSError as exc:
                typer.secho(
                    f"Cannot serve metrics on {settings.worker_metrics_host}:{port}: {exc}",
                    fg=typer.colors.RED,
                    err=True,
                )
                raise typer.Exit(2) from exc
        runtime = Runtime.build(settings)
        await reencrypt_legacy_secrets_at_start(runtime)
        w = build_worker(runtime, concurrency=concurrency, upkeep=not no_sweep)
        freeze_startup_heap()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, w.stop)
        try:
            await w.run()
        finally:
            await runtime.aclose()
            if metrics is not None:
                await metrics.aclose()

    run_event_loop(run())


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8001,
    seed: Annotated[int, typer.Option(help="Seed of the generated sales.")] = 7,
    sales: Annotated[int, typer.Option(help="Sales the default seller starts with.")] = 20,
    notify_url: Annotated[
        str | None, typer.Option(help="Where MercadoLibre notifications are delivered.")
    ] = None,
    stream: Annotated[float | None, typer.Option(help="Create a new sale every N seconds.")] = None,
) -> None:
    """Run the MercadoLibre and Siigo simulators."""
    from conexapi.sandbox import SandboxConfig, run_sandbox

    config = SandboxConfig(
        seed=seed, initial_sales=sales, notify_url=notify_url, stream_interval_seconds=stream
    )
    base = f"http://{host}:{port}"
    typer.echo(f"Sandbox on {base}")
    typer.echo(f"  CONEXAPI_MELI_AUTH_URL={base}/mercadolibre-auth")
    typer.echo(f"  CONEXAPI_MELI_API_URL={base}/mercadolibre")
    typer.echo(f"  CONEXAPI_SIIGO_API_URL={base}/siigo")
    typer.echo("  MercadoLibre app: sandbox-app / sandbox-secret (application id 5503910054141466)")
    typer.echo("  Siigo: sandbox@conexapi.dev / sandbox")
    run_sandbox(host=host, port=port, config=config)


@app.command()
def backfill(
    integration: Annotated[int, typer.Option(help="Integration id.")],
    date_from: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, YYYY-MM-DD.")],
    resume: Annotated[int | None, typer.Option(help="Resume this backfill job id.")] = None,
) -> None:
    """Bring in every sale of a date range (resumable), with a progress bar."""
    from datetime import date

    from rich.progress import Progress
    from sqlalchemy import select

    from conexapi.integrations.models import Integration
    from conexapi.operations.schemas import BackfillRequest
    from conexapi.operations.service import start_backfill
    from conexapi.runtime import Runtime
    from conexapi.sync.backfill import run_backfill
    from conexapi.sync.models import Job

    settings = _settings()
    request = BackfillRequest(
        date_from=date.fromisoformat(date_from), date_to=date.fromisoformat(date_to)
    )

    async def run() -> None:
        runtime = Runtime.build(settings)
        try:
            async with runtime.sessions() as session:
                if resume is None:
                    tenant_id = (
                        await session.execute(
                            select(Integration.tenant_id).where(Integration.id == integration)
                        )
                    ).scalar_one()
                    job = await start_backfill(
                        session, tenant_id=tenant_id, integration_id=integration, request=request
                    )
                    job_id = job.id
                    await session.commit()
                else:
                    job_id = resume
            with Progress() as progress:
                task = progress.add_task("Backfill", total=None)
                while True:
                    await run_backfill(runtime, job_id, max_pages=1)
                    async with runtime.sessions() as session:
                        current = await session.get(Job, job_id)
                        assert current is not None
                        job = current
                        days = (request.date_to - request.date_from).days + 1
                        done_days = 0
                        if job.cursor.get("window"):
                            from datetime import datetime

                            done_days = (
                                datetime.fromisoformat(job.cursor["window"]).date()
                                - request.date_from
                            ).days
                        progress.update(
                            task,
                            total=days,
                            completed=min(done_days, days),
                            description=f"Backfill: {job.done} orders",
                        )
                        if job.state == "done":
                            break
            typer.echo(
                f"Backfill job {job_id} done: {job.done} orders queued; "
                "`conexapi worker` invoices them."
            )
        finally:
            await runtime.aclose()

    asyncio.run(run())


@app.command()
def demo(
    port: Annotated[int, typer.Option(help="Port of the API and dashboard.")] = 8000,
    sales: Annotated[int, typer.Option(help="Sales the demo seller starts with.")] = 12,
) -> None:
    """Everything at once on SQLite with the simulators, sales flowing."""
    from conexapi.demo import run_demo

    try:
        asyncio.run(run_demo(port=port, sales=sales))
    except KeyboardInterrupt:
        typer.echo("Demo stopped.")


@app.command()
def doctor(
    lang: Annotated[str, typer.Option(help="Language of the report: en or es.")] = "en",
    env_file: Annotated[
        Path | None, typer.Option(help="Read the settings from this file instead of .env.")
    ] = None,
) -> None:
    """Check the configuration, the connections and the Siigo catalogs; print each problem with
    its fix. Exit code 1 on any problem."""
    from conexapi.core.logging import configure_logging
    from conexapi.doctor import LANGUAGES, Finding, problems, run_checks
    from conexapi.runtime import Runtime

    if lang not in LANGUAGES:
        typer.secho(f"--lang must be one of {', '.join(LANGUAGES)}.", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)
    try:
        settings = load_settings(_env_file=env_file) if env_file else load_settings()
    except ConfigurationError as exc:
        typer.secho(f"[FAIL] Settings: {exc}", fg=typer.colors.RED)
        raise typer.Exit(1) from exc

    # The report is the output; each vendor call's log line would drown it (errors still show).
    configure_logging("ERROR", json=settings.log_json)

    async def run() -> list[Finding]:
        runtime = Runtime.build(settings)
        try:
            return await run_checks(runtime)
        finally:
            await runtime.aclose()

    findings = asyncio.run(run())
    for finding in findings:
        mark, color = ("[ ok ]", typer.colors.GREEN) if finding.ok else ("[FAIL]", typer.colors.RED)
        typer.secho(f"{mark} {finding.title(lang)}: {finding.message(lang)}", fg=color)
        if not finding.ok:
            label = "fix" if lang == "en" else "cómo corregirlo"
            typer.echo(f"       {label}: {finding.fix(lang)}")
    failed = problems(findings)
    summary = (
        f"{len(findings) - len(failed)} ok, {len(failed)} problem(s)."
        if lang == "en"
        else f"{len(findings) - len(failed)} correctas, {len(failed)} con problema."
    )
    typer.echo(summary)
    if failed:
        raise typer.Exit(1)


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key for CONEXAPI_ENCRYPTION_KEY."""
    from conexapi.security.encryption import SecretBox

    typer.echo(SecretBox.generate_key())


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every stored secret with the current CONEXAPI_ENCRYPTION_KEY.

    Put the new key in CONEXAPI_ENCRYPTION_KEY and the old ones in CONEXAPI_OLD_ENCRYPTION_KEYS,
    run this, then drop the old keys.
    """
    from conexapi.runtime import Runtime
    from conexapi.security.rotation import rotate_secrets

    settings = _settings()

    async def run() -> None:
        runtime = Runtime.build(settings)
        try:
            report = await rotate_secrets(runtime)
        finally:
            await runtime.aclose()
        typer.echo(f"Re-encrypted {report.rotated} secrets: {report.fields or 'none stored'}.")

    asyncio.run(run())


def main() -> None:
    app()
