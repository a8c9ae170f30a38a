"""Postings indexed by account and transfer (replacing the index on the account alone): a
statement page reads a range of it, whatever the account's history.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 12:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index("ix_postings_account_transfer", ["account_id", "transfer_id"], unique=False)
        batch_op.drop_index(batch_op.f("ix_postings_account_id"))


def downgrade() -> None:
    with op.batch_alter_table("postings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_postings_account_id"), ["account_id"], unique=False)
        batch_op.drop_index("ix_postings_account_transfer")
