"""The money schema: ledger accounts, transfers and their postings (append-only), prepaid
settings per customer account, calls being charged, phone numbers and call policies,
payments, and the notification outbox.

Amounts are integer micros (10^-6 of the currency unit) in BIGINT columns. The ledger is
append-only: transfers and postings are only ever inserted; the cached balances on
`ledger_accounts` are the one thing updated, in the same transaction as the postings, and
`telebill ledger verify` checks them against the fold of the postings.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from telebill.adapters.sql.tables import metadata
from telebill.adapters.sql.types import ExactDecimal, UTCDateTime

# 64-bit ids on PostgreSQL; SQLite auto-increments only an INTEGER PRIMARY KEY (also 64-bit)
BIG_ID = BigInteger().with_variant(Integer, "sqlite")

ledger_accounts = Table(
    "ledger_accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(120), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("owner_sid", String(34), ForeignKey("accounts.sid"), nullable=True, index=True),
    Column("debits_posted", BigInteger, nullable=False),
    Column("credits_posted", BigInteger, nullable=False),
    Column("debits_pending", BigInteger, nullable=False),
    Column("credits_pending", BigInteger, nullable=False),
    CheckConstraint(
        "debits_posted >= 0 AND credits_posted >= 0 AND debits_pending >= 0 AND credits_pending >= 0",
        name="non_negative",
    ),
)

transfers = Table(
    "transfers",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("debit_account_id", Integer, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("credit_account_id", Integer, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    # the hold a post/void/expire settles; unique: a hold is settled once
    Column(
        "pending_id",
        BIG_ID,
        ForeignKey("transfers.id"),
        nullable=True,
        unique=True,
    ),
    Column("expires_at", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("reference", String(200), nullable=False),
    Column("fx_rate", ExactDecimal(), nullable=True),
    CheckConstraint("amount >= 0", name="non_negative_amount"),
    CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
)
Index("ix_transfers_open_holds", transfers.c.kind, transfers.c.expires_at)

postings = Table(
    "postings",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column(
        "transfer_id",
        BIG_ID,
        ForeignKey("transfers.id"),
        nullable=False,
        index=True,
    ),
    Column("account_id", Integer, ForeignKey("ledger_accounts.id"), nullable=False),
    Column("debit", Boolean, nullable=False),
    Column("pending", Boolean, nullable=False),
    Column("amount", BigInteger, nullable=False),
)
# an account's entries in the order they were applied: a statement page is a range of it
# (ledger_statement.py)
Index("ix_postings_account_in_order", postings.c.account_id, postings.c.id)

billing_settings = Table(
    "billing_settings",
    metadata,
    Column("account_sid", String(34), ForeignKey("accounts.sid"), primary_key=True),
    Column("policy", String(16), nullable=False),  # cut_off | allow_negative
    Column("credit_limit", BigInteger, nullable=False),  # micros below zero allowed
    Column("low_balance_threshold", BigInteger, nullable=False),
    Column("low_balance_alerted", Boolean, nullable=False),
    Column("auto_recharge_enabled", Boolean, nullable=False),
    Column("auto_recharge_threshold", BigInteger, nullable=False),
    Column("auto_recharge_amount", BigInteger, nullable=False),
    Column("auto_recharge_in_flight", Boolean, nullable=False),
    Column("auto_recharge_declined", Boolean, nullable=False),
    Column("auto_recharge_spent", Boolean, nullable=False, server_default=false()),
    Column("billing_address", Text, nullable=False),
    Column("vat_number", String(40), nullable=False),
    Column("suspended", Boolean, nullable=False),
    Column("webhook_url", String(500), nullable=False),
    Column("webhook_secret", String(100), nullable=False),
    Column("notify_email", String(254), nullable=False, server_default=""),
    # counts the row's changes: a step that read the settings without a lock checks it at commit
    Column("revision", BigInteger, nullable=False, server_default="0"),
    CheckConstraint("credit_limit >= 0", name="credit_limit_non_negative"),
)

payments = Table(
    "payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("idempotency_key", String(200), nullable=False, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("status", String(16), nullable=False),  # succeeded | declined
    Column("provider_reference", String(200), nullable=False),
    Column("reason", String(200), nullable=False),
    Column("transfer_id", BIG_ID, ForeignKey("transfers.id"), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    CheckConstraint("amount > 0", name="positive_amount"),
)

calls = Table(
    "calls",
    metadata,
    Column("account_sid", String(34), ForeignKey("accounts.sid"), primary_key=True),
    Column("call_id", String(128), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("destination", String(16), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("status", String(12), nullable=False),  # refused | active | ended | expired (its hold timed out)
    Column("reason", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("deck_currency", String(3), nullable=False),
    Column("price_per_minute", ExactDecimal(), nullable=False),
    Column("initial_s", Integer, nullable=False),
    Column("subsequent_s", Integer, nullable=False),
    Column("connection_fee", ExactDecimal(), nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("fx_rate", ExactDecimal(), nullable=False),
    Column("free", Boolean, nullable=False),
    Column("matched_prefix", String(15), nullable=False),
    Column("friendly_name", String(200), nullable=False),
    Column("deck", String(120), nullable=False),
    Column("granted_until_s", Integer, nullable=False),
    Column("used_s", Integer, nullable=False),
    Column("charged", BigInteger, nullable=False),
    Column(
        "hold_transfer_id",
        BIG_ID,
        ForeignKey("transfers.id"),
        nullable=True,
    ),
    Column("usage_seq", Integer, nullable=False),
    Column("duration_s", Integer, nullable=True),
    Column("billed_s", Integer, nullable=True),
    Column("answered", Boolean, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    CheckConstraint("charged >= 0", name="charged_non_negative"),
)
Index("ix_calls_account_created", calls.c.account_sid, calls.c.created_at)

account_numbers = Table(
    "account_numbers",
    metadata,
    Column("e164", String(16), primary_key=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False, index=True),
    Column("international_calling", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

number_members = Table(
    "number_members",
    metadata,
    Column("e164", String(16), ForeignKey("account_numbers.e164"), primary_key=True),
    Column("key_sid", String(34), ForeignKey("api_keys.sid"), primary_key=True),
)

destination_blocks = Table(
    "destination_blocks",
    metadata,
    Column("account_sid", String(34), ForeignKey("accounts.sid"), primary_key=True),
    Column("kind", String(8), primary_key=True),  # country | prefix
    Column("value", String(15), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BIG_ID, primary_key=True, autoincrement=True),
    Column("account_sid", String(34), ForeignKey("accounts.sid"), nullable=False),
    Column("topic", String(40), nullable=False),
    Column("dedupe_key", String(200), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime(), nullable=True),
    Column("failed_at", UTCDateTime(), nullable=True),
    Column("last_error", String(500), nullable=False),
    UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
)
Index("ix_outbox_due", outbox.c.delivered_at, outbox.c.next_attempt_at)
# an account's notifications newest first, and the ones given up on: pages are index ranges
Index("ix_outbox_account_in_order", outbox.c.account_sid, outbox.c.id)
Index(
    "ix_outbox_failed",
    outbox.c.id,
    postgresql_where=outbox.c.failed_at.is_not(None),
    sqlite_where=outbox.c.failed_at.is_not(None),
)

# how far a worker's passes are complete, across its processes and restarts (hold_expiry.py)
worker_marks = Table(
    "worker_marks",
    metadata,
    Column("name", String(40), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
)
