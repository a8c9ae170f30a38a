"""Schema migrations with Alembic, run programmatically against the configured database."""

from __future__ import annotations

from importlib import resources

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(resources.files("telebill.adapters.sql") / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    try:
        command.upgrade(alembic_config(engine), revision)
    finally:
        _fresh_pool(engine)


def downgrade(engine: Engine, revision: str) -> None:
    try:
        command.downgrade(alembic_config(engine), revision)
    finally:
        _fresh_pool(engine)


def _fresh_pool(engine: Engine) -> None:
    """Drop the pooled connections the migrations used: a migration that built an index
    concurrently switched its connection to autocommit and back, which leaves an explicit
    isolation level on the driver's connection, and the charging path's pipelined round trips
    (prepared.py) are then not used on it."""
    engine.dispose()


def check(engine: Engine) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(alembic_config(engine))
