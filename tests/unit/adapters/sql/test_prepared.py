"""How charging statements are compiled for psycopg and how queued writes are combined."""

from __future__ import annotations

import re

from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import psycopg as pg

from telebill.adapters.sql.prepared import Prepared, _combined

md = MetaData()
a = Table("a", md, Column("id", Integer, primary_key=True), Column("name", String(20)))
b = Table("b", md, Column("id", Integer, primary_key=True), Column("total", Integer))
INSERT_A = Prepared(insert(a), ["id", "name"])
ADD_B = Prepared(update(b).where(b.c.id == bindparam("key")).values(total=b.c.total + bindparam("delta")))
READ_A = Prepared(select(a).where(a.c.id == bindparam("key"), a.c.name != bindparam("key_name")))
DIALECT = pg.dialect()


def queued(statement: Prepared, **params: object) -> tuple[object, object, bool]:
    c = statement._compiled(DIALECT)
    return c, statement._args(c, params), False


def test_statements_for_psycopg_use_numbered_placeholders_in_the_order_of_their_names() -> None:
    c = READ_A._compiled(DIALECT)
    assert "%(" not in c.sql
    assert re.findall(r"\$\d+", c.sql) == ["$1", "$2"]
    assert READ_A._args(c, {"key_name": "x", "key": 7}) == (7, "x")


def test_writes_to_distinct_tables_become_one_statement_with_every_parameter_renumbered() -> None:
    statements = _combined([queued(INSERT_A, id=1, name="one"), queued(ADD_B, key=2, delta=5)])  # type: ignore[list-item]
    assert len(statements) == 1
    _, sql, args, many = statements[0]
    assert sql.startswith("WITH w0 AS (INSERT INTO a ")
    assert "UPDATE b SET" in sql
    assert sorted(set(re.findall(r"\$\d+", sql))) == ["$1", "$2", "$3", "$4"]
    assert args == (1, "one", 5, 2)  # the UPDATE takes (delta, key), numbered on from the INSERT's
    assert not many


def test_two_writes_to_one_table_are_never_parts_of_one_statement() -> None:
    # the parts of one statement do not see each other's changes: the second would be lost
    statements = _combined(
        [  # type: ignore[list-item]
            queued(ADD_B, key=2, delta=5),
            queued(INSERT_A, id=1, name="one"),
            queued(ADD_B, key=2, delta=7),
        ]
    )
    assert len(statements) == 2
    assert statements[0][1].count("UPDATE b") == 1
    assert statements[1][1].count("UPDATE b") == 1
    assert statements[1][2] == (7, 2)


def test_a_write_that_reads_another_table_is_sent_on_its_own() -> None:
    # as a part of a combined statement it would read that table as it was before the group
    from_b = Prepared(update(a).where(a.c.id == b.c.id, b.c.total > bindparam("least")).values(name=bindparam("to")))
    statements = _combined(
        [queued(INSERT_A, id=1, name="one"), queued(ADD_B, key=2, delta=5), queued(from_b, least=3, to="big")]  # type: ignore[list-item]
    )
    assert len(statements) == 2
    assert statements[1][1].startswith("UPDATE a SET")
