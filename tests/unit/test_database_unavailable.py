"""Telling "the database is away" (wait, retry, count nothing) from "this statement is wrong"."""

from __future__ import annotations

import sqlite3

import pymysql
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from conexapi.db import is_database_unavailable


def _mysql(code: int, message: str) -> OperationalError:
    return OperationalError("SELECT 1", {}, pymysql.err.OperationalError(code, message))


def test_server_gone_restarting_or_failing_over_is_an_outage() -> None:
    assert is_database_unavailable(_mysql(2003, "Can't connect to MySQL server on '127.0.0.1'"))
    assert is_database_unavailable(_mysql(2013, "Lost connection to server during query"))
    assert is_database_unavailable(_mysql(1053, "Server shutdown in progress"))
    assert is_database_unavailable(_mysql(1290, "The MariaDB server is running with --read-only"))
    assert is_database_unavailable(PoolTimeoutError("QueuePool limit reached"))
    assert is_database_unavailable(ConnectionResetError())


def test_an_outage_behind_another_error_is_still_an_outage() -> None:
    wrapped = RuntimeError("while storing the sale")
    wrapped.__cause__ = _mysql(2006, "MySQL server has gone away")
    assert is_database_unavailable(wrapped)


def test_errors_of_the_work_itself_are_not_an_outage() -> None:
    duplicate = IntegrityError("INSERT", {}, pymysql.err.IntegrityError(1062, "Duplicate entry"))
    assert not is_database_unavailable(duplicate)
    assert not is_database_unavailable(_mysql(1213, "Deadlock found"))  # run again at once
    assert not is_database_unavailable(_mysql(1205, "Lock wait timeout exceeded"))
    locked = OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))
    assert not is_database_unavailable(locked)
    assert not is_database_unavailable(ValueError("bad input"))
    assert not is_database_unavailable(None)
