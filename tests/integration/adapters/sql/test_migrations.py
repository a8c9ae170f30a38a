from __future__ import annotations

import pytest
from sqlalchemy import Engine, inspect, text

from telebill.adapters.sql import migrate
from telebill.adapters.sql.engine import make_engine
from telebill.adapters.sql.tables import metadata


def test_migrations_build_exactly_the_schema_the_code_uses(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        migrate.check(engine)  # raises if models and migrations disagree
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_downgrade_to_nothing_and_upgrade_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "base")
        assert not set(metadata.tables) & set(inspect(engine).get_table_names())
        migrate.upgrade(engine)
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _indexes(engine: Engine, table: str) -> dict[str, tuple[list[str | None], bool]]:
    """Index name -> (columns, valid) of `table` on PostgreSQL."""
    with engine.connect() as conn:
        valid = dict(
            conn.execute(
                text(
                    "SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                    " WHERE i.indrelid = CAST(:table AS regclass)"
                ),
                {"table": table},
            ).all()
        )
    return {
        ix["name"]: (ix["column_names"], valid[ix["name"]]) for ix in inspect(engine).get_indexes(table) if ix["name"]
    }


def test_index_migrations_run_again_after_a_concurrent_build_failed_part_way(database_url: str) -> None:
    """On PostgreSQL a concurrent index build that fails leaves an INVALID index of that name;
    running the migrations again replaces it and finishes the step (the old index already gone
    or not)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent index builds are PostgreSQL's")
    engine = make_engine(database_url)
    try:
        migrate.upgrade(engine, "0009")
        with engine.begin() as conn:  # what an interrupted 0010 and 0011 leave behind
            conn.execute(text("CREATE INDEX ix_postings_account_in_order ON postings (transfer_id)"))
            conn.execute(text("CREATE INDEX ix_outbox_account_in_order ON outbox (id)"))
            conn.execute(text("DROP INDEX ix_outbox_account_sid"))
            conn.execute(
                text(
                    "UPDATE pg_index SET indisvalid = false WHERE indexrelid IN (CAST('ix_postings_account_in_order'"
                    " AS regclass), CAST('ix_outbox_account_in_order' AS regclass))"
                )
            )
        migrate.upgrade(engine)
        migrate.check(engine)
        postings, outbox = _indexes(engine, "postings"), _indexes(engine, "outbox")
        assert postings["ix_postings_account_in_order"] == (["account_id", "id"], True)
        assert "ix_postings_account_transfer" not in postings
        assert outbox["ix_outbox_account_in_order"] == (["account_sid", "id"], True)
        assert outbox["ix_outbox_failed"] == (["id"], True)
        assert "ix_outbox_account_sid" not in outbox
    finally:
        engine.dispose()


def test_an_index_a_failed_migration_had_already_built_is_kept_not_built_again(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent index builds are PostgreSQL's")
    engine = make_engine(database_url)
    oid = text("SELECT CAST(CAST('ix_postings_account_in_order' AS regclass) AS oid)")
    try:
        migrate.upgrade(engine, "0009")
        with engine.begin() as conn:  # 0010 built its index, then failed before recording itself
            conn.execute(text("CREATE INDEX ix_postings_account_in_order ON postings (account_id, id)"))
            built = conn.execute(oid).scalar_one()
        migrate.upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(oid).scalar_one() == built
        assert "ix_postings_account_transfer" not in _indexes(engine, "postings")
    finally:
        engine.dispose()
