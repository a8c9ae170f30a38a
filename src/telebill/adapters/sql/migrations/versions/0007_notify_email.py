"""Prepaid settings: the address notifications go to by e-mail when the account has no webhook.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 12:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notify_email", sa.String(length=254), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.drop_column("notify_email")
