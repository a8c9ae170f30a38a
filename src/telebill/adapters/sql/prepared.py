"""Statements of the charging path, compiled once per dialect and run on the driver's cursor.

SQLAlchemy Core spends more time preparing the execution of a small statement (parameter
processing, execution context, result proxy) than SQLite takes to run it, and the charging
path runs a dozen statements per request (bench/charging.py, docs/adr/0010). A `Prepared`
statement is compiled by SQLAlchemy once per dialect, keeps the column types' bind and result
processors (so exact decimals and UTC instants are converted exactly as everywhere else), and
then goes straight to the DBAPI cursor of the unit of work's connection, inside its
transaction. Driver errors are wrapped the way SQLAlchemy wraps them, so the unit of work
still turns lost races into RetryableConflict.

On PostgreSQL a unit of work may defer its writes (`defer_writes`): statements that return
nothing are queued and sent together, in one pipelined round trip with the COMMIT, or before
the next statement that reads (so every read still sees the transaction's own writes). Row
locks taken by those writes are then held for one round trip instead of several.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Connection, Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement

Processor = Callable[[Any], Any] | None
_DEFERRED = "telebill.deferred_writes"


@dataclass(slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    binds: tuple[Processor, ...]
    columns: list[Any]
    row: Callable[..., Any] | None
    # result processors depend on the driver's column type codes: built at the first execution
    results: tuple[Processor, ...] | None = None


class Prepared:
    """One statement, compiled lazily for each dialect it meets. Parameters are given by the
    names of its bind parameters (for an INSERT without explicit values: the column keys)."""

    __slots__ = ("_by_dialect", "_column_keys", "_statement")

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is None:
            found = self._by_dialect[dialect.name] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self._statement.compile(dialect=dialect, column_keys=self._column_keys))
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        columns = _result_columns(self._statement)
        # no renaming: a statement whose column keys are not valid field names fails here, at once
        row = namedtuple("Row", [c.key for c in columns]) if columns else None
        return _Compiled(compiled.string, names, positional, binds, columns, row)

    def _args(self, c: _Compiled, params: Mapping[str, Any]) -> Any:
        values = [p(params[n]) if p is not None else params[n] for n, p in zip(c.names, c.binds, strict=True)]
        return tuple(values) if c.positional else dict(zip(c.names, values, strict=True))

    def rows(self, conn: Connection, params: Mapping[str, Any], flush: bool = True) -> list[Any]:
        """Run the statement; its result rows as named tuples (none for a statement without).
        `flush=False`: a read that cannot depend on this transaction's queued writes."""
        c = self._compiled(conn.dialect)
        args = self._args(c, params)
        deferred = conn.info.get(_DEFERRED)
        if deferred is not None:
            if c.row is None:
                deferred.append((c.sql, args, False))
                return []
            if flush:
                flush_writes(conn)
        dbapi = conn.connection.dbapi_connection
        cursor = dbapi.cursor()  # type: ignore[union-attr]
        try:
            if deferred is not None and dbapi.info.transaction_status == _IDLE:  # type: ignore[union-attr]
                # the transaction's first statement: its BEGIN goes in the same round trip
                with dbapi.pipeline():  # type: ignore[union-attr]
                    cursor.execute(c.sql, args)
            else:
                cursor.execute(c.sql, args)
            raw = cursor.fetchall() if c.row is not None else []
            if raw and c.results is None:
                c.results = tuple(
                    col.type.dialect_impl(conn.dialect).result_processor(conn.dialect, d[1])
                    for col, d in zip(c.columns, cursor.description, strict=True)
                )
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()
        if not raw:
            return []
        make, procs = c.row, c.results
        assert make is not None
        assert procs is not None
        return [make(*(v if p is None else p(v) for p, v in zip(procs, r, strict=True))) for r in raw]

    def one_or_none(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        self.rows(conn, params)

    def run_many(self, conn: Connection, many: Sequence[Mapping[str, Any]]) -> None:
        c = self._compiled(conn.dialect)
        args = [self._args(c, p) for p in many]
        deferred = conn.info.get(_DEFERRED)
        if deferred is not None:
            deferred.append((c.sql, args, True))
            return
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(c.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()


_IDLE = 0  # psycopg's TransactionStatus.IDLE: no transaction open on the connection


def defer_writes(conn: Connection, enabled: bool) -> None:
    """Queue this connection's result-less prepared statements until a read or the commit
    (PostgreSQL with psycopg only: the queue is sent in pipeline mode)."""
    if enabled:
        conn.info[_DEFERRED] = []
    else:
        conn.info.pop(_DEFERRED, None)


def flush_writes(conn: Connection, commit: bool = False) -> None:
    """Send the queued writes (and the COMMIT, if asked) in one round trip."""
    queued = conn.info.get(_DEFERRED)
    if not queued and not commit:
        return
    statements = list(queued or ())
    if queued:
        queued.clear()
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    try:
        with dbapi.pipeline():
            cursor = dbapi.cursor()
            for sql, args, many in statements:
                if many:
                    cursor.executemany(sql, args)
                else:
                    cursor.execute(sql, args)
            if commit:
                dbapi.commit()
    except conn.dialect.loaded_dbapi.Error as exc:
        sql = statements[-1][0] if statements else "COMMIT"
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def flush_before_execute(conn: Connection, *_: Any) -> None:
    """Engine hook (`before_cursor_execute`): a statement run through SQLAlchemy, Core or
    driver SQL, first sends the queued writes."""
    if conn.info.get(_DEFERRED):
        flush_writes(conn)


def _result_columns(statement: ClauseElement) -> list[Any]:
    if isinstance(statement, Select):
        return list(statement.selected_columns)
    returning = getattr(statement, "_returning", ())
    return list(returning)
