"""Database plumbing: the declarative Base, engines and sessions for SQLite and MariaDB/MySQL.

The same schema runs on both. MariaDB is the production database and also the work queue
(`SELECT ... FOR UPDATE SKIP LOCKED`); SQLite is the embedded default for the demo and tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from annotated_types import Interval
from sqlalchemy import JSON, DateTime, MetaData, event
from sqlalchemy.dialects import mysql
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from conexapi.sales.terms import sale_pairs_json, sale_terms_json

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Naive UTC now: both databases store DATETIME without zone; we always mean UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(value: datetime | None) -> datetime | None:
    """A stored (aware) UTC moment made naive, to compare with `utcnow()`; None stays None."""
    return value.replace(tzinfo=None) if value is not None else None


# The id columns are INT on MariaDB: an id outside 1..2^31-1 names nothing. As a path, query or
# body field type, a bigger one is a 422 (never a 500 from SQLite's 64-bit integers).
MAX_DB_ID = 2**31 - 1
DbId = Annotated[int, Interval(ge=1, le=MAX_DB_ID)]
# Dates a seller can mean (MercadoLibre Colombia sales); outside, 422 instead of a date that
# overflows once shifted between Colombia and UTC.
MIN_DATE = date(2000, 1, 1)
MAX_DATE = date(2100, 12, 31)
DbDate = Annotated[date, Interval(ge=MIN_DATE, le=MAX_DATE)]


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC datetimes; accepts aware or naive-UTC input."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        # MySQL/MariaDB DATETIME drops fractions of a second unless asked: leases need them.
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UTCDateTime}  # noqa: RUF012


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # What the `sale_term` triggers call (migration b7d4e9a2c615): a sale's search terms.
            dbapi_conn.create_function(
                "conexapi_sale_terms", 3, sale_terms_json, deterministic=True
            )
            # What the `sale_pair` triggers call (migration e8b3f5c1a274): its word pairs.
            dbapi_conn.create_function(
                "conexapi_sale_pairs", 2, sale_pairs_json, deterministic=True
            )

        return engine
    # READ COMMITTED: claims with SKIP LOCKED and short transactions, no gap-lock surprises.
    # Round trips are the worker's main cost, so none is spent on pool housekeeping: no ping at
    # each checkout (connections are recycled well before the server's idle timeout; one that a
    # database restart closed is recognised at checkout without a round trip, see
    # `_discard_closed_connection`), and no ROLLBACK when a connection goes back to the pool
    # (every Session and Connection already ends its transaction, by commit or rollback).
    engine = create_async_engine(
        url,
        echo=echo,
        pool_pre_ping=False,
        pool_reset_on_return=None,
        pool_recycle=1800,
        pool_size=10,
        max_overflow=20,
        isolation_level="READ COMMITTED",
        # A database host that does not answer at all fails a request in seconds, not minutes.
        connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS},
    )
    event.listen(engine.sync_engine, "checkout", _discard_closed_connection)
    return engine


CONNECT_TIMEOUT_SECONDS = 5


def _discard_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server closed (it restarted, failed over, or killed us) is
    replaced before use, so the first requests after a restart succeed.

    The check costs no round trip: when the server closes a connection, the event loop has
    already received its end of stream (or an unsolicited error packet) on the socket, and an
    idle connection never has anything to read. Raising `DisconnectionError` here makes the pool
    open a fresh connection in its place.
    """
    raw = getattr(dbapi_connection, "_connection", None)  # aiomysql's connection
    if raw is None:
        return
    reader = getattr(raw, "_reader", None)
    writer = getattr(raw, "_writer", None)
    if writer is None or reader is None:
        raise DisconnectionError("the pooled connection is closed")
    if writer.transport.is_closing() or getattr(reader, "_eof", False) or reader.at_eof():
        raise DisconnectionError("the server closed the pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One unit of work: commits on success, rolls back on any error."""
    async with sessions() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


async def insert_ignore(session: AsyncSession, model: type[Base], values: dict[str, Any]) -> bool:
    """INSERT that silently does nothing on a unique-key conflict; True when a row was added.

    One statement on both databases (no savepoint, no exception on the hot path).
    """
    result = await session.execute(_insert_ignore_stmt(session, model), values)
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def insert_many_ignore(
    session: AsyncSession | AsyncConnection, model: type[Base], rows: list[dict[str, Any]]
) -> None:
    """Multi-row INSERT that skips rows conflicting with a unique key.

    Executed as an executemany of one cached statement (SQLAlchemy sends it as multi-row
    INSERTs), so a batch of any size costs no new SQL compilation. Every row has the same keys.
    """
    if not rows:
        return
    await session.execute(_insert_ignore_stmt(session, model), rows)


async def upsert_many(
    session: AsyncSession,
    model: type[Base],
    rows: list[dict[str, Any]],
    *,
    key: list[str],
    update: list[str],
) -> None:
    """One multi-row INSERT; a row whose unique `key` exists gets its `update` columns
    overwritten instead (SQLite `ON CONFLICT DO UPDATE`, MariaDB `ON DUPLICATE KEY UPDATE`).

    `key` must be a unique constraint of the table (SQLite needs it spelled out). Sort the rows
    by it: concurrent upserts of the same keys then lock them in the same order.
    """
    if not rows:
        return
    table: Any = model.__table__
    stmt: Any
    if _dialect_name(session) == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=key, set_={c: stmt.excluded[c] for c in update}
        )
    else:
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        stmt = mysql_insert(table).values(rows)
        stmt = stmt.on_duplicate_key_update({c: stmt.inserted[c] for c in update})
    await session.execute(stmt)


