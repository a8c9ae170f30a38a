"""The outbox indexed for its pages: an account's notifications newest first (by account and
id, replacing the index on the account alone), and the ones the worker gave up on.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 16:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_account_in_order", ["account_sid", "id"], unique=False)
        batch_op.create_index("ix_outbox_failed", ["failed_at"], unique=False)
        batch_op.drop_index(batch_op.f("ix_outbox_account_sid"))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_account_sid"), ["account_sid"], unique=False)
        batch_op.drop_index("ix_outbox_failed")
        batch_op.drop_index("ix_outbox_account_in_order")
