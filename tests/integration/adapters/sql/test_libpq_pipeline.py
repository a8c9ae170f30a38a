"""libpq's pipeline mode under psycopg, as the charging path uses it: values read back exactly
as a psycopg cursor reads them, one failure raised as psycopg's own error after the pipeline is
drained, and a statement whose PREPARE failed prepared again next time."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("TELEBILL_TEST_DATABASE_URL"), reason="libpq's pipeline concerns a database server"
)


@pytest.fixture
def dbapi(database_url: str) -> Any:
    import psycopg

    conn = psycopg.connect(database_url.replace("postgresql+psycopg", "postgresql"))
    conn.execute("CREATE TABLE kv (k bigint PRIMARY KEY, v numeric, t timestamptz, b boolean, s text)")
    conn.commit()
    yield conn
    conn.close()


def test_values_read_back_exactly_as_a_cursor_reads_them(dbapi: Any) -> None:
    from telebill.adapters.sql.libpq_pipeline import Statement, run

    at = datetime(2026, 3, 1, 12, 30, 0, 123456, tzinfo=UTC)
    insert = "INSERT INTO kv (k, v, t, b, s) VALUES ($1, $2, $3, $4, $5)"
    rows = [
        (1, Decimal("0.000001"), at, True, "é'\\"),
        (2, None, None, None, None),
        (2**62, Decimal("-1E+20"), at, False, ""),
    ]
    select = "SELECT k, v, t, b, s FROM kv WHERE k >= $1 ORDER BY k"
    found = run(dbapi, [Statement(insert, rows, many=True), Statement(select, (0,), rows=True)], commit=True)
    assert found[0] is None
    assert found[1] is not None
    cursor_rows = dbapi.execute("SELECT k, v, t, b, s FROM kv ORDER BY k").fetchall()
    dbapi.commit()
    assert found[1].rows == cursor_rows == [rows[0], rows[1], rows[2]]
    assert len(found[1].types) == 5


def test_a_failure_is_raised_after_the_pipeline_and_the_connection_goes_on(dbapi: Any) -> None:
    import psycopg

    from telebill.adapters.sql.libpq_pipeline import Statement, run

    insert = "INSERT INTO kv (k) VALUES ($1)"
    run(dbapi, [Statement(insert, (1,))], commit=True)
    with pytest.raises(psycopg.errors.UniqueViolation):
        run(dbapi, [Statement(insert, (2,)), Statement(insert, (1,)), Statement("SELECT 1", (), rows=True)], True)
    dbapi.rollback()
    assert run(dbapi, [Statement("SELECT count(*) FROM kv", (), rows=True)], commit=True)[0].rows == [(1,)]  # type: ignore[union-attr]


def test_a_statement_that_could_not_be_prepared_is_prepared_again(dbapi: Any) -> None:
    import psycopg

    from telebill.adapters.sql.libpq_pipeline import Statement, run

    query = "SELECT v FROM kv2 WHERE k = $1"
    with pytest.raises(psycopg.errors.UndefinedTable):
        run(dbapi, [Statement(query, (1,), rows=True)])
    dbapi.rollback()
    dbapi.execute("CREATE TABLE kv2 (k bigint PRIMARY KEY, v text)")
    dbapi.execute("INSERT INTO kv2 VALUES (1, 'one')")
    dbapi.commit()
    assert run(dbapi, [Statement(query, (1,), rows=True)], commit=True)[0].rows == [("one",)]  # type: ignore[union-attr]


def test_statements_dropped_by_the_session_are_prepared_again(dbapi: Any) -> None:
    import psycopg

    from telebill.adapters.sql.libpq_pipeline import Statement, run

    query = Statement("SELECT count(*) FROM kv WHERE k > $1", (0,), rows=True)
    assert run(dbapi, [query], commit=True)[0].rows == [(0,)]  # type: ignore[union-attr]
    dbapi.execute("DEALLOCATE ALL")  # what psycopg's own rollback sends once it has prepared
    dbapi.commit()
    with pytest.raises(psycopg.errors.InvalidSqlStatementName):
        run(dbapi, [query], commit=True)
    dbapi.rollback()
    assert run(dbapi, [query], commit=True)[0].rows == [(0,)]  # type: ignore[union-attr]


def test_a_value_that_cannot_be_sent_leaves_a_transaction_that_rolls_back(dbapi: Any) -> None:
    from telebill.adapters.sql.libpq_pipeline import Statement, run

    insert = "INSERT INTO kv (k, s) VALUES ($1, $2)"
    with pytest.raises(Exception, match="NUL"):
        run(dbapi, [Statement(insert, (1, "ok")), Statement(insert, (2, "bad\x00"))], commit=True)
    dbapi.rollback()
    assert run(dbapi, [Statement("SELECT count(*) FROM kv", (), rows=True)], commit=True)[0].rows == [(0,)]  # type: ignore[union-attr]


def test_the_engine_leaves_preparing_to_the_charging_path(database_url: str) -> None:
    from sqlalchemy import text

    from telebill.adapters.sql.engine import make_engine

    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            for _ in range(6):
                conn.execute(text("SELECT 1"))
            conn.rollback()  # with psycopg's own statements prepared, this would DEALLOCATE ALL
            assert conn.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
    finally:
        engine.dispose()
