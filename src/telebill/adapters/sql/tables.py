"""The catalog schema: decks, effective-dated versions, their price sections, price plans.

Alembic migrations (migrations/versions) own the schema in databases; this metadata is
what the repositories query and what `alembic check` compares against. Uniqueness of a
prefix/origin pair per version is enforced by a primary key as the last line of defence.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from telebill.adapters.sql.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

decks = Table(
    "decks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("currency", String(3), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

deck_versions = Table(
    "deck_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("deck_id", Integer, ForeignKey("decks.id", ondelete="CASCADE"), nullable=False),
    Column("effective_from", UTCDateTime(), nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
    Column("source", String(500), nullable=False),
    Column("voice_rows", Integer, nullable=False),
    UniqueConstraint("deck_id", "effective_from", name="uq_deck_versions_deck_effective"),
)


def _version_fk() -> Column[int]:
    return Column(
        "version_id",
        Integer,
        ForeignKey("deck_versions.id", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
    )


voice_rates = Table(
    "voice_rates",
    metadata,
    _version_fk(),
    Column("prefix", String(15), primary_key=True),
    Column("origin", String(15), primary_key=True),
    Column("friendly_name", String(200), nullable=False),
    Column("iso_country", String(2), nullable=False),
    Column("base_price", ExactDecimal(), nullable=False),
    Column("current_price", ExactDecimal(), nullable=False),
    Column("initial_s", Integer, nullable=False),
    Column("subsequent_s", Integer, nullable=False),
    Column("connection_fee", ExactDecimal(), nullable=False),
    Column("free", Boolean, nullable=False),
    Column("blocked", Boolean, nullable=False),
    Column("rounding", String(16), nullable=False),
    CheckConstraint("initial_s > 0 AND subsequent_s > 0", name="positive_increments"),
    CheckConstraint("NOT (free AND blocked)", name="free_or_blocked"),
)
Index("ix_voice_rates_country", voice_rates.c.version_id, voice_rates.c.iso_country)

inbound_prices = Table(
    "inbound_prices",
    metadata,
    _version_fk(),
    Column("country", String(2), primary_key=True),
    Column("number_type", String(16), primary_key=True),
    Column("caller", String(20), primary_key=True),
    Column("base_price", ExactDecimal(), nullable=False),
    Column("current_price", ExactDecimal(), nullable=False),
    Column("initial_s", Integer, nullable=False),
    Column("subsequent_s", Integer, nullable=False),
    Column("connection_fee", ExactDecimal(), nullable=False),
    Column("rounding", String(16), nullable=False),
)

sms_prices = Table(
    "sms_prices",
    metadata,
    _version_fk(),
    Column("country", String(2), primary_key=True),
    Column("prefix", String(15), primary_key=True),
    Column("base_price", ExactDecimal(), nullable=False),
    Column("current_price", ExactDecimal(), nullable=False),
    Column("inbound_price", ExactDecimal(), nullable=False),
)

number_prices = Table(
    "number_prices",
    metadata,
    _version_fk(),
    Column("country", String(2), primary_key=True),
    Column("category", String(32), primary_key=True),
    Column("region", String(100), primary_key=True),
    Column("setup_price", ExactDecimal(), nullable=False),
    Column("monthly_price", ExactDecimal(), nullable=False),
    Column("base_monthly_price", ExactDecimal(), nullable=False),
)

resource_prices = Table(
    "resource_prices",
    metadata,
    _version_fk(),
    Column("resource", String(64), primary_key=True),
    Column("unit", String(32), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("base_price", ExactDecimal(), nullable=False),
    Column("current_price", ExactDecimal(), nullable=False),
)

price_plans = Table(
    "price_plans",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

plan_tiers = Table(
    "plan_tiers",
    metadata,
    Column("plan_id", Integer, ForeignKey("price_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("condition", String(32), nullable=False),
    Column("group_name", String(32), nullable=False),
    Column("deck_id", Integer, ForeignKey("decks.id"), nullable=False),
)

plan_overrides = Table(
    "plan_overrides",
    metadata,
    Column("plan_id", Integer, ForeignKey("price_plans.id", ondelete="CASCADE"), primary_key=True),
    Column("prefix", String(15), primary_key=True),
    Column("percent_off", ExactDecimal(), nullable=True),
    Column("fixed_price", ExactDecimal(), nullable=True),
    CheckConstraint("(percent_off IS NULL) <> (fixed_price IS NULL)", name="one_adjustment"),
)
