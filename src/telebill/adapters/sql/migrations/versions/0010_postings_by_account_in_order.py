"""Postings indexed by account and posting id (replacing the index by account and transfer): a
statement lists an account's entries in the order they were applied, which is the order of
their postings' ids (ledger_statement.py), and a page reads a range of this index.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 15:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

from telebill.adapters.sql.migrations.index_builds import build_concurrently

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # built without blocking the postings' inserts (charging) while it runs; run again
        # after a build that failed part way (index_builds.py)
        with op.get_context().autocommit_block():
            build_concurrently("ix_postings_account_in_order", "postings", ["account_id", "id"])
            op.drop_index("ix_postings_account_transfer", "postings", postgresql_concurrently=True, if_exists=True)
        return
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account_in_order", ["account_id", "id"], unique=False)
        batch_op.drop_index("ix_postings_account_transfer")


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account_transfer", ["account_id", "transfer_id"], unique=False)
        batch_op.drop_index("ix_postings_account_in_order")
