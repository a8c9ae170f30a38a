from __future__ import annotations

from sqlalchemy import inspect

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
