"""The outbox indexed for its pages: an account's notifications newest first (by account and
id, replacing the index on the account alone), and the ones the worker gave up on (a partial
index of their ids).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from telebill.adapters.sql.migrations.index_builds import build_concurrently

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


GIVEN_UP = "failed_at IS NOT NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # built without blocking the outbox's inserts (charging steps enqueue alerts) while it
        # runs; run again after a build that failed part way (index_builds.py)
        with op.get_context().autocommit_block():
            build_concurrently("ix_outbox_account_in_order", "outbox", ["account_sid", "id"])
            build_concurrently("ix_outbox_failed", "outbox", ["id"], postgresql_where=sa.text(GIVEN_UP))
            op.drop_index("ix_outbox_account_sid", "outbox", postgresql_concurrently=True, if_exists=True)
        return
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_account_in_order", ["account_sid", "id"], unique=False)
        batch_op.create_index("ix_outbox_failed", ["id"], unique=False, sqlite_where=sa.text(GIVEN_UP))
        batch_op.drop_index(batch_op.f("ix_outbox_account_sid"))


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_account_sid"), ["account_sid"], unique=False)
        batch_op.drop_index("ix_outbox_failed")
        batch_op.drop_index("ix_outbox_account_in_order")
