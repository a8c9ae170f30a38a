"""Shared fixtures: a fresh, migrated database per test (SQLite file, or the PostgreSQL named
by TELEBILL_TEST_DATABASE_URL), a frozen clock, and a wired container."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from telebill.adapters.clock import FrozenClock
from telebill.adapters.sql.engine import make_engine
from telebill.bootstrap import Container, bootstrap
from telebill.config import Settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    url = os.environ.get("TELEBILL_TEST_DATABASE_URL")
    if url:
        _reset_postgres(url)
        return url
    return f"sqlite:///{tmp_path / 'telebill.db'}"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def container(database_url: str, clock: FrozenClock) -> Iterator[Container]:
    c = bootstrap(Settings(database_url=database_url), clock)
    c.migrate()
    try:
        yield c
    finally:
        c.close()
