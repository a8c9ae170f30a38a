"""The SQL unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from telebill.adapters.sql.account_repository import SqlAccountRepository
from telebill.adapters.sql.billing_repository import SqlBillingRepository
from telebill.adapters.sql.catalog_repository import SqlCatalogRepository
from telebill.adapters.sql.fx_repository import SqlFxRepository
from telebill.adapters.sql.ledger_repository import IdBlocks, SqlLedgerRepository
from telebill.adapters.sql.prepared import defer_writes, flush_writes
from telebill.domain.errors import RetryableConflict


class SqlUnitOfWork:
    """On SQLite, units of work of one process also queue on a lock of their own: SQLite's
    busy handler retries a locked database with growing sleeps, which turns contention
    between threads into second-long waits; a lock hands the database over in order."""

    catalog: SqlCatalogRepository
    accounts: SqlAccountRepository
    fx: SqlFxRepository
    ledger: SqlLedgerRepository
    billing: SqlBillingRepository

    def __init__(
        self, engine: Engine, writer_lock: threading.RLock | None = None, transfer_ids: IdBlocks | None = None
    ) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._writer_lock = writer_lock
        self._transfer_ids = transfer_ids

    def __enter__(self) -> Self:
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            self._conn = self._engine.connect()
            try:
                self._conn.begin()
            except BaseException:
                self._conn.close()
                raise
        except BaseException:
            self._conn = None
            if self._writer_lock is not None:
                self._writer_lock.release()
            raise
        # a database server: writes wait for the next read or the commit (prepared.py)
        defer_writes(self._conn, self._transfer_ids is not None)
        self.catalog = SqlCatalogRepository(self._conn)
        self.accounts = SqlAccountRepository(self._conn)
        self.fx = SqlFxRepository(self._conn)
        self.ledger = SqlLedgerRepository(self._conn, self._transfer_ids)
        self.billing = SqlBillingRepository(self._conn)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        try:
            defer_writes(self._conn, False)
            if self._conn.in_transaction():
                self._conn.rollback()
        finally:
            self._conn.close()
            self._conn = None
            if self._writer_lock is not None:
                self._writer_lock.release()
        if isinstance(exc, DBAPIError):
            translated = _retryable(exc)
            if translated is not exc:
                raise translated from exc

    def commit(self) -> None:
        assert self._conn is not None
        try:
            if self._transfer_ids is not None:
                flush_writes(self._conn, commit=True)
            self._conn.commit()
        except DBAPIError as exc:
            raise _retryable(exc) from exc


def _retryable(exc: DBAPIError) -> Exception:
    """Races lost to a concurrent transaction become RetryableConflict (the service runs the
    use case again and sees the winner's result); anything else propagates unchanged."""
    if isinstance(exc, IntegrityError):
        return RetryableConflict(f"concurrent write: {exc.orig}")
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40001", "40P01"):  # serialization failure, deadlock detected
        return RetryableConflict(f"concurrent write: {exc.orig}")
    return exc


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        embedded = engine.dialect.name == "sqlite"
        self._writer_lock = threading.RLock() if embedded else None
        # deferred writes and ids taken in blocks need psycopg 3 (pipeline mode) on PostgreSQL
        pipelined = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._transfer_ids = IdBlocks() if pipelined else None

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._writer_lock, self._transfer_ids)
