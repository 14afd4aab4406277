"""The `conexapi` command: migrate, users, serve, worker, sandbox, demo, backfill, keys."""

from __future__ import annotations

import asyncio
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
    workers: Annotated[int, typer.Option(help="Uvicorn worker processes.")] = 1,
) -> None:
    """Run the HTTP API (and dashboard)."""
    import uvicorn

    _settings()
    uvicorn.run(
        "conexapi.app:create_app", factory=True, host=host, port=port, workers=workers,
        access_log=False, log_level="warning",
    )


@keys_app.command("generate")
def keys_generate() -> None:
    """Print a new Fernet key for CONEXAPI_ENCRYPTION_KEY."""
    from conexapi.security.encryption import SecretBox

    typer.echo(SecretBox.generate_key())


def main() -> None:
    app()