_INSERT_IGNORE: dict[tuple[str, str], Any] = {}


def _dialect_name(executor: AsyncSession | AsyncConnection) -> str:
    if isinstance(executor, AsyncConnection):
        return str(executor.dialect.name)
    return str(executor.bind.dialect.name) if executor.bind is not None else ""


def _insert_ignore_stmt(session: AsyncSession | AsyncConnection, model: type[Base]) -> Any:
    """Built once per table and dialect (the same statement object also keeps its cache key)."""
    table: Any = model.__table__
    sqlite = _dialect_name(session) == "sqlite"
    key = (table.name, "sqlite" if sqlite else "mysql")
    stmt = _INSERT_IGNORE.get(key)
    if stmt is None:
        if sqlite:
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            stmt = sqlite_insert(table).on_conflict_do_nothing()
        else:
            from sqlalchemy.dialects.mysql import insert as mysql_insert

            stmt = mysql_insert(table).prefix_with("IGNORE")
        _INSERT_IGNORE[key] = stmt
    return stmt


def is_lock_conflict(exc: DBAPIError) -> bool:
    """MariaDB deadlock (1213) or lock wait timeout (1205), SQLite's busy database: a short
    transaction that hit one is safe to run again."""
    code = getattr(exc.orig, "args", [None])[0]
    return code in (1205, 1213) or "database is locked" in str(exc)


async def retry_on_lock_conflict(work: Callable[[], Awaitable[T]], *, attempts: int = 3) -> T:
    """Runs a short transaction again when it loses a deadlock; other errors pass through."""
    for attempt in range(attempts):
        try:
            return await work()
        except DBAPIError as exc:
            if attempt == attempts - 1 or not is_lock_conflict(exc):
                raise
    raise AssertionError("unreachable")


# MariaDB/MySQL error codes that mean "the database is not there right now", not "this
# statement is wrong": client-side 2002/2003/2005 (cannot connect), 2006/2013/2055 (connection
# lost), server-side 1040 (too many connections), 1053/1077 (shutting down), 1152/1158-1161
# (aborted or broken network transfer), 1927 (connection killed), 4031 (idle disconnect), and
# 1290/1836 (read-only: a failover has not finished promoting the new primary).
UNAVAILABLE_CODES = frozenset(
    {1040, 1053, 1077, 1152, 1158, 1159, 1160, 1161, 1290, 1836, 1927}
    | {2002, 2003, 2005, 2006, 2013, 2055, 4031}
)
_SQLITE_UNAVAILABLE = ("unable to open database", "disk i/o error")


def is_database_unavailable(exc: BaseException | None) -> bool:
    """True when `exc` (or what caused it) says the database did not answer: it is down,
    restarting or failing over. Such a failure is ours, not the work's: the work waits for the
    database and runs again, and nothing is counted against it."""
    for _ in range(5):
        if exc is None:
            return False
        if isinstance(exc, PoolTimeoutError | DisconnectionError | ConnectionError):
            return True
        if isinstance(exc, DBAPIError):
            if exc.connection_invalidated:
                return True
            code = getattr(exc.orig, "args", [None])[0] if exc.orig is not None else None
            if code in UNAVAILABLE_CODES:
                return True
            if type(exc.orig).__name__ == "InterfaceError":  # pymysql: not connected
                return True
            text = str(exc.orig).lower()
            return any(marker in text for marker in _SQLITE_UNAVAILABLE)
        exc = exc.__cause__
    return False
