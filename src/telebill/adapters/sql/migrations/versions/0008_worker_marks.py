"""How far the hold-expiry worker's passes are complete, kept across processes and restarts.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import telebill.adapters.sql.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "worker_marks",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("at", telebill.adapters.sql.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_marks")),
    )


def downgrade() -> None:
    op.drop_table("worker_marks")
