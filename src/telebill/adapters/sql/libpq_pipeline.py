"""One pipelined round trip on the libpq connection under psycopg, for the charging path's
prepared statements (prepared.py).

psycopg's cursors and pipeline object cost about 50 µs of Python per statement (query
conversion, cursor and result objects, generator-driven waits); a charging step's reads and
writes went through them four or five at a time. Here the statements go straight to libpq in
pipeline mode: each is prepared once per connection under a name made from its text (so a name
always stands for the same text), parameters are sent as text for the server to type from the
statement, and rows come back in binary through psycopg's own C loaders (`Transformer`), so a
value reads exactly as a psycopg cursor would read it. About a fifth of the CPU, measured on a
step's five locked reads with their BEGIN and COMMIT.

A failure (a unique violation, a lost lock race) makes the rest of the pipeline abort; the first
error is raised as psycopg's own exception class once the pipeline is drained, and the names
whose PREPARE did not complete are forgotten, so they are prepared again next time.
"""

from __future__ import annotations

import hashlib
import select
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

_NAMES = "_telebill_prepared"  # on the psycopg connection: statement text -> prepared name
_MAX_NAMES = 500  # past that, statements are sent unnamed (parsed each time)


@dataclass(frozen=True, slots=True)
class Statement:
    """SQL with $n placeholders; `args` one tuple of parameters, or several with `many`."""

    sql: str
    args: Any
    many: bool = False
    rows: bool = False


@dataclass(frozen=True, slots=True)
class Rows:
    rows: list[tuple[Any, ...]]
    result: Any  # libpq's result, for the columns' types: read only by a statement's first run

    @property
    def types(self) -> tuple[int, ...]:
        """The columns' type oids, as a cursor's description gives them."""
        return tuple(self.result.ftype(j) for j in range(self.result.nfields))


def usable(dbapi: Any) -> bool:
    """A psycopg connection in a transaction started by a plain BEGIN, over a libpq with
    pipeline mode (14 or later)."""
    from psycopg import pq

    return (
        pq.version() >= 140000
        and hasattr(dbapi, "pgconn")
        and not dbapi.autocommit
        and dbapi.isolation_level is None
        and dbapi.read_only is None
        and dbapi.deferrable is None
    )


def run(dbapi: Any, statements: Sequence[Statement], commit: bool = False) -> list[Rows | None]:
    """Send `statements` in one round trip, after a BEGIN if no transaction is open and before a
    COMMIT if asked; the rows of each statement that returns rows (None for the others)."""
    from psycopg import errors, pq
    from psycopg.adapt import PyFormat, Transformer

    pg = dbapi.pgconn
    names: dict[str, bytes] = dbapi.__dict__.setdefault(_NAMES, {})
    transformer = Transformer(dbapi)
    # what each command sent answers: ("rows", statement index), ("prepare", text) or None
    expected: list[tuple[str, Any] | None] = []
    results: list[Rows | None] = [None] * len(statements)
    error: Exception | None = None
    unconfirmed: set[str] = set()  # prepared in this pipeline, not yet known to have worked
    synced = False
    pg.enter_pipeline_mode()
    try:
        if pg.transaction_status == pq.TransactionStatus.IDLE:
            pg.send_query_params(b"BEGIN", None)
            expected.append(None)
        for i, st in enumerate(statements):
            name = names.get(st.sql)
            if name is None and len(names) < _MAX_NAMES:
                name = names[st.sql] = b"tb_" + hashlib.sha256(st.sql.encode()).hexdigest()[:32].encode()
                unconfirmed.add(st.sql)
                pg.send_prepare(name, st.sql.encode())
                expected.append(("prepare", st.sql))
            for args in st.args if st.many else (st.args,):
                params = transformer.dump_sequence(args, [PyFormat.TEXT] * len(args)) if args else None
                if name is not None:
                    pg.send_query_prepared(name, params, result_format=pq.Format.BINARY)
                else:
                    pg.send_query_params(st.sql.encode(), params, result_format=pq.Format.BINARY)
                expected.append(("rows", i) if st.rows else None)
        if commit:
            pg.send_query_params(b"COMMIT", None)
            expected.append(None)
        pg.pipeline_sync()
        synced = True
        _flush(pg)
        answered = 0
        while True:
            result = _next_result(pg)
            if result is None:
                continue
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                break
            what = expected[answered] if answered < len(expected) else None
            answered += 1
            if result.status == pq.ExecStatus.FATAL_ERROR and error is None:
                error = errors.error_from_result(result, encoding=dbapi.info.encoding)
            if what is None:
                continue
            if what[0] == "prepare" and result.status == pq.ExecStatus.COMMAND_OK:
                unconfirmed.discard(what[1])
            elif what[0] == "rows" and result.status == pq.ExecStatus.TUPLES_OK:
                transformer.set_pgresult(result)
                rows = transformer.load_rows(0, result.ntuples, tuple)
                results[what[1]] = Rows(rows, result)
    except BaseException:
        # a failure before the pipeline was closed (a value that cannot be sent, an interrupt):
        # close it and drop what the server answers, so that the transaction can be rolled back
        if not synced:
            _abandon(pg)
        raise
    finally:
        for sql in unconfirmed:  # not prepared (or not known to be): prepared again next time
            names.pop(sql, None)
        if pg.pipeline_status != pq.PipelineStatus.OFF:
            try:
                pg.exit_pipeline_mode()
            except Exception:  # results left uncollected: the connection is broken and is dropped
                if error is None and synced:
                    raise
    if isinstance(error, errors.InvalidSqlStatementName):
        names.clear()  # the session lost its prepared statements (DEALLOCATE): prepare them again
    if error is not None:
        raise error
    return results


def _flush(pg: Any) -> None:
    while pg.flush():
        select.select([pg.socket], [pg.socket], [])
        pg.consume_input()


def _abandon(pg: Any) -> None:
    """Close a pipeline that failed while being filled: sync, and drop every answer."""
    from psycopg import pq

    try:
        pg.pipeline_sync()
        _flush(pg)
        while True:
            result = _next_result(pg)
            if result is not None and result.status == pq.ExecStatus.PIPELINE_SYNC:
                return
    except Exception:  # a broken connection: the caller's error stands, the connection is dropped
        return


def _next_result(pg: Any) -> Any:
    """The next result, waiting for it without holding the interpreter (select releases it)."""
    while pg.is_busy():
        select.select([pg.socket], [], [])
        pg.consume_input()
    return pg.get_result()
