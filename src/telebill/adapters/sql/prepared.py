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
nothing are queued and sent together, in one pipelined round trip with the COMMIT, or with
the next statement that reads (so every read still sees the transaction's own writes). The
round trips go straight to libpq's pipeline mode (libpq_pipeline.py), not through psycopg's
cursors. Row
locks taken by those writes are then held for one round trip instead of several. Queued
writes to distinct tables go as one statement (data-modifying WITH clauses), since the
driver's cost per statement outweighs the server's cost of running a small write.

A step that knows which rows it is about to read can fetch them ahead (`prefetch`): the reads
go in one pipelined round trip, in the order given (so row locks are taken in that order), and
the rows are kept for the first identical read of the transaction, until its first write.
"""

from __future__ import annotations

import re
from collections import namedtuple
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any, cast

from sqlalchemy import Connection, Select, TableClause
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.sql.util import find_tables

from telebill.adapters.sql import libpq_pipeline
from telebill.adapters.sql.libpq_pipeline import Statement

Processor = Callable[[Any], Any] | None
_DEFERRED = "telebill.deferred_writes"
_PREFETCHED = "telebill.prefetched_reads"


@dataclass(slots=True)
class _Compiled:
    sql: str
    names: tuple[str, ...]
    positional: bool
    binds: tuple[Processor, ...]
    columns: list[Any]
    row: Callable[..., Any] | None
    table: str | None  # the table an INSERT, UPDATE or DELETE writes
    cursor: Callable[[Any], Any] | None  # a cursor class for the driver's connection, if not its default
    combinable: bool  # may be a part of a combined write (see _combined)
    # the columns with a result processor, by position, with it; processors depend on the
    # driver's column type codes: found at the first execution
    results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None


class Prepared:
    """One statement, compiled lazily for each dialect it meets. Parameters are given by the
    names of its bind parameters (for an INSERT without explicit values: the column keys)."""

    __slots__ = ("_by_dialect", "_column_keys", "_statement")

    def __init__(self, statement: ClauseElement, column_keys: Sequence[str] | None = None) -> None:
        self._statement = statement
        self._column_keys = list(column_keys) if column_keys is not None else None
        self._by_dialect: dict[tuple[str, str], _Compiled] = {}

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get((dialect.name, dialect.driver))
        if found is None:
            found = self._by_dialect[(dialect.name, dialect.driver)] = self._compile(dialect)
        return found

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = cast(SQLCompiler, self._statement.compile(dialect=dialect, column_keys=self._column_keys))
        positional = bool(compiled.positional)
        names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
        binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
        columns = _result_columns(self._statement)
        # no renaming: a statement whose column keys are not valid field names fails here, at once
        row = namedtuple("Row", [c.key for c in columns]) if columns else None
        target = getattr(self._statement, "table", None)
        table = target.name if isinstance(target, TableClause) else None
        sql, cursor = compiled.string, None
        if dialect.driver == "psycopg" and not positional:
            sql, names = _numbered(sql, names)
            positional = True
            binds = tuple(compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names)
            from psycopg import RawCursor  # the driver is there: the dialect loaded it

            cursor = RawCursor
        combinable = table is not None and _reads_only_its_table(self._statement, sql)
        return _Compiled(sql, names, positional, binds, columns, row, table, cursor, combinable)

    def _args(self, c: _Compiled, params: Mapping[str, Any]) -> Any:
        values = [p(params[n]) if p is not None else params[n] for n, p in zip(c.names, c.binds, strict=True)]
        return tuple(values) if c.positional else dict(zip(c.names, values, strict=True))

    def rows(self, conn: Connection, params: Mapping[str, Any], flush: bool = True) -> list[Any]:
        """Run the statement; its result rows as named tuples (none for a statement without).
        `flush=False`: a read that cannot depend on this transaction's queued writes."""
        c = self._compiled(conn.dialect)
        args = self._args(c, params)
        info = conn.info  # a property reached through the pool's records: read once
        deferred = info.get(_DEFERRED)
        if deferred is not None:
            if c.table is not None:  # a write: what was read ahead may be stale from now on
                info.pop(_PREFETCHED, None)
            if c.row is None:
                deferred.append((c, args, False))
                return []
            prefetched = info.get(_PREFETCHED)
            if prefetched:
                hit: list[Any] | None = prefetched.pop(_key(c, args), None)
                if hit is not None:
                    return hit
            # the queued writes (unless told they cannot matter) and this read in one round trip,
            # with the transaction's BEGIN if it is the first
            statements = [] if not flush else [Statement(sql, a, many) for _, sql, a, many in _combined(deferred)]
            if flush:
                deferred.clear()
            statements.append(Statement(c.sql, args, rows=True))
            found = _pipelined(conn, statements)[-1]
            return _materialized(c, conn.dialect, found.types, found.rows) if found else []
        dbapi = conn.connection.dbapi_connection
        cursor = _cursor(c, dbapi)
        try:
            cursor.execute(c.sql, args)
            raw = cursor.fetchall() if c.row is not None else []
            return _materialized(c, conn.dialect, [d[1] for d in cursor.description or ()], raw)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()

    def one_or_none(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        found = self.rows(conn, params)
        return found[0] if found else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> None:
        self.rows(conn, params)

    def run_many(self, conn: Connection, many: Sequence[Mapping[str, Any]], instead: Any = None) -> Any:
        """Run the statement once for each of `many`. Queued (deferred writes), the queue entry
        is returned: given back as `instead` while it is still queued, the new parameters
        replace its own, where it stands in the queue (a batch grown until it is sent)."""
        c = self._compiled(conn.dialect)
        args = [self._args(c, p) for p in many]
        info = conn.info
        deferred = info.get(_DEFERRED)
        if deferred is not None:
            info.pop(_PREFETCHED, None)
            if instead is not None and instead[0] is c and queued(conn, instead):
                instead[1][:] = args
                return instead
            entry = (c, args, True)
            deferred.append(entry)
            return entry
        cursor = _cursor(c, conn.connection.dbapi_connection)
        try:
            cursor.executemany(c.sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(c.sql, args, exc, conn.dialect.loaded_dbapi.Error) from exc
        finally:
            cursor.close()


def _reads_only_its_table(statement: ClauseElement, sql: str) -> bool:
    """A write whose SQL names no table but its own (no other table in a FROM list, subquery
    or WITH clause)."""
    if sql.lstrip().upper().startswith("WITH"):
        return False
    own = getattr(statement, "table", None)
    named = find_tables(
        statement, check_columns=True, include_aliases=True, include_joins=True, include_selects=True, include_crud=True
    )
    return isinstance(own, TableClause) and all(t is own for t in named)


def _cursor(c: _Compiled, dbapi: Any) -> Any:
    return dbapi.cursor() if c.cursor is None else c.cursor(dbapi)


def _numbered(sql: str, names: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    """Named placeholders (%(name)s) as PostgreSQL's own ($1, $2, ...), and the names in
    their order. psycopg's raw cursor then sends the text as it is: its usual cursor parses
    the text at every execution, and longer statements (the combined writes below) miss the
    cache of parsed texts it keeps."""
    order: dict[str, int] = {}

    def number(m: re.Match[str]) -> str:
        return f"${order.setdefault(m.group(1), len(order) + 1)}"

    numbered = _PLACEHOLDER.sub(number, sql).replace("%%", "%")
    assert set(order) <= set(names), "a placeholder that is not a bind parameter"
    return numbered, tuple(order)


def _materialized(c: _Compiled, dialect: Dialect, types: Sequence[Any], raw: Sequence[Any]) -> list[Any]:
    """Rows as named tuples, each value through its column type's result processor (`types`:
    the driver's type codes of the columns)."""
    if not raw:
        return []
    if c.results is None:
        processors = [
            col.type.dialect_impl(dialect).result_processor(dialect, code)
            for col, code in zip(c.columns, types, strict=True)
        ]
        c.results = tuple((i, p) for i, p in enumerate(processors) if p is not None)
    make, converted = c.row, c.results
    assert make is not None
    if not converted:
        return [make(*r) for r in raw]
    rows = []
    for r in raw:
        if len(r) != len(c.columns):
            raise ValueError(f"{len(r)} columns where the statement has {len(c.columns)}")
        values = list(r)
        for i, p in converted:
            values[i] = p(values[i])
        rows.append(make(*values))
    return rows


def _key(c: _Compiled, args: Any) -> Hashable:
    return (id(c), tuple(args.values()) if isinstance(args, dict) else tuple(args))


@dataclass(frozen=True, slots=True)
class Read:
    """A read to make ahead. `answers`: the same rows also answer another read, named from
    them (a call's hold, read by joining the call, answers the read of that hold by its id)."""

    statement: Prepared
    params: Mapping[str, Any]
    answers: Callable[[list[Any]], tuple[Prepared, Mapping[str, Any]] | None] | None = None

    def rows(self, conn: Connection) -> list[Any]:
        return self.statement.rows(conn, self.params)

    def one_or_none(self, conn: Connection) -> Any:
        return self.statement.one_or_none(conn, self.params)


def prefetch(
    conn: Connection, reads: Sequence[Read], known: Sequence[tuple[Read, list[Any]]] = ()
) -> list[list[Any]] | None:
    """Make these reads now, in one round trip and in this order, and keep their rows for the
    transaction's first identical reads; the rows of each read. Only with deferred writes (a
    database server), and only before the transaction has written anything; elsewhere each
    read runs when made (None). `known`: reads answered without asking, by rows the caller
    kept from an earlier transaction (account_snapshots.py)."""
    deferred = conn.info.get(_DEFERRED)
    if deferred is None or deferred or not (reads or known):
        return None
    dialect = conn.dialect
    planned = [(r, r.statement._compiled(dialect)) for r in reads]
    planned_args = [r.statement._args(c, r.params) for r, c in planned]
    statements = [Statement(c.sql, args, rows=True) for (_, c), args in zip(planned, planned_args, strict=True)]
    kept, rows = _kept(dialect, planned, planned_args, _pipelined(conn, statements) if statements else [])
    for r, found in known:
        c = r.statement._compiled(dialect)
        kept.setdefault(_key(c, r.statement._args(c, r.params)), found)
    conn.info[_PREFETCHED] = kept
    return rows


def _kept(
    dialect: Dialect,
    planned: list[tuple[Read, _Compiled]],
    planned_args: list[Any],
    fetched: Sequence[libpq_pipeline.Rows | None],
) -> tuple[dict[Hashable, list[Any]], list[list[Any]]]:
    """The rows read ahead, by the reads they answer; and in the order read."""
    kept: dict[Hashable, list[Any]] = {}
    in_order: list[list[Any]] = []
    for (r, c), args, got in zip(planned, planned_args, fetched, strict=True):
        rows = _materialized(c, dialect, got.types, got.rows) if got is not None else []
        in_order.append(rows)
        kept[_key(c, args)] = rows
        other = r.answers(rows) if r.answers is not None else None
        if other is not None:
            oc = other[0]._compiled(dialect)
            kept[_key(oc, other[0]._args(oc, other[1]))] = rows
    return kept, in_order


def defer_writes(conn: Connection, enabled: bool) -> None:
    """Queue this connection's result-less prepared statements until a read or the commit
    (PostgreSQL with psycopg only: the queue is sent in libpq's pipeline mode; elsewhere
    each statement runs when made)."""
    conn.info.pop(_PREFETCHED, None)
    if enabled and libpq_pipeline.usable(conn.connection.dbapi_connection):
        conn.info[_DEFERRED] = []
    else:
        conn.info.pop(_DEFERRED, None)


def queued(conn: Connection, entry: Any) -> bool:
    """Whether a queue entry `run_many` returned is still waiting to be sent."""
    return entry is not None and any(e is entry for e in conn.info.get(_DEFERRED) or ())


def deferring(conn: Connection) -> bool:
    """Whether this connection's writes are queued (defer_writes took effect)."""
    return conn.info.get(_DEFERRED) is not None


def _pipelined(conn: Connection, statements: list[Statement], commit: bool = False) -> list[libpq_pipeline.Rows | None]:
    dbapi = conn.connection.dbapi_connection
    try:
        return libpq_pipeline.run(dbapi, statements, commit)
    except conn.dialect.loaded_dbapi.Error as exc:
        sql = statements[-1].sql if statements else "COMMIT"
        raise DBAPIError.instance(sql, None, exc, conn.dialect.loaded_dbapi.Error) from exc


def flush_writes(conn: Connection, commit: bool = False, then: Read | None = None) -> list[Any]:
    """Send the queued writes, then the read `then` (if given), then the COMMIT (if asked), in
    one round trip; the rows of `then`. A read that fails aborts the transaction, so a read
    that raises on a condition makes the commit conditional (step_guard.py)."""
    queued = conn.info.get(_DEFERRED)
    if not queued and not commit and then is None:
        return []
    statements = [Statement(sql, args, many) for _, sql, args, many in _combined(list(queued or ()))]
    if queued:
        queued.clear()
    if then is None:
        _pipelined(conn, statements, commit)
        return []
    c = then.statement._compiled(conn.dialect)
    statements.append(Statement(c.sql, then.statement._args(c, then.params), rows=True))
    found = _pipelined(conn, statements, commit)[-1]
    return _materialized(c, conn.dialect, found.types, found.rows) if found else []


_PLACEHOLDER = re.compile(r"%\(([^)]+)\)s")
_NUMBER = re.compile(r"\$(\d+)")
_WITH_SQL: dict[tuple[int, ...], tuple[str, list[_Compiled]]] = {}


def _combined(queue: list[tuple[_Compiled, Any, bool]]) -> list[tuple[_Compiled, str, Any, bool]]:
    """The queue as few statements: consecutive single writes to distinct tables become one
    statement, all but the last as WITH clauses. Two writes to one table stay apart, as the
    parts of one statement do not see each other's changes."""
    out: list[tuple[_Compiled, str, Any, bool]] = []
    group: list[tuple[_Compiled, Any]] = []

    def close() -> None:
        if len(group) == 1:
            out.append((group[0][0], group[0][0].sql, group[0][1], False))
        elif group:
            out.append(_with_statement(group))
        group.clear()

    for c, args, many in queue:
        # only plain INSERT, UPDATE and DELETE statements: one with a WITH of its own, or one
        # that reads another table (UPDATE ... FROM), would read the snapshot before the group
        if many or c.cursor is None or c.table is None or not c.combinable:
            close()
            out.append((c, c.sql, args, many))
            continue
        if any(g.table == c.table for g, _ in group):
            close()
        group.append((c, args))
    close()
    return out


def _with_statement(group: list[tuple[_Compiled, Any]]) -> tuple[_Compiled, str, Any, bool]:
    shape = tuple(id(c) for c, _ in group)
    found = _WITH_SQL.get(shape)
    if found is None:
        parts, offset = [], 0
        for c, _ in group:
            parts.append(_NUMBER.sub(lambda m, o=offset: f"${int(m.group(1)) + o}", c.sql))  # type: ignore[misc]
            offset += len(c.names)
        clauses = ", ".join(f"w{i} AS ({part})" for i, part in enumerate(parts[:-1]))
        # the compiled statements are kept with their text: the ids in the shape stay theirs
        found = _WITH_SQL[shape] = (f"WITH {clauses} {parts[-1]}", [c for c, _ in group])
    args = tuple(chain.from_iterable(a for _, a in group))
    return group[-1][0], found[0], args, False


def flush_before_execute(conn: Connection, *_: Any) -> None:
    """Engine hook (`before_cursor_execute`): a statement run through SQLAlchemy, Core or
    driver SQL, first sends the queued writes; what was read ahead is dropped, as that
    statement may change it."""
    conn.info.pop(_PREFETCHED, None)
    if conn.info.get(_DEFERRED):
        flush_writes(conn)


def _result_columns(statement: ClauseElement) -> list[Any]:
    if isinstance(statement, Select):
        return list(statement.selected_columns)
    returning = getattr(statement, "_returning", ())
    return list(returning)
