"""The SQL unit of work: one connection, one transaction, rolled back unless committed."""

from __future__ import annotations

import threading
from dataclasses import replace
from types import TracebackType
from typing import Any, Self

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from telebill.adapters.sql import step_guard
from telebill.adapters.sql.account_repository import SqlAccountRepository
from telebill.adapters.sql.account_snapshots import AccountSnapshots, Snapshot
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
        snapshots: AccountSnapshots | None = None,
    ) -> None:
        self._engine = engine
        self._snapshots = snapshots
        self._conn: Connection | None = None
        self._writer_lock = writer_lock
        self._transfer_ids = transfer_ids
        self._shared = shared
        self._broken = False  # a failed commit or rollback: the shared connection is not reused
        self._new_call = False  # a step assumed its call new without reading it (read_ahead)

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
        self.billing = SqlBillingRepository(self._conn, self._snapshots)
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
        guarded commit can be pipelined (step_guard.py); such a step is answered from what
        earlier steps of the process read of the account where it can (account_snapshots.py).
        The settings are read before the line and the blocks, so that these are kept with a
        revision read before them."""
        assert self._conn is not None
        if self._transfer_ids is None or self._snapshots is None or not deferring(self._conn):
            return False
        sid, unlocked = reads.account_sid, reads.unlocked
        if unlocked:
            self.billing.locking = self.ledger.locking = False
        current = self._snapshots.get(sid)
        kept = current if unlocked else None
        settings = self.billing.settings_read(sid, lock=True)
        line = self.billing.line_read(reads.line_e164) if reads.line_e164 is not None else None
        blocks = self.billing.blocks_read(sid) if reads.blocks else None
        ledger_id = reads.ledger_account_id
        ledger = self.ledger.lock_read([ledger_id]) if ledger_id is not None else None
        call = self.billing.call_read(sid, reads.call_id, lock=True)
        planned: list[Read] = []
        known: list[tuple[Read, list[Any]]] = []
        if unlocked and reads.new_call:  # not read: the commit fails if it exists (commit_guarded)
            self._new_call = True
            known.append((call, []))
        else:
            planned.append(call)
        if reads.hold_of_call:
            planned.append(self.ledger.hold_of_call_read(sid, reads.call_id))

        def answer(read: Read | None, rows: list[Any] | None) -> None:
            if read is None:
                return
            if rows is None:
                planned.append(read)
            else:
                known.append((read, rows))

        if kept is not None:  # the guard checks the revision the kept rows belong to, even if
            # the step reads the settings again (a statement run outside the prepared path
            # drops what was read ahead)
            self.billing.revisions[sid] = kept.revision
        answer(settings, [kept.settings] if kept is not None else None)
        hit = kept.lines.get(reads.line_e164 or "") if kept is not None else None
        answer(line, [hit] if hit is not None else None)
        answer(blocks, kept.blocks if kept is not None else None)
        hit = kept.ledger.get(ledger_id or 0) if kept is not None else None
        answer(ledger, [hit] if hit is not None else None)
        fetched = prefetch(self._conn, planned, known)
        if fetched is not None:
            fetched_by_read = dict(zip(map(id, planned), fetched, strict=True))
            self._keep(sid, current, kept, fetched_by_read, settings, line, blocks, ledger)
        return unlocked

    def _keep(
        self,
        sid: str,
        started: Snapshot | None,
        kept: Snapshot | None,
        fetched: dict[int, list[Any]],
        settings: Read,
        line: Read | None,
        blocks: Read | None,
        ledger: Read | None,
    ) -> None:
        """Keep what this step read of its account for the next ones (account_snapshots.py),
        unless what was kept changed since the step began (a newer step's, or forgotten)."""
        assert self._snapshots is not None
        locked = self.billing.locking
        if id(settings) in fetched:
            rows = fetched[id(settings)]
            if not rows:  # no settings: nothing is kept (there is no revision to bump)
                self._snapshots.forget(sid)
                return
            revision = int(rows[0].revision)
            kept = kept if kept is not None and kept.revision == revision else Snapshot(revision, rows[0])
        if kept is None:
            return
        if line is not None and id(line) in fetched:
            rows = fetched[id(line)]
            if rows and rows[0].account_sid == sid:  # another account's line is read each time
                kept = replace(kept, lines={**kept.lines, rows[0].e164: rows[0]})
        if blocks is not None and id(blocks) in fetched:
            kept = replace(kept, blocks=fetched[id(blocks)])
        if locked:  # a step with locks changes the ledger rows: the next one reads them
            kept = replace(kept, ledger={})
        elif ledger is not None and id(ledger) in fetched and fetched[id(ledger)]:
            row = fetched[id(ledger)][0]
            kept = replace(kept, ledger={**kept.ledger, int(row.id): row})
        self._snapshots.keep(sid, kept, instead_of=started)

    def commit_guarded(self, guard: StepGuard) -> Balance:
        assert self._conn is not None
        assert not self.billing.locking
        revision = self.billing.revisions.get(guard.account_sid)
        if revision is None:  # the step never read the settings: its decisions did not use them
            raise RuntimeError("a guarded commit needs the account's settings read in the transaction")
        try:
            balance = step_guard.commit_guarded(self._conn, guard, revision)
            self._conn.commit()
        except IntegrityError as exc:
            self._broken = True
            if self._new_call:  # the call, or its first hold, exists: a repeated authorisation
                raise GuardFailed("the call was authorised already") from exc
            raise _retryable(exc) from exc
        except DBAPIError as exc:
            self._broken = True
            raise _retryable(exc) from exc
        except GuardFailed:
            if self._snapshots is not None:
                self._snapshots.forget(guard.account_sid)
            raise
        except BaseException:
            self._broken = True
            raise
        if self._snapshots is not None and guard.ledger_account_id is not None:
            left = {
                "debits_posted": balance.debits_posted,
                "credits_posted": balance.credits_posted,
                "debits_pending": balance.debits_pending,
                "credits_pending": balance.credits_pending,
            }
            self._snapshots.committed(guard.account_sid, revision, guard.ledger_account_id, left)
        return balance

    def _forget_changed(self) -> None:
        """Forget, once committed, the accounts this changed (forgotten already when changed:
        a step that began in between may have kept rows from before the change)."""
        if self._snapshots is not None:
            for sid in self.billing.changed:
                self._snapshots.forget(sid)

    def commit(self) -> None:
        assert self._conn is not None
        if self._new_call:  # only a guarded commit tells a repeated authorisation (commit_guarded)
            raise RuntimeError("a step that did not read its call commits with a guard")
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
        self._forget_changed()


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
        self.snapshots = AccountSnapshots() if pipelined else None

    def __call__(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, self._writer_lock, self._transfer_ids, self._shared, self.snapshots)

    def close(self) -> None:
        """Give back the shared connection (SQLite); the engine's pool can then be disposed."""
        if self._shared is not None and self._writer_lock is not None:
            with self._writer_lock:
                self._shared.discard()
