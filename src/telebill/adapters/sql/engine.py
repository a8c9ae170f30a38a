"""Engines for the two supported databases, with the connection settings each needs.

SQLite is the embedded default: WAL journal, a busy timeout so a second writer waits
instead of failing, foreign keys switched on (SQLite leaves them off by default), and one
writer at a time. PostgreSQL runs READ COMMITTED with row locks where money moves; a
pooled connection is checked with a ping only when it has been idle for a while.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

from telebill.adapters.sql.prepared import flush_before_execute


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # psycopg prepares a query run five times, and a ROLLBACK after that deallocates every
    # prepared statement of the session, the charging path's own included (libpq_pipeline.py)
    args = {"prepare_threshold": None} if parsed.get_driver_name() == "psycopg" else {}
    engine = create_engine(url, connect_args=args)
    event.listen(engine, "before_cursor_execute", flush_before_execute)
    _ping_after_idle(engine)
    return engine


IDLE_BEFORE_PING_S: Final = 2.0
_RETURNED_AT = "telebill.returned_at"


def _ping_after_idle(engine: Engine) -> None:
    """Ping a pooled connection at checkout only if it sat unused for IDLE_BEFORE_PING_S.
    A ping at every checkout (`pool_pre_ping`) is a round trip per transaction, which on
    the charging path costs as much as a read. A connection lost while it was busy (a
    restart within that window) fails one transaction; SQLAlchemy then discards the whole
    pool, so the next ones connect afresh."""
    dialect = engine.dialect

    def fresh(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_RETURNED_AT, 0.0) < IDLE_BEFORE_PING_S:
            return
        try:
            dialect.do_ping(dbapi_conn)
        except dialect.loaded_dbapi.Error as exc:
            # the pool drops this connection and checks out another (a new one if need be)
            raise DisconnectionError(str(exc)) from exc

    event.listen(engine, "connect", fresh)
    event.listen(engine, "checkin", fresh)
    event.listen(engine, "checkout", checkout)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN (pysqlite would defer it to the first write).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    """Every transaction takes SQLite's write lock up front: a read-check-write (is there
    credit left?) then cannot interleave with another writer, and a second writer waits
    (busy timeout) instead of failing when it tries to upgrade its lock."""
    # on the driver's connection: SQLAlchemy's execution machinery costs more than the BEGIN
    conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE")  # type: ignore[union-attr]
