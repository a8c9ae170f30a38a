"""Pooled connections to PostgreSQL: checked with a ping only after sitting idle."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from telebill.adapters.sql import engine as engine_module
from telebill.adapters.sql.engine import make_engine

pytestmark = pytest.mark.skipif(
    not os.environ.get("TELEBILL_TEST_DATABASE_URL"), reason="the ping concerns a database server"
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine whose one pooled connection's session was ended by the server while idle."""
    engine, killer = make_engine(database_url), make_engine(database_url)
    try:
        with engine.connect() as conn:
            pid = conn.scalar(text("SELECT pg_backend_pid()"))
        with killer.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        yield engine
    finally:
        engine.dispose()
        killer.dispose()


def test_a_connection_idle_past_the_window_is_pinged_and_a_dead_one_replaced(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING_S", 0.0)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1


def test_a_connection_used_within_the_window_is_not_pinged_and_fails_once_if_dead(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_BEFORE_PING_S", 3600.0)
    with pytest.raises(OperationalError), engine.connect() as conn:
        conn.scalar(text("SELECT 1"))
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1  # the pool was discarded: a new session
