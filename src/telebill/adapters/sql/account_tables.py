"""The accounts schema: accounts (with sub-accounts), API keys, and exchange rates.

Secrets are never stored: auth tokens and key secrets as SHA-256 hashes, JWT keys as
public keys only.
"""

from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, Date, ForeignKey, Integer, String, Table, Text

from telebill.adapters.sql.tables import metadata
from telebill.adapters.sql.types import ExactDecimal, UTCDateTime

accounts = Table(
    "accounts",
    metadata,
    Column("number", Integer, primary_key=True, autoincrement=True),
    Column("sid", String(34), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("plan_id", Integer, ForeignKey("price_plans.id"), nullable=True),
    Column("parent_sid", String(34), ForeignKey("accounts.sid"), nullable=True),
    Column("auth_token_hash", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("sid", String(34), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("role", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("secret_hash", String(64), nullable=True),
    Column("public_key_pem", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked", Boolean, nullable=False),
    CheckConstraint("(secret_hash IS NULL) <> (public_key_pem IS NULL)", name="one_credential"),
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("day", Date, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("per_eur", ExactDecimal(), nullable=False),
)
