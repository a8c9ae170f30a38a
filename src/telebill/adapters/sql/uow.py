"""The SQL unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from telebill.adapters.sql import step_guard
from telebill.adapters.sql.account_repository import SqlAccountRepository
from telebill.adapters.sql.billing_repository import SqlBillingRepository
from telebill.adapters.sql.catalog_repository import SqlCatalogRepository
from telebill.adapters.sql.fx_repository import SqlFxRepository
from telebill.adapters.sql.ledger_repository import IdBlocks, SqlLedgerRepository
from telebill.adapters.sql.prepared import Read, defer_writes, deferring, flush_writes, prefetch
from telebill.domain.errors import RetryableConflict
from telebill.domain.ledger import Balance
from telebill.service.step_ports import GuardFailed, StepGuard, StepReads


class SqlUnitOfWork:
    """On SQLite, units of work of one process also queue on a lock of their own: SQLite's
    busy handler retries a locked database with growing sleeps, which turns contention
    between threads into second-long waits; a lock hands the database over in order. As
    they run one at a time, they also share one connection: checking a connection out of
    the pool and back in cost more than most charging steps' statements (ADR 10)."""

    catalog: SqlCatalogRepository
    accounts: SqlAccountRepository
    fx: SqlFxRepository
    ledger: SqlLedgerRepository
    billing: SqlBillingRepository

    def __init__(
        self,
        engine: Engine,
        writer_lock: threading.RLock | None = None,
        transfer_ids: IdBlocks | None = None,
        shared: SharedConnection | None = None,
    ) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._writer_lock = writer_lock
        self._transfer_ids = transfer_ids
        self._shared = shared
        self._broken = False  # a failed commit or rollback: the shared connection is not reused

    def __enter__(self) -> Self:
        if self._writer_lock is not None:
            self._writer_lock.acquire()
        try:
            self._conn = self._shared.get() if self._shared is not None else self._engine.connect()
            if self._shared is not None and self._conn.in_transaction():
                raise RuntimeError("a unit of work is already open on this thread")
            self._conn.begin()
        except BaseException:
            if self._conn is not None and self._shared is None:
                self._conn.close()
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
            if not self._conn.invalidated:  # its info would need a live connection
                defer_writes(self._conn, False)
            if self._conn.in_transaction():
                self._conn.rollback()
        except BaseException:
            self._broken = True
            raise
        finally:
            self._release()
        if isinstance(exc, DBAPIError):
            translated = _retryable(exc)
            if translated is not exc:
                raise translated from exc

    def _release(self) -> None:
        assert self._conn is not None
        try:
            if self._shared is None:
                self._conn.close()
            elif self._broken or self._conn.invalidated or _still_in_transaction(self._conn):
                # e.g. a COMMIT that failed (disk full, I/O error) leaves SQLite's transaction,
                # and its write lock, open: closing the driver's connection ends both
                if not self._conn.invalidated:
                    self._conn.invalidate()
                self._shared.discard()
        finally:
            self._conn = None
            if self._writer_lock is not None:
                self._writer_lock.release()

    def read_ahead(self, reads: StepReads) -> bool:
        """On a database server, the step's reads in one round trip (prepared.py); embedded,
        each read is a function call and runs when made. Reads without locks only where the
        guarded commit can be pipelined (step_guard.py)."""
        assert self._conn is not None
        if self._transfer_ids is None or not deferring(self._conn):
            return False
        if reads.unlocked:
            self.billing.locking = self.ledger.locking = False
        planned: list[Read] = [self.billing.call_read(reads.account_sid, reads.call_id, lock=True)]
        if reads.hold_of_call:
            planned.append(self.ledger.hold_of_call_read(reads.account_sid, reads.call_id))
        if reads.line_e164 is not None:
            planned.append(self.billing.line_read(reads.line_e164))
        if reads.blocks:
            planned.append(self.billing.blocks_read(reads.account_sid))
        planned.append(self.billing.settings_read(reads.account_sid, lock=True))
        if reads.ledger_account_id is not None:
            planned.append(self.ledger.lock_read([reads.ledger_account_id]))
        prefetch(self._conn, planned)
        return reads.unlocked

    def commit_guarded(self, guard: StepGuard) -> Balance:
        assert self._conn is not None
        assert not self.billing.locking
        revision = self.billing.revisions.get(guard.account_sid)
        if revision is None:  # the step never read the settings: its decisions did not use them
            raise RuntimeError("a guarded commit needs the account's settings read in the transaction")
        try:
            balance = step_guard.commit_guarded(self._conn, guard, revision)
            self._conn.commit()
        except DBAPIError as exc:
            self._broken = True
            raise _retryable(exc) from exc
        except GuardFailed:
            raise
        except BaseException:
            self._broken = True
            raise
        return balance

    def commit(self) -> None:
        assert self._conn is not None
        try:
            if self._transfer_ids is not None:
                flush_writes(self._conn, commit=True)
            self._conn.commit()
        except DBAPIError as exc:
            self._broken = True
            raise _retryable(exc) from exc
        except BaseException:
            self._broken = True
            raise


def _still_in_transaction(conn: Connection) -> bool:
    dbapi = conn.connection.dbapi_connection
    return conn.in_transaction() or bool(getattr(dbapi, "in_transaction", False))


def _retryable(exc: DBAPIError) -> Exception:
    """Races lost to a concurrent transaction become RetryableConflict (the service runs the
    use case again and sees the winner's result); anything else propagates unchanged."""
    if isinstance(exc, IntegrityError):
        return RetryableConflict(f"concurrent write: {exc.orig}")
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40001", "40P01"):  # serialization failure, deadlock detected
        return RetryableConflict(f"concurrent write: {exc.orig}")
    if code == "26000":  # the session's prepared statements were dropped: prepared again on the retry
        return RetryableConflict(f"prepared statement lost: {exc.orig}")
    return exc


class SharedConnection:
    """The one connection of the units of work of a process on SQLite, used under their lock."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None

    def get(self) -> Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._engine.connect()
        return self._conn

    def discard(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class SqlUnitOfWorkFactory:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        embedded = engine.dialect.name == "sqlite"
        self._writer_lock = threading.RLock() if embedded else None
        self._shared = SharedConnection(engine) if embedded else None
        # deferred writes and ids taken in blocks need psycopg 3 (pipeline mode) on PostgreSQL
        pipelined = engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
        self._transfer_ids = IdBlocks() if pipelined else None

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._writer_lock, self._transfer_ids, self._shared)

    def close(self) -> None:
        """Give back the shared connection (SQLite); the engine's pool can then be disposed."""
        if self._shared is not None and self._writer_lock is not None:
            with self._writer_lock:
                self._shared.discard()
