"""Prepaid settings count their changes (`revision`), and PostgreSQL gets `telebill_guard`:
what lets a charging step read the account without locking it and still commit only what a
locked step would have written (ADR 10, service/step_guard.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 15:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLSTATE TB001: raised by a statement whose guard is false, which aborts its transaction
GUARD = """
CREATE FUNCTION telebill_guard(ok boolean) RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF ok IS NOT TRUE THEN
    RAISE EXCEPTION 'telebill: the account changed since the step read it' USING ERRCODE = 'TB001';
  END IF;
  RETURN true;
END
$$
"""


def upgrade() -> None:
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.BigInteger(), server_default="0", nullable=False))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(GUARD)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION telebill_guard(boolean)")
    with op.batch_alter_table("billing_settings", schema=None) as batch_op:
        batch_op.drop_column("revision")
