from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.exc import StatementError

from telebill.adapters.sql.engine import make_engine
from telebill.adapters.sql.types import ExactDecimal, UTCDateTime


@pytest.fixture
def table(database_url: str):  # type: ignore[no-untyped-def]
    engine = make_engine(database_url)
    md = MetaData()
    t = Table(
        "roundtrip",
        md,
        Column("id", Integer, primary_key=True),
        Column("amount", ExactDecimal()),
        Column("at", UTCDateTime()),
    )
    md.create_all(engine)
    yield engine, t
    md.drop_all(engine)
    engine.dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.decimals(allow_nan=False, allow_infinity=False, places=12, min_value=-(10**12), max_value=10**12))
def test_decimals_round_trip_exactly_including_scale(table, value: Decimal) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with engine.begin() as conn:
        conn.execute(t.delete())
        conn.execute(insert(t).values(id=1, amount=value))
        back = conn.scalar(select(t.c.amount))
    assert back == value
    assert isinstance(back, Decimal)


def test_published_precision_is_kept(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with engine.begin() as conn:
        conn.execute(insert(t).values(id=1, amount=Decimal("0.0850")))
        assert str(conn.scalar(select(t.c.amount))) == "0.0850"


def test_a_float_cannot_be_stored_as_money(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    with pytest.raises(StatementError, match="Decimal"), engine.begin() as conn:
        conn.execute(insert(t).values(id=1, amount=0.1))


def test_instants_come_back_in_utc_and_naive_ones_are_refused(table) -> None:  # type: ignore[no-untyped-def]
    engine, t = table
    paris = datetime(2026, 3, 29, 3, 30, tzinfo=timezone(timedelta(hours=2)))
    with engine.begin() as conn:
        conn.execute(insert(t).values(id=1, at=paris))
        back = conn.scalar(select(t.c.at))
    assert back == paris
    assert back.tzinfo == UTC
    with pytest.raises(StatementError, match="naive"), engine.begin() as conn:
        conn.execute(insert(t).values(id=2, at=datetime(2026, 1, 1)))
